"""Sending one alert to Slack and to Datadog: each independent, bounded by a timeout, never raising.

`send_alert` is the one send point of every airkube alert (a task's final failure, an overrun, an
escalation, a recovery): it sends to both channels, then leaves a record for the platform page
(airkube.records), which a storage problem cannot turn into a failed alert.

A failure is logged by its exception type only: HTTP errors can carry the webhook URL or API key,
which are secrets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import datadog.api
from airflow.providers.datadog.hooks.datadog import DatadogHook
from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

from airkube import records
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


@dataclass(frozen=True)
class Alert:
    """One alert: its words for people (Slack text, Datadog title and text), its Datadog type and tags,
    and what it is about, which the record keeps for the platform page."""

    kind: str
    """One of airkube.records.ALERT_KINDS."""
    about: str
    """How logs name the alert's subject (`dag.task`, `dag overrun`, `dag runs`)."""
    title: str
    text: str
    alert_type: str
    """Datadog's: error, warning or success."""
    dag_id: str
    tags: tuple[str, ...] = ()
    task_id: str | None = None
    run_id: str | None = None
    team: str | None = None


def send_alert(
    alert: Alert, slack_conn_id: str, settings: AlertSettings, *, logger: logging.Logger = log
) -> dict[str, bool]:
    """Slack, then Datadog, then the record of what was sent; returns channel -> delivered.

    Never raises: each channel and the record fail on their own, logged."""
    delivered = {
        "slack": send_slack(slack_conn_id, alert.text, settings, about=alert.about, logger=logger),
        "datadog": send_datadog_event(
            alert.title,
            alert.text,
            alert_type=alert.alert_type,
            tags=list(alert.tags),
            settings=settings,
            about=alert.about,
            logger=logger,
        ),
    }
    records.record_alert(
        records.AlertRecord(
            kind=alert.kind,
            dag_id=alert.dag_id,
            title=alert.title,
            text=alert.text,
            delivered=delivered,
            task_id=alert.task_id,
            run_id=alert.run_id,
            team=alert.team,
            environment=settings.environment,
        ),
        logger=logger,
    )
    return delivered
