"""What a task's final failure tells its owners: one Slack message and one Datadog event.

A notifier (Airflow's extension point for callbacks), attached as on_failure_callback, which Airflow
calls only after the last try: a failure that will be retried sends nothing. It gathers the facts from
the task's context; airkube.alerts.alert words and sends them (and records the alert for the platform
page), and none of it can change the task's state.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

from airkube.alerts.alert import Alert, send


def failure_alert(context: Any, slack_conn_id: str | None = None) -> Alert:
    """The alert of the failed try in `context` (a task's callback context)."""
    ti = context["ti"]
    exception = context.get("exception")
    first_line = (str(exception).strip().splitlines() or [type(exception).__name__])[0] if exception else "?"
    logical_date = context.get("logical_date")
    return Alert.task_failed(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        try_number=ti.try_number,
        logical_date=logical_date.isoformat() if logical_date else "none",
        error=first_line[:300],
        log_url=getattr(ti, "log_url", "") or "",
        team=getattr(context.get("task"), "team", "") or None,
        slack_conn_id=slack_conn_id,
    )


class TaskFailureNotifier(BaseNotifier):
    """Slack message plus Datadog event for a task that failed for good."""

    template_fields = ("slack_conn_id",)

    def __init__(self, slack_conn_id: str | None = None) -> None:
        super().__init__()
        self.slack_conn_id = slack_conn_id

    def notify(self, context: Any) -> None:
        send(failure_alert(context, self.slack_conn_id), logger=self.log)
