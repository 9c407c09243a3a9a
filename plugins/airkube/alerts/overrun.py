"""Overruns: an alert while a DAG run is still running, once it has taken `factor` x its expected time.

Built on Airflow 3's Deadline Alerts: the scheduler records the need-by time when the run is queued,
and the triggerer calls `overrun_alert` if the run has not finished by then.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

from airkube.alerts.channels import Alert, send_alert
from airkube.alerts.settings import alert_settings

DEFAULT_FACTOR = 1.5


def overrun_deadline(
    expected: timedelta, *, factor: float = DEFAULT_FACTOR, slack_conn_id: str | None = None
) -> DeadlineAlert:
    """`DAG(deadline=overrun_deadline(timedelta(minutes=40)))`: alert at 1.5 x 40 min after queueing."""
    if expected <= timedelta(0) or factor < 1:
        raise ValueError(f"expected must be positive and factor >= 1 (got {expected}, {factor})")
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=expected * factor,
        callback=AsyncCallback(
            overrun_alert,
            kwargs={
                "expected_seconds": expected.total_seconds(),
                "factor": factor,
                "slack_conn_id": slack_conn_id,
            },
        ),
    )


async def overrun_alert(
    expected_seconds: float, factor: float, slack_conn_id: str | None = None, context: Any = None
) -> None:
    """Runs in the triggerer: Slack and a Datadog warning, sent (and recorded) off the event loop."""
    run = (context or {}).get("dag_run", {}) if isinstance(context, dict) else {}
    dag_id, run_id = run.get("dag_id", "?"), run.get("dag_run_id") or run.get("run_id", "?")
    settings = alert_settings()
    text = (
        f":hourglass: *{dag_id}* run {run_id} is still running after {factor:g} x its expected "
        f"{timedelta(seconds=expected_seconds)}"
    )
    alert = Alert(
        kind="overrun",
        about=f"{dag_id} overrun",
        title=f"{dag_id} overrun",
        text=text,
        alert_type="warning",
        dag_id=dag_id,
        tags=(f"dag:{dag_id}",),
        run_id=run_id,
    )
    await asyncio.to_thread(send_alert, alert, slack_conn_id or settings.slack_conn_id, settings)
