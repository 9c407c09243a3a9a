"""Run a DAG written by a test through Airflow's `dag.test()`, and read back what happened."""

from __future__ import annotations

import importlib.util
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pendulum

LOGICAL_DATE = pendulum.datetime(2026, 11, 22, tz="UTC")


@dataclass
class DagRunResult:
    state: str
    run_id: str
    data_interval_start: pendulum.DateTime
    task_states: dict[str, str]
    """task id (with `[map_index]` for mapped instances) -> final state"""
    tries: dict[str, int]
    """the same keys -> how many tries the task instance took"""
    results: dict[str, Any]
    """the same keys -> the task instance's XCom return_value, for those that pushed one"""


def run_dag_source(
    dags_folder: Path,
    source: str,
    dag_var: str = "dag",
    logical_date: pendulum.DateTime | None = LOGICAL_DATE,
) -> DagRunResult:
    """Write `source` as a DAG file into the dags folder `dag.test()` reads, run it, remove it.
    `logical_date=None` makes a run without a data interval, as an asset-triggered run is."""
    path = dags_folder / f"t_{uuid.uuid4().hex}.py"
    path.write_text(textwrap.dedent(source))
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag = getattr(module, dag_var)
        dag_run = dag.test(logical_date=logical_date)
        states, tries = {}, {}
        for ti in dag_run.get_task_instances():
            key = _key(ti.task_id, ti.map_index)
            states[key] = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
            tries[key] = ti.try_number
        return DagRunResult(
            state=str(dag_run.state),
            run_id=dag_run.run_id,
            data_interval_start=dag_run.data_interval_start,
            task_states=states,
            tries=tries,
            results=_results(dag_run.dag_id, dag_run.run_id),
        )
    finally:
        path.unlink()


def _key(task_id: str, map_index: int) -> str:
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def _results(dag_id: str, run_id: str) -> dict[str, Any]:
    """The run's XCom return values, read from the metadata database as the UI reads them."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key == "return_value"
            )
        ).all()
        return {_key(row.task_id, row.map_index): XComModel.deserialize_value(row) for row in rows}
