"""Run a DAG written by a test through Airflow's `dag.test()`, and read back what happened."""

from __future__ import annotations

import importlib.util
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import pendulum

LOGICAL_DATE = pendulum.datetime(2026, 11, 22, tz="UTC")


@dataclass
class DagRunResult:
    state: str
    data_interval_start: pendulum.DateTime
    task_states: dict[str, str]
    """task id (with `[map_index]` for mapped instances) -> final state"""


def run_dag_source(dags_folder: Path, source: str, dag_var: str = "dag") -> DagRunResult:
    """Write `source` as a DAG file into the dags folder `dag.test()` reads, run it, remove it."""
    path = dags_folder / f"t_{uuid.uuid4().hex}.py"
    path.write_text(textwrap.dedent(source))
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag = getattr(module, dag_var)
        dag_run = dag.test(logical_date=LOGICAL_DATE)
        states = {}
        for ti in dag_run.get_task_instances():
            key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
            states[key] = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
        return DagRunResult(
            state=str(dag_run.state), data_interval_start=dag_run.data_interval_start, task_states=states
        )
    finally:
        path.unlink()
