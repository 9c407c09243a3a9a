"""A DAG as the planner sees it: each task's dependencies, pod requests, pool and deferral, read from the
operators Airflow parsed from the DAG file (not from the file's text)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from airkube_plan.quantities import Resources
from airkube_plan.schedulers import DEFAULT_SCHEDULER

DOWNSTREAM, UPSTREAM, ABSOLUTE = "downstream", "upstream", "absolute"


class WorkloadError(ValueError):
    """A DAG file that does not parse, or a DAG id it does not define."""


@dataclass(frozen=True)
class TaskSpec:
    """One task of the DAG, as far as its capacity goes."""

    task_id: str
    upstream: tuple[str, ...] = ()
    pod: Resources | None = Resources(250, 512)
    """The task pod's requests; None when the task runs inside its worker pod (no pod of its own)."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    pool: str = "default_pool"
    pool_slots: int = 1
    deferrable: bool = False
    priority_weight: int = 1
    expected_duration: float | None = None
    """Seconds, from the operator's `expected_duration` when it declares one."""
    schedule_timeout_seconds: float = 900.0
    """How long the task pod may stay Pending before the operator fails the try."""
    mapped: bool = False
    instances: int = 1
    """A mapped task's instance count when its expansion is a literal list; 1 when only the run knows."""
    scheduler_name: str = "default-scheduler"
    priority_class_name: str | None = None
    """The task pod's PriorityClass (the operator's `priority_class_name`), None for none."""
    """The Kubernetes scheduler that places the task pod (the operator's `schedulername`)."""


@dataclass(frozen=True)
class Workload:
    """A DAG's tasks, keyed by task id, and its own cap on running tasks."""

    dag_id: str
    tasks: Mapping[str, TaskSpec]
    max_active_tasks: int
    max_active_tasks_is_dags_own: bool = False

    def __post_init__(self) -> None:
        for task in self.tasks.values():
            missing = [up for up in task.upstream if up not in self.tasks]
            if missing:
                raise WorkloadError(f"DAG {self.dag_id!r}, task {task.task_id!r}: unknown upstream {missing}")


def with_priority_weights(
    tasks: Mapping[str, TaskSpec], rules: Mapping[str, tuple[int, str]]
) -> dict[str, TaskSpec]:
    """Airflow's priority_weight_total: own weight plus that of every task downstream (the default rule)
    or upstream; `absolute` keeps its own. The scheduler queues heavier tasks first."""
    downstream: dict[str, set[str]] = {task_id: set() for task_id in tasks}
    for task in tasks.values():
        for up in task.upstream:
            downstream[up].add(task.task_id)

    def closure(start: str, edges: Mapping[str, set[str]]) -> set[str]:
        seen: set[str] = set()
        stack = list(edges[start])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(edges[node])
        return seen

    upstream = {task_id: set(task.upstream) for task_id, task in tasks.items()}
    weighted = {}
    for task_id, task in tasks.items():
        own, rule = rules.get(task_id, (1, DOWNSTREAM))
        if rule == ABSOLUTE:
            total = own
        else:
            related = closure(task_id, downstream if rule == DOWNSTREAM else upstream)
            total = own + sum(rules.get(other, (1, DOWNSTREAM))[0] for other in related)
        weighted[task_id] = replace(task, priority_weight=total)
    return weighted


@contextmanager
def _environment(env: Mapping[str, str]):
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _requests(operator: Any) -> Resources | None:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    if not isinstance(operator, KubernetesPodOperator):
        return None
    resources = getattr(operator, "container_resources", None)
    return Resources.from_requests(getattr(resources, "requests", None) if resources is not None else None)


def _seconds(value: timedelta | float | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _literal_map_length(operator: Any) -> int:
    """How many instances `expand(x=[...])` over literal lists makes (their product, as Airflow crosses
    them); 1 for an expansion over a task's output, which only the run knows (issue: runtime mapping)."""
    value = getattr(getattr(operator, "expand_input", None), "value", None)
    if not isinstance(value, Mapping):
        return 1
    length = 1
    for item in value.values():
        if not isinstance(item, list | tuple | dict):
            return 1
        length *= len(item)
    return max(length, 1)


def expand_instances(workload: Workload, seconds: Mapping[str, float]) -> tuple[Workload, dict[str, float]]:
    """One task per mapped instance (`extract[0]`, `extract[1]`, ...), each with its task's duration; a
    task downstream of a mapped one waits for every instance, as in Airflow."""
    ids = {
        task_id: [f"{task_id}[{i}]" for i in range(task.instances)] if task.instances > 1 else [task_id]
        for task_id, task in workload.tasks.items()
    }
    tasks: dict[str, TaskSpec] = {}
    durations: dict[str, float] = {}
    for task_id, task in workload.tasks.items():
        upstream = tuple(instance for up in task.upstream for instance in ids[up])
        for instance in ids[task_id]:
            tasks[instance] = replace(task, task_id=instance, upstream=upstream, instances=1)
            durations[instance] = seconds[task_id]
    return replace(workload, tasks=tasks), durations


def _unmapped(operator: Any) -> Any:
    """A mapped task's operator as one instance would be built (its partial arguments; the expanded
    values are only known at run time): what its pod requests, where it runs."""
    try:
        return operator.unmap({})
    except Exception as err:  # an expansion whose values only exist at run time
        raise WorkloadError(
            f"DAG {operator.dag_id!r}, task {operator.task_id!r}: cannot build one instance of this mapped "
            f"task to read its pod ({err})"
        ) from err


def load_workload(dag_file: Path, dag_id: str, parse_env: Mapping[str, str]) -> Workload:
    """Parse `dag_file` as the DAG processor would, with `parse_env` (the chart's Airflow settings and the
    library's AIRKUBE_* settings) in the environment, so a DAG without its own max_active_tasks gets the
    rendered chart's value exactly as in production."""
    from airflow.dag_processing.dagbag import DagBag

    with _environment(parse_env):
        from airkube.settings import platform_settings

        platform_settings.cache_clear()
        bag = DagBag(dag_folder=str(dag_file), safe_mode=False, load_op_links=False)
        platform_settings.cache_clear()
    if bag.import_errors:
        errors = "\n".join(f"{path}: {error}" for path, error in bag.import_errors.items())
        raise WorkloadError(f"{dag_file} does not parse:\n{errors}")
    if dag_id not in bag.dags:
        raise WorkloadError(f"{dag_file} defines no DAG {dag_id!r} (it defines {sorted(bag.dags)})")
    dag = bag.dags[dag_id]
    tasks: dict[str, TaskSpec] = {}
    rules: dict[str, tuple[int, str]] = {}
    for operator in dag.tasks:
        mapped = type(operator).__name__ == "MappedOperator"
        source = _unmapped(operator) if mapped else operator
        rules[operator.task_id] = (int(operator.priority_weight), str(operator.weight_rule))
        tasks[operator.task_id] = TaskSpec(
            task_id=operator.task_id,
            upstream=tuple(sorted(operator.upstream_task_ids)),
            pod=_requests(source),
            node_selector=dict(getattr(source, "node_selector", None) or {}),
            pool=operator.pool,
            pool_slots=int(operator.pool_slots),
            deferrable=bool(getattr(source, "deferrable", False)),
            expected_duration=_seconds(getattr(source, "expected_duration", None)),
            schedule_timeout_seconds=float(getattr(source, "schedule_timeout_seconds", None) or 900),
            mapped=mapped,
            instances=_literal_map_length(operator) if mapped else 1,
            scheduler_name=getattr(source, "schedulername", None) or DEFAULT_SCHEDULER,
            priority_class_name=getattr(source, "priority_class_name", None),
        )
    configured = int(parse_env.get("AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG", dag.max_active_tasks))
    return Workload(
        dag_id=dag_id,
        tasks=with_priority_weights(tasks, rules),
        max_active_tasks=int(dag.max_active_tasks),
        max_active_tasks_is_dags_own=int(dag.max_active_tasks) != configured,
    )
