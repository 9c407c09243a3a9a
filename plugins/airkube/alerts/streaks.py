"""Repeated failures and recovery: one escalation when a DAG has failed N runs in a row, one
recovery message when it next succeeds.

An Airflow listener on DAG-run state changes, which Airflow calls where the run's state changes (the
scheduler, or the api-server when a user sets a run's state). It reads the DAG's earlier runs and queues
the alert in the same transaction (airkube.alerts.outbox): the scheduler's drainer sends it once that
transaction has committed, so an alert neither holds up a scheduling loop nor reports a state that was
rolled back, and survives a scheduler that stops or is killed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from airflow.listeners import hookimpl
from airflow.sdk import Param

from airkube.alerts import outbox
from airkube.alerts.alert import Alert

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


def _streak_alert(kind: str, dag_run: Any, threshold: int) -> Alert:
    slack_conn_id = _dag_param(getattr(dag_run, "dag", None), SLACK_CONN_ID)
    return Alert.streak(
        kind, dag_id=dag_run.dag_id, run_id=dag_run.run_id, failed_runs=threshold, slack_conn_id=slack_conn_id
    )


def escalation_due(dag_run: Any) -> Alert | None:
    """The escalation, when this failed run makes exactly N failed runs in a row: not again at N+1."""
    threshold = escalate_after(dag_run)
    streak = 1 + failure_streak(previous_states(dag_run, threshold))
    if streak != threshold:
        return None
    return _streak_alert("escalation", dag_run, threshold)


def recovery_due(dag_run: Any) -> Alert | None:
    """The recovery, when this successful run follows N (or more) failed runs."""
    threshold = escalate_after(dag_run)
    earlier = previous_states(dag_run, threshold)
    if len(earlier) != threshold or any(state != "failed" for state in earlier):
        return None
    return _streak_alert("recovery", dag_run, threshold)


def _queue(dag_run: Any, decide: Callable[[Any], Alert | None]) -> None:
    """Decide and queue in the transaction changing the run's state (airkube.alerts.outbox): sent by
    the scheduler's drainer once that transaction commits, never if it rolls back. Never raises."""
    from sqlalchemy.orm import object_session

    try:
        session = object_session(dag_run)
        if session is None:
            log.warning(
                "run %s of %s has no session: its alert, if due, is not queued",
                dag_run.run_id,
                dag_run.dag_id,
            )
            return
        outbox.enqueue(session, lambda: decide(dag_run))
    except Exception:
        log.exception("airkube alert listener failed for %s", getattr(dag_run, "dag_id", "?"))


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _queue(dag_run, escalation_due)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _queue(dag_run, recovery_due)
