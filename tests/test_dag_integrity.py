"""Integrity of every DAG in dags/: imports cleanly (so is acyclic), is owned, tagged and retried."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from airflow.sdk import CronDataIntervalTimetable

from airkube.validation import MIN_RETRIES
from paths import REPO

DAG_FILES = sorted((REPO / "dags").glob("*.py"))


def test_dags_folder_has_dags(dagbag):
    assert DAG_FILES
    assert {"high_priorities", "sources_fanout"} <= set(dagbag.dag_ids)


def test_no_import_errors_and_no_warnings(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.captured_warnings == {}


CYCLIC_DAG = """
    import pendulum
    from airflow.sdk import DAG

    from airkube import TaskFamily

    pipeline = TaskFamily(image="pipeline", command=["airkube-pipeline"])
    with DAG("cyclic", schedule=None, start_date=pendulum.datetime(2026, 1, 1), tags=["t"]):
        extract = pipeline.task("extract", arguments=["extract"])
        publish = pipeline.task("publish", arguments=["publish"])
        extract >> publish >> extract
"""


def test_a_dag_with_a_cycle_is_an_import_error_naming_its_file(dagbag, tmp_path: Path):
    """Why the test above also proves dags/ is acyclic: a DagBag built as the `dagbag` fixture's is
    (its class and bundle), over a folder holding a cyclic DAG, reports it as that file's import error."""
    (tmp_path / "cyclic.py").write_text(textwrap.dedent(CYCLIC_DAG))
    bag = type(dagbag)(dag_folder=str(tmp_path), bundle_path=tmp_path, bundle_name=dagbag.bundle_name)
    assert bag.dag_ids == []
    assert list(bag.import_errors) == ["cyclic.py"]
    assert "Cycle detected in Dag: cyclic" in bag.import_errors["cyclic.py"]


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_importing_the_file_prints_nothing(path):
    """What an author sees with `python dags/x.py`: no warning of any kind (deprecations included)."""
    result = subprocess.run(
        [sys.executable, "-W", "always", str(path)], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""


def test_every_dag_is_owned_tagged_and_documented(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.description, f"{dag_id} has no description"
        assert dag.catchup is False, f"{dag_id}: catchup on would start a run per missed interval"
        for task in dag.tasks:
            assert task.owner not in ("", "airflow"), f"{dag_id}.{task.task_id} has no real owner"
            assert task.retries >= MIN_RETRIES, f"{dag_id}.{task.task_id} retries {task.retries}"


def test_nightly_pipeline_shape(dagbag):
    dag = dagbag.dags["high_priorities"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 0 * * *"
    assert 190 <= len(dag.tasks) <= 210
    summarize = dag.get_task("summarize")
    assert len(summarize.upstream_task_ids) == 40
    assert all(task_id.endswith(".publish") for task_id in summarize.upstream_task_ids)
    assert dag.get_task("orders.validate").upstream_task_ids == {"orders.extract"}
