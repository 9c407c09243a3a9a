"""An airkube alert: its facts, its words (Slack text, Datadog event) and how it is sent.

Every alert (a task's final failure, an overrun, an escalation, a recovery) is an `Alert` built from the
facts its trigger knows, and goes out through `send`: Slack, then Datadog, each bounded by the alert
timeout and failing on its own, then a record for the platform page (airkube.records). The triggers only
decide *when*; the words are all here, so every channel and the page say the same thing.

`send` never raises: an alert must not fail or hold up what it reports on. A failure is logged by its
exception type only: HTTP errors can carry the webhook URL or API key, which are secrets.

The Slack SDK, the Datadog client and their provider hooks are imported by `send` only: building an
alert (in every task process, the scheduler, the triggerer) must not import them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from airkube import records
from airkube.alerts.settings import AlertSettings, alert_settings

# Where failures are reported when the caller has no logger of its own (the triggerer, the drainer).
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    """What an alert is about and the facts its words are made of; JSON-safe (`as_json`), so the
    scheduler can queue it in the outbox (airkube.alerts.outbox) and send it after its commit."""

    kind: str
    """One of airkube.records.ALERT_KINDS."""
    dag_id: str
    run_id: str | None = None
    task_id: str | None = None
    team: str | None = None
    slack_conn_id: str | None = None
    """The owners' Slack webhook connection; None: the platform's default channel."""
    facts: dict[str, Any] = field(default_factory=dict)
    """What the words need beyond the ids (try number, error, threshold, expected duration)."""

    @classmethod
    def task_failed(
        cls,
        *,
        dag_id: str,
        task_id: str,
        run_id: str,
        try_number: int,
        logical_date: str,
        error: str,
        log_url: str,
        team: str | None = None,
        slack_conn_id: str | None = None,
    ) -> Alert:
        facts = {"try_number": try_number, "logical_date": logical_date, "error": error, "log_url": log_url}
        return cls("task_failed", dag_id, run_id, task_id, team or None, slack_conn_id, facts)

    @classmethod
    def overrun(
        cls,
        *,
        dag_id: str,
        run_id: str,
        expected_seconds: float,
        factor: float,
        slack_conn_id: str | None = None,
    ) -> Alert:
        facts = {"expected_seconds": expected_seconds, "factor": factor}
        return cls("overrun", dag_id, run_id, slack_conn_id=slack_conn_id, facts=facts)

    @classmethod
    def streak(
        cls,
        kind: str,
        *,
        dag_id: str,
        run_id: str,
        failed_runs: int,
        slack_conn_id: str | None = None,
    ) -> Alert:
        """An `escalation` (N failed runs in a row) or a `recovery` (the success after them)."""
        if kind not in ("escalation", "recovery"):
            raise ValueError(f"a streak alert is an escalation or a recovery, not {kind!r}")
        return cls(kind, dag_id, run_id, slack_conn_id=slack_conn_id, facts={"failed_runs": failed_runs})

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        return cls(**data)

    @property
    def about(self) -> str:
        """How logs and Datadog's aggregation key name the alert's subject."""
        if self.kind == "task_failed":
            return f"{self.dag_id}.{self.task_id}"
        return f"{self.dag_id} overrun" if self.kind == "overrun" else f"{self.dag_id} runs"

    @property
    def alert_type(self) -> str:
        """Datadog's: a failed task and an overrun warn, an escalation is an error."""
        return {"escalation": "error", "recovery": "success"}.get(self.kind, "warning")

    @property
    def title(self) -> str:
        failed_runs = self.facts.get("failed_runs")
        return {
            "task_failed": f"{self.about} failed",
            "overrun": f"{self.dag_id} overrun",
            "escalation": f"{self.dag_id} failed {failed_runs} runs in a row",
            "recovery": f"{self.dag_id} recovered",
        }[self.kind]

    @property
    def text(self) -> str:
        """The Slack message, which is also the Datadog event's text."""
        f = self.facts
        if self.kind == "task_failed":
            return (
                f":red_circle: *{self.about}* failed after try {f['try_number']}\n"
                f"logical date: {f['logical_date']}\n"
                f"error: `{f['error']}`\n"
                f"log: {f['log_url']}"
            )
        if self.kind == "overrun":
            expected = timedelta(seconds=f["expected_seconds"])
            return (
                f":hourglass: *{self.dag_id}* run {self.run_id} is still running after "
                f"{f['factor']:g} x its expected {expected}"
            )
        if self.kind == "escalation":
            return (
                f":rotating_light: *{self.dag_id}* has failed {f['failed_runs']} runs in a row "
                f"(latest: {self.run_id})"
            )
        return (
            f":large_green_circle: *{self.dag_id}* succeeded again ({self.run_id}) after "
            f"{f['failed_runs']} or more failed runs"
        )

    def tags(self, environment: str) -> list[str]:
        tags = [f"dag_id:{self.dag_id}"]  # Airflow's own metrics' tag names
        if self.task_id:
            tags.append(f"task_id:{self.task_id}")
        if self.team:
            tags.append(f"team:{self.team}")
        return [*tags, f"env:{environment}"]

    def datadog_event(self, environment: str) -> dict[str, Any]:
        """The keyword arguments of DatadogHook.post_event."""
        return {
            "title": self.title,
            "text": self.text,
            "alert_type": self.alert_type,
            "aggregation_key": self.about,
            "tags": self.tags(environment),
        }


def _send_slack(alert: Alert, settings: AlertSettings, logger: logging.Logger) -> bool:
    try:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        hook = SlackWebhookHook(
            slack_webhook_conn_id=alert.slack_conn_id or settings.slack_conn_id,
            timeout=settings.timeout_seconds,
        )
        hook.send(text=alert.text)
    except Exception as err:  # alerting must never fail or hold up what it reports on
        logger.warning("Slack alert for %s not delivered: %s", alert.about, type(err).__name__)
        return False
    return True


def _send_datadog(alert: Alert, settings: AlertSettings, logger: logging.Logger) -> bool:
    try:
        import datadog
        from airflow.providers.datadog.hooks.datadog import DatadogHook

        hook = DatadogHook(datadog_conn_id=settings.datadog_conn_id)  # initializes the client's keys
        # The client's per-request timeout (60 s by default), through its public `initialize`, whose
        # keyword options configure its HTTP client; set before each send, as the hook sets the keys.
        datadog.initialize(timeout=settings.timeout_seconds)
        hook.post_event(**alert.datadog_event(settings.environment))
    except Exception as err:
        logger.warning("Datadog event for %s not delivered: %s", alert.about, type(err).__name__)
        return False
    return True


def send(
    alert: Alert, settings: AlertSettings | None = None, *, logger: logging.Logger = log
) -> dict[str, bool]:
    """Slack, then Datadog, then the record of what was sent; returns channel -> delivered.

    Never raises: each channel and the record fail on their own, logged."""
    try:
        settings = settings or alert_settings()
        delivered = {
            "slack": _send_slack(alert, settings, logger),
            "datadog": _send_datadog(alert, settings, logger),
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
    except Exception as err:  # an alert that cannot even be worded (bad facts) is logged, not raised
        logger.warning("alert %s for %s not sent: %s", alert.kind, alert.dag_id, type(err).__name__)
        return {"slack": False, "datadog": False}
    return delivered
