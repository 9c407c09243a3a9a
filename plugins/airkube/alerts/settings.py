"""Alert settings: Airflow connections for where to send, environment variables for the rest."""

from __future__ import annotations

import os
from dataclasses import dataclass

from airkube.settings import platform_settings


@dataclass(frozen=True)
class AlertSettings:
    slack_conn_id: str
    """Slack incoming-webhook connection of the platform's default channel."""
    datadog_conn_id: str
    """Datadog connection (extras: api_key, app_key, api_host) for events."""
    timeout_seconds: int
    """The longest an alert may hold up a task: Slack or Datadog down must not slow it more."""
    statsd_host: str | None
    """The DogStatsD agent; None (no DD_AGENT_HOST, as on the local platform) sends no metrics."""
    statsd_port: int
    environment: str


def alert_settings() -> AlertSettings:
    return AlertSettings(
        slack_conn_id=os.environ.get("AIRKUBE_ALERT_SLACK_CONN_ID", "slack_alerts"),
        datadog_conn_id=os.environ.get("AIRKUBE_ALERT_DATADOG_CONN_ID", "datadog_default"),
        timeout_seconds=int(os.environ.get("AIRKUBE_ALERT_TIMEOUT_SECONDS", "5")),
        # The node-local Datadog agent (the Helm values set DD_AGENT_HOST to the node's IP). Unset, there
        # is no agent to send to: 127.0.0.1:8125 would be a guess, and on the local platform a refusal.
        statsd_host=os.environ.get("DD_AGENT_HOST") or None,
        statsd_port=int(os.environ.get("DD_DOGSTATSD_PORT", "8125")),
        environment=platform_settings().environment,  # AIRKUBE_ENV, read in one place
    )
