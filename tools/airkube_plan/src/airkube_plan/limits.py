"""Airflow's concurrency limits and the worker pod, as the rendered chart sets them for an environment.

Read from the chart's own rendering (airkube_dev.chart), not from helm/values.yaml: a key the values do not
set keeps Airflow's default, which is exactly what production runs and what the planner must see.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airkube_plan.quantities import Resources

# (section, key) of each limit the plan uses.
PARALLELISM = ("core", "parallelism")
MAX_ACTIVE_TASKS_PER_DAG = ("core", "max_active_tasks_per_dag")
DEFAULT_POOL_SLOTS = ("core", "default_pool_task_slot_count")
CREATION_BATCH = ("kubernetes_executor", "worker_pods_creation_batch_size")
MAX_TIS_PER_QUERY = ("scheduler", "max_tis_per_query")
QUEUED_TIMEOUT = ("scheduler", "task_queued_timeout")
LIMIT_KEYS = (
    PARALLELISM,
    MAX_ACTIVE_TASKS_PER_DAG,
    DEFAULT_POOL_SLOTS,
    CREATION_BATCH,
    MAX_TIS_PER_QUERY,
    QUEUED_TIMEOUT,
)


@dataclass(frozen=True)
class AirflowLimits:
    """What bounds how many of a DAG's tasks run at once, and what each running task's worker pod asks."""

    schedulers: int
    parallelism: int
    """[core] parallelism: per scheduler (each runs its own executor)."""
    max_active_tasks_per_dag: int
    creation_batch_size: int
    """[kubernetes_executor] worker_pods_creation_batch_size: worker pods each scheduler creates per loop."""
    max_tis_per_query: int
    task_queued_timeout: float = 600.0
    """[scheduler]: a task queued longer (its worker pod Pending) is requeued, twice, then failed."""
    pools: Mapping[str, int] = field(default_factory=lambda: {"default_pool": 128})
    """Pool name -> slots (default_pool's from [core] default_pool_task_slot_count)."""
    pools_count_deferred: frozenset[str] = frozenset()
    """Pools created with include_deferred: their deferred tasks keep their slot."""
    worker_pod: Resources = Resources()
    """The worker pod's effective request: max(its largest init container, the sum of its containers)."""
    worker_node_selector: Mapping[str, str] = field(default_factory=dict)
    worker_scheduler_name: str = "default-scheduler"
    worker_priority_class_name: str | None = None
    system_components: Resources = Resources()
    """The requests of Airflow's long-running pods (scheduler, api-server, PgBouncer, ...), all replicas."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """Where each limit came from (`airflow.cfg [core] parallelism = 64`, `Airflow default`)."""
    library_env: Mapping[str, str] = field(default_factory=dict)
    """The AIRKUBE_* settings the chart gives the scheduler, so the DAG parses as it does there."""

    @property
    def total_parallelism(self) -> int:
        return self.parallelism * self.schedulers


def pod_requests(spec: Mapping[str, Any]) -> Resources:
    """A pod's effective request as the kube-scheduler computes it: the larger of any init container's
    and the sum of the app containers' (restartable init containers, i.e. sidecars, count in the sum)."""
    app = Resources()
    for container in spec.get("containers", []):
        app = app + Resources.from_requests((container.get("resources") or {}).get("requests"))
    largest_init = Resources()
    for container in spec.get("initContainers", []) or []:
        requests = Resources.from_requests((container.get("resources") or {}).get("requests"))
        if container.get("restartPolicy") == "Always":
            app = app + requests
        else:
            largest_init = Resources(
                max(largest_init.cpu_m, requests.cpu_m), max(largest_init.memory_mib, requests.memory_mib)
            )
    return Resources(max(app.cpu_m, largest_init.cpu_m), max(app.memory_mib, largest_init.memory_mib))


def _airflow_default(section: str, key: str) -> str:
    from airflow.configuration import conf

    value = conf.get_default_value(section, key)
    if value is None:
        raise KeyError(f"Airflow has no default for [{section}] {key}")
    return str(value)


def components_requests(manifests: Sequence[Mapping[str, Any]]) -> Resources:
    """What the long-running pods of rendered manifests request, every replica counted."""
    total = Resources()
    for manifest in manifests:
        if manifest.get("kind") not in ("Deployment", "StatefulSet"):
            continue
        replicas = int(manifest["spec"].get("replicas", 1))
        total = total + pod_requests(manifest["spec"]["template"]["spec"]).times(replicas)
    return total


def limits_from_chart(values_files: Sequence[Path]) -> AirflowLimits:
    """The limits of the chart rendered with these values files (helm -f order)."""
    from airkube_dev import chart

    manifests = chart.render(values_files)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(chart.airflow_cfg(manifests))
    values: dict[tuple[str, str], int] = {}
    sources: dict[str, str] = {}
    for section, key in LIMIT_KEYS:
        if parser.has_option(section, key):
            raw, source = parser.get(section, key), "the rendered airflow.cfg"
        else:
            raw, source = _airflow_default(section, key), "Airflow's default (the chart does not set it)"
        values[(section, key)] = int(float(raw))
        sources[f"[{section}] {key}"] = f"{raw}, {source}"
    schedulers = [
        m for m in manifests if m.get("kind") == "Deployment" and m["metadata"]["name"].endswith("-scheduler")
    ]
    if len(schedulers) != 1:
        raise ValueError(f"expected one scheduler Deployment in the rendered chart, found {len(schedulers)}")
    replicas = int(schedulers[0]["spec"].get("replicas", 1))
    sources["scheduler replicas"] = f"{replicas}, the rendered scheduler Deployment"
    container = next(
        c for c in schedulers[0]["spec"]["template"]["spec"]["containers"] if c["name"] == "scheduler"
    )
    library_env = {
        item["name"]: str(item["value"])
        for item in container.get("env", [])
        if item["name"].startswith("AIRKUBE_") and "value" in item
    }
    worker = chart.pod_template(manifests)
    worker_requests = pod_requests(worker["spec"])
    sources["worker pod requests"] = f"{worker_requests}, the rendered pod_template_file"
    return AirflowLimits(
        schedulers=replicas,
        parallelism=values[PARALLELISM],
        max_active_tasks_per_dag=values[MAX_ACTIVE_TASKS_PER_DAG],
        creation_batch_size=values[CREATION_BATCH],
        max_tis_per_query=values[MAX_TIS_PER_QUERY],
        task_queued_timeout=float(values[QUEUED_TIMEOUT]),
        pools={"default_pool": values[DEFAULT_POOL_SLOTS]},
        worker_pod=worker_requests,
        worker_node_selector=dict(worker["spec"].get("nodeSelector") or {}),
        worker_scheduler_name=worker["spec"].get("schedulerName") or "default-scheduler",
        worker_priority_class_name=worker["spec"].get("priorityClassName"),
        system_components=components_requests(manifests),
        sources=sources,
        library_env=library_env,
    )
