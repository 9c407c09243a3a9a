"""``@airkube.task``: the same pods, checks and results as a task family, in TaskFlow's style."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest
from airflow.sdk import DAG

import airkube
from airkube import AirkubeDagError, TaskFamily
from dag_runs import run_dag_source

TEMPLATE_DAG = """
    import pendulum
    from airflow.sdk import DAG
    from airkube import TaskFamily

    pipeline = TaskFamily(image="pipeline", command=["airkube-pipeline"], size="medium", team="payments")
    with DAG("same_pod", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
        pipeline.task("extract", arguments=["extract", "--source", "orders"], secrets=["orders-db"])
"""

DECORATOR_DAG = """
    import pendulum
    from airflow.sdk import DAG
    import airkube
    from airkube import TaskFamily

    pipeline = TaskFamily(image="pipeline", command=["airkube-pipeline"], size="medium", team="payments")

    @airkube.task(family=pipeline, secrets=["orders-db"])
    def extract(source: str) -> list[str]:
        return ["extract", "--source", source]

    with DAG("same_pod", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
        extract("orders")
"""


def _comparable(manifest: dict, run_id: str) -> dict:
    """What may differ between two runs of the same task: the pod's random name suffix and the run id
    (each `dag.test()` is a new run). Nothing else may."""
    metadata = {k: v for k, v in manifest["metadata"].items() if k != "name"}
    metadata["labels"] = {k: v for k, v in metadata["labels"].items() if k != "run_id"}  # a label-safe form
    return json.loads(json.dumps({**manifest, "metadata": metadata}).replace(run_id, "<run id>"))


def test_the_decorator_and_the_template_make_identical_pods(
    runner_mode, airflow_db: Path, pods_instead_of_cluster: list[dict]
):
    runner_mode("kubernetes")
    runs = [run_dag_source(airflow_db / "dags", source) for source in (TEMPLATE_DAG, DECORATOR_DAG)]
    assert [run.task_states for run in runs] == [{"extract": "success"}] * 2
    template_pod, decorator_pod = (
        _comparable(manifest, run.run_id) for manifest, run in zip(pods_instead_of_cluster, runs, strict=True)
    )
    assert decorator_pod["spec"]["containers"][0]["args"] == ["extract", "--source", "orders"]
    assert decorator_pod == template_pod


COMPOSED_DAG = """
    from datetime import timedelta

    import pendulum
    from airflow.sdk import DAG
    import airkube
    from airkube import TaskFamily

    fast = {"owner": "data-eng", "retry_delay": timedelta(seconds=0), "retry_exponential_backoff": 0}
    shell = TaskFamily(image="pipeline", command=["sh", "-c"], operator_kwargs=fast)

    @airkube.task(family=shell)
    def find() -> list[str]:
        return ['r="${AIRKUBE_RESULT_URL#file://}"; mkdir -p "$(dirname "$r")"; echo \\'["a", "b"]\\' > "$r"']

    @airkube.task(family=shell)
    def count(found: list[str]) -> list[str]:
        script = f'r="${{AIRKUBE_RESULT_URL#file://}}"; mkdir -p "$(dirname "$r")"; echo {len(found)} > "$r"'
        return [script]

    @airkube.task(family=shell, size="medium")
    def each(item: str) -> list[str]:
        return [f"echo item {item}"]

    @airkube.task(family=shell)
    def wrong() -> list[str]:
        return "echo not a list"

    with DAG("composed", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
        found = find()
        count(found)
        each.expand(item=found)
        wrong()
"""


def test_decorated_tasks_compose_by_their_results_and_map_over_them(runner_mode, airflow_db: Path, capfd):
    runner_mode("local")
    result = run_dag_source(airflow_db / "dags", COMPOSED_DAG)
    assert result.results == {"find": ["a", "b"], "count": 2}
    assert result.task_states == {
        "find": "success",
        "count": "success",
        "each[0]": "success",
        "each[1]": "success",
        "wrong": "failed",
    }
    assert result.tries["wrong"] == 1, "a function that returns no argument list is not retried"
    out = capfd.readouterr().out
    assert "DAG 'composed', task 'wrong', field 'arguments': wrong() returned 'echo not a list'" in out


def test_a_mapped_decorated_task_carries_its_size_and_assets_and_is_checked_at_parse_time():
    shell = TaskFamily(image="pipeline", command=["sh", "-c"])

    @airkube.task(family=shell, size="medium")
    def each(item: str) -> list[str]:
        return [f"echo {item}"]

    @airkube.task(family=shell, size="huge")
    def oversized(item: str) -> list[str]:
        return [f"echo {item}"]

    with DAG("decorated_checks", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
        mapped = each.expand(item=["a", "b"]).operator
        with pytest.raises(AirkubeDagError, match="DAG 'decorated_checks', task 'oversized', field 'size'"):
            oversized.expand(item=["a"])
        with pytest.raises(AirkubeDagError, match="DAG 'decorated_checks', task 'oversized', field 'size'"):
            oversized("a")
    assert mapped.partial_kwargs["pool_slots"] == 3
    assert [asset.uri.rsplit("/", 2)[-2:] for asset in mapped.partial_kwargs["outlets"]] == [
        ["decorated_checks", "each"]
    ]


def test_task_template_and_template_are_the_former_names_of_task_family_and_family():
    """DAGs written before the rename keep working: the old names are aliases, not copies."""
    assert airkube.TaskTemplate is airkube.TaskFamily
    assert {"TaskFamily", "TaskTemplate"} <= set(airkube.__all__)
    family = airkube.TaskTemplate(image="pipeline", command=["airkube-pipeline"], size="medium")

    @airkube.task(template=family)
    def old(item: str) -> list[str]:
        return [item]

    @airkube.task(family=family)
    def new(item: str) -> list[str]:
        return [item]

    with DAG("former_names", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
        old_task, new_task = old("a").operator, new("a").operator
    assert (old_task.image, old_task.cmds, old_task.pool_slots) == (
        new_task.image,
        new_task.cmds,
        new_task.pool_slots,
    )
    assert new_task.pool_slots == 3
    with pytest.raises(TypeError, match="not both"):
        airkube.task(family=family, template=family)
