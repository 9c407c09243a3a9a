"""How long each task takes: measured history first, then what the DAG declares, then a durations file.

No task is planned with a made-up duration: one that none of the three sources covers is an error naming
the DAG and the task.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from airkube_plan.workload import Workload

HISTORY_TRIES = 7
"""The median of this many most recent successful tries: a week of nightly runs."""


class DurationsError(ValueError):
    """A task without a duration, or a durations file that is not task id -> positive seconds."""


@dataclass(frozen=True)
class Durations:
    """Seconds per task id, and where each figure came from."""

    seconds: Mapping[str, float]
    source: Mapping[str, str]

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for origin in self.source.values():
            counts[origin] += 1
        return dict(counts)


def read_durations_file(path: Path, dag_id: str) -> dict[str, float]:
    """`{"task_id": seconds, ...}`; every value a positive number."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DurationsError(f"DAG {dag_id!r}: cannot read durations file {path}: {err}") from err
    if not isinstance(data, dict):
        raise DurationsError(f"DAG {dag_id!r}: {path} must hold one object of task id -> seconds")
    for task_id, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise DurationsError(
                f"DAG {dag_id!r}, task {task_id!r}: duration {value!r} in {path} "
                "must be a positive number of seconds"
            )
    return {task_id: float(value) for task_id, value in data.items()}


def read_history(url: str, dag_id: str, tries: int = HISTORY_TRIES) -> dict[str, float]:
    """The median duration of each task's last `tries` successful tries in a metadata database
    (Airflow's task_instance table; mapped instances of a task pool together)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    query = text(
        "SELECT task_id, duration FROM task_instance "
        "WHERE dag_id = :dag_id AND state = 'success' AND duration IS NOT NULL "
        "ORDER BY end_date DESC"
    )
    recent: dict[str, list[float]] = defaultdict(list)
    try:
        with engine.connect() as connection:
            for task_id, duration in connection.execute(query, {"dag_id": dag_id}):
                if len(recent[task_id]) < tries:
                    recent[task_id].append(float(duration))
    finally:
        engine.dispose()
    return {task_id: statistics.median(values) for task_id, values in recent.items()}


def resolve(
    workload: Workload,
    *,
    history: Mapping[str, float] | None = None,
    declared_file: Mapping[str, float] | None = None,
) -> Durations:
    """Per task: the database's history, else the operator's expected_duration, else the file."""
    seconds: dict[str, float] = {}
    source: dict[str, str] = {}
    unknown = sorted(set(declared_file or {}) - set(workload.tasks))
    if unknown:
        raise DurationsError(
            f"DAG {workload.dag_id!r}: the durations file names tasks the DAG lacks: {unknown}"
        )
    for task_id, task in workload.tasks.items():
        if history and task_id in history:
            seconds[task_id], source[task_id] = history[task_id], "metadata database"
        elif task.expected_duration is not None:
            seconds[task_id], source[task_id] = task.expected_duration, "expected_duration"
        elif declared_file and task_id in declared_file:
            seconds[task_id], source[task_id] = declared_file[task_id], "durations file"
    missing = sorted(set(workload.tasks) - set(seconds))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DurationsError(
            f"DAG {workload.dag_id!r}: no duration for task(s) {shown}: give --from-db with a database that "
            "ran them, declare expected_duration on the task or its TaskFamily, or list them in --durations"
        )
    return Durations(seconds, source)
