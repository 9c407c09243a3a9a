"""An asset-triggered run has no data interval in Airflow; airkube tasks render the one its events name.

Rendered as Airflow renders a task before running it: `render_template_fields` on the task, which for
a mapped task is MappedOperator's (it unmaps, then renders the unmapped operator). The context is a
plain dict holding what those templates read, as the task runner's context would.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pendulum
import pytest
from airflow.sdk import DAG

from airkube import TaskFamily
from airkube.errors import AirkubeDagError
from airkube.intervals import EXTRA_END, EXTRA_START

NIGHT = pendulum.datetime(2026, 11, 22, tz="UTC")


def _event(start: pendulum.DateTime) -> SimpleNamespace:
    return SimpleNamespace(extra={EXTRA_START: start.isoformat(), EXTRA_END: start.add(days=1).isoformat()})


def _asset_triggered_context(task: Any, map_index: int, *events: SimpleNamespace) -> dict[str, Any]:
    """What an asset-triggered run's context holds: no interval, the events that triggered it."""
    return {
        "dag": task.dag,
        "dag_run": SimpleNamespace(conf={}),
        "ti": SimpleNamespace(map_index=map_index, try_number=1),
        "run_id": "asset_triggered__2026-11-23T00:05:00+00:00_abc",
        "data_interval_start": None,
        "data_interval_end": None,
        "triggering_asset_events": {"asset": list(events)},
    }


def _tasks() -> tuple[Any, Any]:
    shell = TaskFamily(image="pipeline", command=["sh", "-c"])
    with DAG("on_publish", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
        single = shell.task("report", arguments=["echo $AIRKUBE_DATA_INTERVAL_START"])
        mapped = shell.map("per_region", expand={"arguments": [["echo eu"], ["echo us"]]})
    return single, mapped


def _rendered(task: Any, context: dict[str, Any]) -> dict[str, str]:
    task.render_template_fields(context)
    rendered = context.get("task", task)  # a mapped task renders the unmapped operator it puts here
    return {env.name: env.value for env in rendered.env_vars}


@pytest.mark.parametrize("kind", ["single", "mapped"])
def test_a_task_of_an_asset_triggered_run_renders_the_interval_its_events_name(kind: str) -> None:
    single, mapped = _tasks()
    task = single if kind == "single" else mapped
    env = _rendered(
        task, _asset_triggered_context(task, 1 if kind == "mapped" else -1, _event(NIGHT), _event(NIGHT))
    )
    assert env["AIRKUBE_DATA_INTERVAL_START"] == NIGHT.isoformat()
    assert env["AIRKUBE_DATA_INTERVAL_END"] == NIGHT.add(days=1).isoformat()
    partition = "20261122T000000" + ("/map_index=1" if kind == "mapped" else "")
    assert env["AIRKUBE_OUTPUT_URL"].endswith(f"/on_publish/{task.task_id}/{partition}")


@pytest.mark.parametrize("kind", ["single", "mapped"])
def test_events_of_two_intervals_fail_naming_the_dag_task_and_field(kind: str) -> None:
    single, mapped = _tasks()
    task = single if kind == "single" else mapped
    context = _asset_triggered_context(task, 0, _event(NIGHT), _event(NIGHT.add(days=1)))
    with pytest.raises(
        AirkubeDagError, match=f"DAG 'on_publish', task '{task.task_id}', field 'data_interval'"
    ):
        task.render_template_fields(context)


@pytest.mark.parametrize("kind", ["single", "mapped"])
def test_a_run_with_no_interval_and_no_event_fails_before_rendering(kind: str) -> None:
    single, mapped = _tasks()
    task = single if kind == "single" else mapped
    with pytest.raises(Exception, match="this run has no data interval"):
        task.render_template_fields(_asset_triggered_context(task, 0))
