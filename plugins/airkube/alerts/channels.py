"""Sending one alert to Slack and to Datadog: each independent, bounded by a timeout, never raising.

A failure is logged by its exception type only: HTTP errors can carry the webhook URL or API key,
which are secrets.
"""

from __future__ import annotations

import logging

import datadog.api
from airflow.providers.datadog.hooks.datadog import DatadogHook
from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

from airkube.alerts.settings import AlertSettings

# Where failures are reported when the caller has no logger of its own (the triggerer).
log = logging.getLogger(__name__)


def send_slack(
    conn_id: str, text: str, settings: AlertSettings, *, about: str, logger: logging.Logger = log
) -> bool:
    try:
        SlackWebhookHook(slack_webhook_conn_id=conn_id, timeout=settings.timeout_seconds).send(text=text)
    except Exception as err:  # alerting must never fail or hold up what it reports on
        logger.warning("Slack alert for %s not delivered: %s", about, type(err).__name__)
        return False
    return True


def send_datadog_event(
    title: str,
    text: str,
    *,
    alert_type: str,
    tags: list[str],
    settings: AlertSettings,
    about: str,
    logger: logging.Logger = log,
) -> bool:
    try:
        hook = DatadogHook(datadog_conn_id=settings.datadog_conn_id)
        # The datadog client's own per-request timeout (a module setting, 60 s by default).
        datadog.api._timeout = settings.timeout_seconds
        hook.post_event(
            title=title,
            text=text,
            alert_type=alert_type,
            aggregation_key=about,
            tags=[*tags, f"env:{settings.environment}"],
        )
    except Exception as err:
        logger.warning("Datadog event for %s not delivered: %s", about, type(err).__name__)
        return False
    return True
