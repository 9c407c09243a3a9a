"""Repeated failures and recovery: one escalation when a DAG has failed N runs in a row, one
recovery message when it next succeeds.

An Airflow listener on DAG-run state changes, which Airflow calls where the run's state changes (the
scheduler). It reads the DAG's earlier runs from the metadata database and sends from a background
thread, so an alert never holds up a scheduling loop.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from airflow.listeners import hookimpl
from airflow.sdk import Param

from airkube.alerts.channels import Alert, send_alert
from airkube.alerts.settings import alert_settings

log = logging.getLogger(__name__)
ESCALATE_AFTER = "airkube_escalate_after"
SLACK_CONN_ID = "airkube_alert_slack_conn_id"


def alert_params(*, escalate_after: int | None = None, slack_conn_id: str | None = None) -> dict[str, Param]:
    """DAG params for the DAG-level alerts: `DAG(..., params=alert_params(escalate_after=5))`."""
    params: dict[str, Param] = {}
    if escalate_after is not None:
        params[ESCALATE_AFTER] = Param(
            escalate_after,
            type="integer",
            minimum=1,
            description="Escalate after this many failed runs in a row.",
        )
    if slack_conn_id is not None:
        params[SLACK_CONN_ID] = Param(
            slack_conn_id, type="string", description="Slack webhook connection of the owners."
        )
    return params


def _dag_param(dag: Any, name: str) -> Any:
    params = getattr(dag, "params", None)
    try:
        value = params[name] if params is not None else None
    except (KeyError, TypeError):
        return None
    return getattr(value, "value", value)


def escalate_after_for(dag: Any) -> int:
    """How many failed runs in a row escalate: the DAG's param, else AIRKUBE_ALERT_ESCALATE_AFTER (3).
    Takes the DAG (the scheduler's or the api-server's serialized one), so the platform page shows the
    threshold this listener uses."""
    return int(_dag_param(dag, ESCALATE_AFTER) or os.environ.get("AIRKUBE_ALERT_ESCALATE_AFTER", "3"))


def escalate_after(dag_run: Any) -> int:
    return escalate_after_for(getattr(dag_run, "dag", None))


def failure_streak(states_newest_first: Iterable[str]) -> int:
    """How many of the newest finished runs failed in a row (states `success`/`failed`, newest first)."""
    streak = 0
    for state in states_newest_first:
        if state != "failed":
            break
        streak += 1
    return streak


def previous_states(dag_run: Any, limit: int) -> list[str]:
    """States of the DAG's finished runs before this one, newest first.

    Read in the session the scheduler is changing this run in, and never committed here: the
    scheduler commits its own transaction (a commit from a listener would cut it in two).
    """
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is None:
        return []
    rows = session.scalars(
        select(DagRun.state)
        .where(DagRun.dag_id == dag_run.dag_id, DagRun.run_id != dag_run.run_id)
        .where(DagRun.state.in_(("success", "failed")))
        .where(DagRun.run_after <= dag_run.run_after)
        .order_by(DagRun.run_after.desc())
        .limit(limit)
    ).all()
    return [str(getattr(state, "value", state)) for state in rows]


def _send_in_background(dag_run: Any, kind: str, title: str, text: str, alert_type: str) -> None:
    settings = alert_settings()
    conn_id = _dag_param(getattr(dag_run, "dag", None), SLACK_CONN_ID) or settings.slack_conn_id
    alert = Alert(
        kind=kind,
        about=f"{dag_run.dag_id} runs",
        title=title,
        text=text,
        alert_type=alert_type,
        dag_id=dag_run.dag_id,
        tags=(f"dag:{dag_run.dag_id}",),
        run_id=dag_run.run_id,
    )
    threading.Thread(
        target=send_alert,
        args=(alert, conn_id, settings),
        name=f"airkube-alert-{dag_run.dag_id}",
        daemon=True,
    ).start()


def _never_raise(listener):
    """A listener error must not reach the scheduler's loop: log it and carry on."""

    @functools.wraps(listener)
    def guarded(dag_run: Any, msg: str) -> None:
        try:
            listener(dag_run, msg)
        except Exception:
            log.exception("airkube alert listener %s failed for %s", listener.__name__, dag_run.dag_id)

    return guarded


@hookimpl
@_never_raise
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    threshold = escalate_after(dag_run)
    streak = 1 + failure_streak(previous_states(dag_run, threshold))
    if streak == threshold:  # exactly once per streak: not again at N+1, N+2, ...
        _send_in_background(
            dag_run,
            "escalation",
            f"{dag_run.dag_id} failed {threshold} runs in a row",
            f":rotating_light: *{dag_run.dag_id}* has failed {threshold} runs in a row "
            f"(latest: {dag_run.run_id})",
            alert_type="error",
        )


@hookimpl
@_never_raise
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    threshold = escalate_after(dag_run)
    earlier = previous_states(dag_run, threshold)
    if len(earlier) == threshold and all(state == "failed" for state in earlier):
        _send_in_background(
            dag_run,
            "recovery",
            f"{dag_run.dag_id} recovered",
            f":large_green_circle: *{dag_run.dag_id}* succeeded again ({dag_run.run_id}) after "
            f"{threshold} or more failed runs",
            alert_type="success",
        )
