"""Overruns: an alert while a DAG run is still running, once it has taken `factor` x its expected time.

Built on Airflow 3's Deadline Alerts: the scheduler records the need-by time when the run is queued,
and the triggerer calls `overrun_alert` if the run has not finished by then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

from airkube.alerts.alert import Alert, send

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
    expected_seconds: float,
    factor: float,
    slack_conn_id: str | None = None,
    *,
    context: Mapping[str, Any],
) -> None:
    """Runs in the triggerer: Slack and a Datadog warning, sent (and recorded) off the event loop.

    `context` is what Airflow 3.3's scheduler gives a missed deadline's callback
    (airflow.models.deadline.Deadline.handle_miss): `{"dag_run": <the run as the REST API's
    DAGRunResponse, as JSON>, "deadline": {...}}`; the triggerer passes it because this function takes
    a `context` argument."""
    run = context["dag_run"]
    alert = Alert.overrun(
        dag_id=run["dag_id"],
        run_id=run["dag_run_id"],
        expected_seconds=expected_seconds,
        factor=factor,
        slack_conn_id=slack_conn_id,
    )
    await asyncio.to_thread(send, alert)
