"""Kubernetes mode (the default) driven through Airflow's real task runner (`dag.test()`)."""

from __future__ import annotations

import os
from pathlib import Path

import kubernetes_validate
import pytest

from dag_runs import run_dag_source

MAPPED_DAG = """
    from datetime import timedelta

    import pendulum
    from airflow.sdk import DAG
    from airkube import TaskFamily

    tpl = TaskFamily(
        image="pipeline",
        command=["airkube-pipeline"],
        expected_duration=timedelta(minutes=10),  # a partial kwarg: each instance is unmapped with it
        operator_kwargs={"owner": "data-eng"},
    )
    with DAG("k8s_mapped", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
        sources = [["extract", "--source", s] for s in ("a", "b", "c")]
        mapped = tpl.map("extract", expand={"arguments": sources})
        tpl.task("summarize", arguments=["summarize"], inputs=[mapped])
"""


def test_each_mapped_instance_gets_its_own_valid_pod_and_partition(
    runner_mode, airflow_db: Path, pods_instead_of_cluster: list[dict]
):
    runner_mode("kubernetes")
    result = run_dag_source(airflow_db / "dags", MAPPED_DAG)
    assert result.state == "success"
    assert set(result.task_states.values()) == {"success"}
    assert len(pods_instead_of_cluster) == 4
    outputs, arguments, map_lengths = set(), [], {}
    for manifest in pods_instead_of_cluster:
        kubernetes_validate.validate(manifest, "1.33", strict=True)
        (container,) = manifest["spec"]["containers"]
        env = {item["name"]: item["value"] for item in container["env"]}
        outputs.add(env["AIRKUBE_OUTPUT_URL"])
        arguments.append(container["args"])
        map_lengths[env["AIRKUBE_OUTPUT_URL"]] = env.get("AIRKUBE_MAP_LENGTH")
    base = f"{os.environ['AIRKUBE_DATA_URL']}/k8s_mapped/extract/20261122T000000"
    assert {f"{base}/map_index={i}" for i in range(3)} <= outputs
    # Each instance learns how many instances its run has, so a shrunk rerun replaces the partition.
    assert map_lengths == {
        **{f"{base}/map_index={i}": "3" for i in range(3)},
        f"{os.environ['AIRKUBE_DATA_URL']}/k8s_mapped/summarize/20261122T000000": None,
    }
    assert ["extract", "--source", "b"] in arguments
    mapped_labels = {m["metadata"]["labels"].get("map_index") for m in pods_instead_of_cluster}
    assert mapped_labels == {"0", "1", "2", None}


NO_INTERVAL_DAG = """
    import pendulum
    from airflow.sdk import DAG
    from airkube import AirkubePodOperator

    with DAG("no_interval", schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
        AirkubePodOperator(task_id="step", image="pipeline", command=["airkube-pipeline"])
"""


def test_a_run_without_data_interval_fails_before_any_pod_exists(
    runner_mode,
    airflow_db: Path,
    pods_instead_of_cluster: list[dict],
    capfd: pytest.CaptureFixture[str],
):
    """The same DAG through the real task runner: with an interval its task makes a pod (so the
    recorder can see one), without one the task fails naming the DAG and task, and makes none."""
    runner_mode("kubernetes")
    with_interval = run_dag_source(airflow_db / "dags", NO_INTERVAL_DAG)
    assert with_interval.task_states == {"step": "success"}
    assert len(pods_instead_of_cluster) == 1

    capfd.readouterr()
    without_interval = run_dag_source(airflow_db / "dags", NO_INTERVAL_DAG, logical_date=None)
    assert without_interval.data_interval_start is None
    assert len(pods_instead_of_cluster) == 1, "a pod was made for a run without an interval"
    assert without_interval.task_states == {"step": "failed"}
    assert without_interval.tries == {"step": 1}, "a run with no interval cannot succeed on a retry"
    assert "DAG 'no_interval', task 'step': this run has no data interval" in capfd.readouterr().out
