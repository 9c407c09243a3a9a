"""The platform page's figures, read from the metadata database through Airflow's models, plus the
records of what Airflow does not store (airkube.records: alerts sent, plans made).

Every function takes the DAG ids the caller may read and returns plain JSON-ready dicts; nothing here
knows about HTTP or users (airkube.page.app does).
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from airflow.models.dag import DagModel
from airflow.models.dag_version import DagVersion
from airflow.models.dagrun import DagRun
from airflow.models.deadline_alert import DeadlineAlert
from airflow.models.serialized_dag import SerializedDagModel
from airflow.models.taskinstance import TaskInstance
from sqlalchemy import select
from sqlalchemy.orm import Session

from airkube.alerts.overrun import overrun_alert
from airkube.alerts.streaks import escalate_after_for, failure_streak
from airkube.pod_defaults import TEAM_LABEL

RATE_WINDOW = 30
"""Finished runs the success rate and the failure streak are read from."""
RUNS_SHOWN = 10
"""Latest runs shown with their durations."""
FAILING_STATES = ("failed", "up_for_retry")
FINISHED_STATES = ("success", "failed")
OVERRUN_CALLBACK = f"{overrun_alert.__module__}.{overrun_alert.__qualname__}"
"""The callback path airkube.overrun_deadline() registers: how an overrun deadline is recognised."""
UNKNOWN_TEAM = "unknown"


@dataclass(frozen=True)
class Expectation:
    """A DAG's declared run time, from its `overrun_deadline(expected, factor=...)`."""

    expected_seconds: float
    factor: float
    deadline_seconds: float
    """expected x factor after the run was queued: when the overrun alert fires."""


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _state(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def readable_dags(session: Session, readable: Collection[str]) -> list[DagModel]:
    """The DAGs the caller may read that the dag-processor still knows (not stale), by id."""
    if not readable:
        return []
    return list(
        session.scalars(
            select(DagModel)
            .where(DagModel.dag_id.in_(list(readable)), ~DagModel.is_stale)
            .order_by(DagModel.dag_id)
        )
    )


def expectation(session: Session, dag_id: str) -> Expectation | None:
    """The overrun deadline of the DAG's latest version, as Airflow stored it (deadline_alert rows)."""
    from airflow.serialization.decoders import decode_deadline_alert
    from airflow.serialization.definitions.deadline import DeadlineAlertFields
    from airflow.serialization.enums import DagAttributeTypes, Encoding

    latest = session.scalar(
        select(SerializedDagModel.id)
        .join(DagVersion, SerializedDagModel.dag_version_id == DagVersion.id)
        .where(SerializedDagModel.dag_id == dag_id)
        .order_by(DagVersion.version_number.desc())
        .limit(1)
    )
    if latest is None:
        return None
    for row in session.scalars(select(DeadlineAlert).where(DeadlineAlert.serialized_dag_id == latest)):
        alert = decode_deadline_alert(
            {
                Encoding.TYPE: DagAttributeTypes.DEADLINE_ALERT,
                Encoding.VAR: {
                    DeadlineAlertFields.REFERENCE: row.reference,
                    DeadlineAlertFields.INTERVAL: row.interval,
                    DeadlineAlertFields.CALLBACK: row.callback_def,
                },
            }
        )
        callback = alert.callback
        if getattr(callback, "path", None) == OVERRUN_CALLBACK:
            kwargs = callback.kwargs or {}
            return Expectation(
                expected_seconds=float(kwargs["expected_seconds"]),
                factor=float(kwargs["factor"]),
                deadline_seconds=alert.interval.total_seconds(),
            )
    return None


def task_teams(dag: Any) -> dict[str, str]:
    """task id -> team: the `airkube.io/team` pod label airkube sets (`team=`, else the owner), a mapped
    task's `team`/`owner` partial argument, else the task's owner."""
    teams = {}
    for task in getattr(dag, "tasks", []):
        labels = getattr(task, "labels", None) or {}
        partial = getattr(task, "partial_kwargs", None) or {}
        teams[task.task_id] = (
            labels.get(TEAM_LABEL)
            or partial.get("team")
            or partial.get("owner")
            or getattr(task, "owner", None)
            or UNKNOWN_TEAM
        )
    return teams


def _duration(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    if start is None:
        return None
    return round(((end or now) - start).total_seconds(), 1)


def _run(run: DagRun, expected: Expectation | None, now: datetime) -> dict[str, Any]:
    duration = _duration(run.start_date, run.end_date, now)
    since_queued = _duration(run.queued_at or run.start_date, run.end_date, now)
    return {
        "run_id": run.run_id,
        "state": _state(run.state),
        "run_after": _iso(run.run_after),
        "queued_at": _iso(run.queued_at),
        "start_date": _iso(run.start_date),
        "end_date": _iso(run.end_date),
        "duration_seconds": duration,
        "finished": run.end_date is not None,
        "vs_expected": (
            round(duration / expected.expected_seconds, 2) if expected and duration is not None else None
        ),
        # The deadline counts from queueing (DeadlineReference.DAGRUN_QUEUED_AT), as the alert does.
        "overran": (
            since_queued > expected.deadline_seconds if expected and since_queued is not None else None
        ),
    }


def dag_figures(
    session: Session,
    dag_model: DagModel,
    dag: Any,
    plans: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """One DAG's row of the page: success rate, latest runs against the expectation, streak, plans."""
    dag_id = dag_model.dag_id
    finished = session.execute(
        select(DagRun.state, DagRun.start_date, DagRun.end_date)
        .where(DagRun.dag_id == dag_id, DagRun.state.in_(FINISHED_STATES))
        .order_by(DagRun.run_after.desc())
        .limit(RATE_WINDOW)
    ).all()
    states = [_state(row.state) or "" for row in finished]
    succeeded = [row for row in finished if _state(row.state) == "success"]
    measured = [d for row in succeeded if (d := _duration(row.start_date, row.end_date, now)) is not None]
    latest = session.scalars(
        select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.run_after.desc()).limit(RUNS_SHOWN)
    ).all()
    expected = expectation(session, dag_id)
    streak = failure_streak(states)
    threshold = escalate_after_for(dag)
    teams = sorted(set(task_teams(dag).values())) if dag is not None else []
    return {
        "dag_id": dag_id,
        "teams": teams or [UNKNOWN_TEAM],
        "owners": dag_model.owners,
        "is_paused": bool(dag_model.is_paused),
        "success_rate": {
            "window": RATE_WINDOW,
            "finished_runs": len(states),
            "succeeded": len(succeeded),
            "rate": round(len(succeeded) / len(states), 4) if states else None,
        },
        "median_success_seconds": round(statistics.median(measured), 1) if measured else None,
        "expected": asdict(expected) if expected else None,
        "runs": [_run(run, expected, now) for run in latest],
        "streak": {
            "failures": streak,
            "escalate_after": threshold,
            "state": "ok" if streak == 0 else ("escalated" if streak >= threshold else "failing"),
        },
        "plans": sorted(
            (_plan(record) for record in plans.get(dag_id, {}).values()), key=lambda plan: plan["env"]
        ),
    }


def _plan(record: Mapping[str, Any]) -> dict[str, Any]:
    plan = record.get("plan") or {}
    return {
        "env": record.get("env"),
        "made_at": record.get("made_at"),
        "makespan_seconds": plan.get("makespan_seconds"),
        "critical_path_seconds": plan.get("critical_path_seconds"),
        "peak_nodes": plan.get("peak_nodes"),
        "cost_usd": plan.get("cost_usd"),
        "node_hours": plan.get("node_hours"),
        "failed_tasks": len(plan.get("failed_tasks") or {}),
    }


def failing_tasks(session: Session, dag_id: str, teams: Mapping[str, str]) -> list[dict[str, Any]]:
    """Tasks failed (or failed and waiting for a retry) in the DAG's latest run."""
    run_id = session.scalar(
        select(DagRun.run_id).where(DagRun.dag_id == dag_id).order_by(DagRun.run_after.desc()).limit(1)
    )
    if run_id is None:
        return []
    instances = session.scalars(
        select(TaskInstance)
        .where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.state.in_(FAILING_STATES),
        )
        .order_by(TaskInstance.task_id, TaskInstance.map_index)
    ).all()
    return [
        {
            "dag_id": dag_id,
            "run_id": run_id,
            "task_id": ti.task_id,
            "map_index": ti.map_index,
            "rendered_map_index": ti.rendered_map_index,
            "state": _state(ti.state),
            "try_number": ti.try_number,
            "end_date": _iso(ti.end_date),
            "team": teams.get(ti.task_id, UNKNOWN_TEAM),
        }
        for ti in instances
    ]


def team_figures(
    failing: Iterable[dict[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    dag_teams: Mapping[str, Collection[str]],
    *,
    alerts_per_team: int = 20,
) -> list[dict[str, Any]]:
    """Per team: its DAGs, its failing tasks and the alerts recently sent about them (newest first).

    A task-level alert belongs to the team it names; a DAG-level one (overrun, escalation, recovery) to
    every team with tasks in the DAG. Alerts about DAGs not in ``dag_teams`` (not readable) are dropped.
    """
    teams: dict[str, dict[str, Any]] = {}

    def team(name: str) -> dict[str, Any]:
        return teams.setdefault(name, {"team": name, "dags": [], "failing_tasks": [], "alerts": []})

    for dag_id, names in sorted(dag_teams.items()):
        for name in names:
            team(name)["dags"].append(dag_id)
    for ti in failing:
        team(ti["team"])["failing_tasks"].append(ti)
    for alert in alerts:
        dag_id = alert.get("dag_id")
        if dag_id not in dag_teams:
            continue
        for name in [alert["team"]] if alert.get("team") else dag_teams[dag_id]:
            bucket = team(name)["alerts"]
            if len(bucket) < alerts_per_team:
                bucket.append(dict(alert))
    return [teams[name] for name in sorted(teams)]
