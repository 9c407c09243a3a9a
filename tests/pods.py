"""Build the pod a task would start, as KubernetesPodOperator builds it, without a cluster.

The Kubernetes API cannot run here, so the task is rendered against a hand-built run context (the
fields Airflow's scheduler would supply) and `build_pod_request_obj(dry_run=True)` makes the pod.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pendulum
from airflow.sdk import XComArg
from airflow.sdk.definitions.mappedoperator import MappedOperator
from kubernetes.client import ApiClient

from airkube import AirkubePodOperator

INTERVAL_START = pendulum.datetime(2026, 11, 22, tz="UTC")
INTERVAL_END = pendulum.datetime(2026, 11, 23, tz="UTC")
RUN_ID = "scheduled__2026-11-22T00:00:00+00:00"


SAMPLE_RESULT = ("orders", "payments", "refunds")
"""What an upstream task's result holds when a task mapped over it is rendered without a run."""


def task_instances(task: AirkubePodOperator | MappedOperator) -> Iterator[tuple[int, AirkubePodOperator]]:
    """(map_index, operator) for a plain task (-1) or for every instance of a mapped task: over its
    literal list, or over SAMPLE_RESULT as the upstream result, through the task's own item function."""
    if not isinstance(task, MappedOperator):
        yield -1, task
        return
    expansion = task._get_specified_expand_input().value
    (key, values), *rest = expansion.items()
    assert not rest, "this helper expands one mapped argument only"
    if isinstance(values, XComArg):
        callables = getattr(values, "callables", ())
        values = [functools.reduce(lambda item, f: f(item), callables, item) for item in SAMPLE_RESULT]
    for index, value in enumerate(values):
        yield index, task.unmap({key: value})


def render_pod(task: AirkubePodOperator, map_index: int = -1) -> dict[str, Any]:
    """The pod manifest (a dict, as the API server would receive it) for one run of `task`."""
    ti = SimpleNamespace(dag_id=task.dag_id, task_id=task.task_id, map_index=map_index, try_number=1)
    context: dict[str, Any] = {
        "ti": ti,
        "task_instance": ti,
        "task": task,
        "dag": task.dag,
        "run_id": RUN_ID,
        "logical_date": INTERVAL_START,
        "data_interval_start": INTERVAL_START,
        "data_interval_end": INTERVAL_END,
        "ds": INTERVAL_START.to_date_string(),
    }
    task.render_template_fields(context)
    pod = task.build_pod_request_obj(context, dry_run=True)
    manifest = ApiClient().sanitize_for_serialization(pod)
    manifest.setdefault("apiVersion", "v1")
    manifest.setdefault("kind", "Pod")
    return manifest
