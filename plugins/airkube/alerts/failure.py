"""What a task's final failure tells its owners: one Slack message and one Datadog event.

A notifier (Airflow's extension point for callbacks), attached as on_failure_callback, which Airflow
calls only after the last try: a failure that will be retried sends nothing. Slack and Datadog are
sent independently (airkube.alerts.channels.send_alert, which also records the alert for the platform
page), and none of it can change the task's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

from airkube.alerts.channels import Alert, send_alert
from airkube.alerts.settings import alert_settings


@dataclass(frozen=True)
class FailureReport:
    dag_id: str
    task_id: str
    run_id: str
    logical_date: str
    try_number: int
    error: str
    log_url: str
    team: str

    @classmethod
    def from_context(cls, context: Any) -> FailureReport:
        ti = context["ti"]
        exception = context.get("exception")
        first_line = (
            (str(exception).strip().splitlines() or [type(exception).__name__])[0] if exception else "?"
        )
        logical_date = context.get("logical_date")
        return cls(
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            logical_date=logical_date.isoformat() if logical_date else "none",
            try_number=ti.try_number,
            error=first_line[:300],
            log_url=getattr(ti, "log_url", "") or "",
            team=getattr(context.get("task"), "team", "") or "",
        )

    def slack_text(self) -> str:
        return (
            f":red_circle: *{self.dag_id}.{self.task_id}* failed after try {self.try_number}\n"
            f"logical date: {self.logical_date}\n"
            f"error: `{self.error}`\n"
            f"log: {self.log_url}"
        )

    def tags(self) -> list[str]:
        return [f"dag:{self.dag_id}", f"task:{self.task_id}", f"team:{self.team}"]


class TaskFailureNotifier(BaseNotifier):
    """Slack message plus Datadog event for a task that failed for good."""

    template_fields = ("slack_conn_id",)

    def __init__(self, slack_conn_id: str | None = None) -> None:
        super().__init__()
        self.slack_conn_id = slack_conn_id

    def notify(self, context: Any) -> None:
        settings = alert_settings()
        report = FailureReport.from_context(context)
        about = f"{report.dag_id}.{report.task_id}"
        alert = Alert(
            kind="task_failed",
            about=about,
            title=f"{about} failed",
            text=report.slack_text(),
            alert_type="warning",
            dag_id=report.dag_id,
            tags=tuple(report.tags()),
            task_id=report.task_id,
            run_id=report.run_id,
            team=report.team or None,
        )
        send_alert(alert, self.slack_conn_id or settings.slack_conn_id, settings, logger=self.log)
