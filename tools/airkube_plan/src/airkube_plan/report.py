"""The plan: the figures a platform engineer decides on, from a simulated run."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from airkube_plan.assumptions import Assumptions
from airkube_plan.nodes import NodePool
from airkube_plan.simulation import Outcome, pod_resource_seconds
from airkube_plan.workload import TaskSpec, Workload


@dataclass(frozen=True)
class Plan:
    """One planned run. `as_json()` carries the keys the issue names, plus the detail behind them."""

    dag_id: str
    env: str
    makespan_seconds: float
    critical_path_seconds: float
    critical_path: list[str]
    peak_running_tasks: int
    peak_nodes: int
    node_hours: float
    node_hours_above_minimum: float
    node_hours_lower_bound: float
    lower_bound_by: str
    cost_usd: float
    limited_by: list[dict[str, Any]]
    failed: Mapping[str, str]
    worker_pool: NodePool
    node_hours_starting: float = 0.0
    """Of the node-hours above the minimum: nodes billed while starting."""
    node_hours_empty: float = 0.0
    """Of the node-hours above the minimum: Ready nodes holding none of our pods, awaiting scale-down."""
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def efficiency_ratio(self) -> float:
        """Node-hours above the always-on minimum over the lower bound (goal: at most 1.25)."""
        if self.node_hours_lower_bound <= 0:
            return 0.0 if self.node_hours_above_minimum == 0 else math.inf
        return self.node_hours_above_minimum / self.node_hours_lower_bound

    def as_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "env": self.env,
            "makespan_seconds": round(self.makespan_seconds, 1),
            "critical_path_seconds": round(self.critical_path_seconds, 1),
            "critical_path": self.critical_path,
            "peak_running_tasks": self.peak_running_tasks,
            "peak_nodes": self.peak_nodes,
            "node_hours": round(self.node_hours, 3),
            "node_hours_above_minimum": round(self.node_hours_above_minimum, 3),
            "node_hours_lower_bound": round(self.node_hours_lower_bound, 3),
            "lower_bound_by": self.lower_bound_by,
            "efficiency_ratio": round(self.efficiency_ratio, 3),
            "cost_usd": round(self.cost_usd, 2),
            "node_hours_starting": round(self.node_hours_starting, 3),
            "node_hours_empty": round(self.node_hours_empty, 3),
            "limited_by": self.limited_by,
            "failed_tasks": dict(self.failed),
            "worker_pool": {
                "instance_type": self.worker_pool.instance_type,
                "allocatable_cpu_m": round(self.worker_pool.allocatable.cpu_m),
                "allocatable_memory_mib": round(self.worker_pool.allocatable.memory_mib),
                "min_nodes": self.worker_pool.min_nodes,
                "max_nodes": self.worker_pool.max_nodes,
                "usd_per_hour": self.worker_pool.usd_per_hour,
            },
            **{key: value for key, value in self.details.items() if key != "durations"},
        }


def task_overhead(task: TaskSpec, a: Assumptions) -> float:
    """The modelled seconds a task adds to a path besides its own duration: queueing, pod start-ups."""
    if task.pod is None:
        return a.queue_latency_seconds + a.worker_start_seconds + a.worker_finish_seconds
    if task.deferrable:
        start = a.queue_latency_seconds + a.worker_start_seconds + a.task_pod_start_seconds
        resume = a.trigger_latency_seconds + a.queue_latency_seconds + a.worker_start_seconds
        return start + resume + a.worker_finish_seconds
    return (
        a.queue_latency_seconds + a.worker_start_seconds + a.task_pod_start_seconds + a.worker_finish_seconds
    )


def critical_path(
    workload: Workload, durations: Mapping[str, float], a: Assumptions
) -> tuple[float, list[str]]:
    """The longest chain of dependencies, each task counted with its modelled overhead: no amount of
    nodes or concurrency makes the run shorter than this."""
    order = TopologicalSorter({t: set(spec.upstream) for t, spec in workload.tasks.items()}).static_order()
    finish: dict[str, float] = {}
    previous: dict[str, str | None] = {}
    for task_id in order:
        task = workload.tasks[task_id]
        best = max(task.upstream, key=lambda up: finish[up], default=None)
        start = finish[best] if best else 0.0
        finish[task_id] = start + durations[task_id] + task_overhead(task, a)
        previous[task_id] = best
    if not finish:
        return 0.0, []
    end = max(finish, key=finish.__getitem__)
    path = [end]
    while previous[path[-1]]:
        path.append(previous[path[-1]])  # type: ignore[arg-type]
    return finish[end], path[::-1]


def make_plan(
    env: str,
    workload: Workload,
    durations: Mapping[str, float],
    outcome: Outcome,
    worker_pool: NodePool,
    assumptions: Assumptions,
    details: Mapping[str, Any] | None = None,
) -> Plan:
    """The plan from a simulated run: lower bound for CPU and memory separately, the larger kept."""
    length, path = critical_path(workload, durations, assumptions)
    used = pod_resource_seconds(outcome.pods)
    cpu_bound = used.cpu_m / worker_pool.allocatable.cpu_m / 3600
    memory_bound = used.memory_mib / worker_pool.allocatable.memory_mib / 3600
    limited = sorted(outcome.limited_by.items(), key=lambda item: -item[1])
    node_hours = outcome.node_seconds / 3600
    return Plan(
        dag_id=workload.dag_id,
        env=env,
        makespan_seconds=outcome.makespan_seconds,
        critical_path_seconds=length,
        critical_path=path,
        peak_running_tasks=outcome.peak_running_tasks,
        peak_nodes=outcome.peak_nodes,
        node_hours=node_hours,
        node_hours_above_minimum=outcome.node_seconds_above_minimum / 3600,
        node_hours_lower_bound=max(cpu_bound, memory_bound),
        lower_bound_by="cpu" if cpu_bound >= memory_bound else "memory",
        cost_usd=node_hours * worker_pool.usd_per_hour,
        limited_by=[{"factor": factor, "seconds": round(seconds)} for factor, seconds in limited],
        failed=dict(outcome.failed),
        worker_pool=worker_pool,
        node_hours_starting=outcome.starting_node_seconds / 3600,
        node_hours_empty=outcome.empty_node_seconds / 3600,
        details=dict(details or {}),
    )
