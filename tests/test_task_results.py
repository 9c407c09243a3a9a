"""Task results (AIRKUBE_RESULT_URL) and mapping over them, through Airflow's real task runner
(`dag.test()`) with the local runner: each task is a real process writing a real file."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from urllib.parse import urlparse

import pytest

from airkube.results import MAX_RESULT_BYTES
from dag_runs import run_dag_source

SHELL_DAG = """
    from datetime import timedelta

    import pendulum
    from airflow.sdk import DAG
    from airkube import TaskFamily

    # No wait between tries, so every try shows at once; the platform minimum of 2 retries stays.
    fast = {{"owner": "data-eng", "retry_delay": timedelta(seconds=0), "retry_exponential_backoff": 0}}
    shell = TaskFamily(image="pipeline", command=["sh", "-c"], operator_kwargs=fast)
    # The result goes where the platform says: a file:// URL here, an object key in S3.
    WRITE = 'r="${{AIRKUBE_RESULT_URL#file://}}"; mkdir -p "$(dirname "$r")"; '
    with DAG("{dag_id}", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
{body}
"""


def run_shell_dag(airflow_db: Path, dag_id: str, body: str):
    indented = "\n".join(f"        {line}" for line in textwrap.dedent(body).strip().splitlines())
    return run_dag_source(airflow_db / "dags", SHELL_DAG.format(dag_id=dag_id, body=indented))


def test_a_result_becomes_the_tasks_xcom_and_a_task_without_one_pushes_none(runner_mode, airflow_db: Path):
    runner_mode("local")
    result = run_shell_dag(
        airflow_db,
        "results_basic",
        """
        found = shell.task(
            "found", arguments=[WRITE + 'printf %s \\'{"sources": ["a", "b"], "n": 2}\\' > "$r"']
        )
        shell.task("quiet", arguments=["echo no result"], inputs=[found])
        """,
    )
    assert result.state == "success", result.task_states
    assert result.results == {"found": {"sources": ["a", "b"], "n": 2}}


def test_mapping_over_a_result_runs_one_instance_per_item(runner_mode, airflow_db: Path):
    runner_mode("local")
    result = run_shell_dag(
        airflow_db,
        "results_mapped",
        """
        found = shell.task("found", arguments=[WRITE + 'printf %s \\'["x", "y", "z"]\\' > "$r"'])
        each = shell.map("each", expand_from=found, arguments=lambda item: [f"echo item {item}"])
        shell.task("after", arguments=["true"], inputs=[each])
        """,
    )
    assert result.state == "success", result.task_states
    assert sorted(key for key in result.task_states if key.startswith("each[")) == [
        "each[0]",
        "each[1]",
        "each[2]",
    ]
    assert result.task_states["after"] == "success"


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (f"head -c {MAX_RESULT_BYTES + 1} /dev/zero | tr '\\\\0' 1 > \"$r\"", "is larger than"),
        ("printf %s 'sources: a, b' > \"$r\"", "is not JSON"),
    ],
    ids=["too-large", "not-json"],
)
def test_a_result_too_large_or_not_json_fails_once_naming_the_field(
    runner_mode, airflow_db: Path, capfd, payload: str, problem: str
):
    runner_mode("local")
    result = run_shell_dag(airflow_db, "results_bad", f'shell.task("found", arguments=[WRITE + {payload!r}])')
    assert result.task_states == {"found": "failed"}
    assert result.tries == {"found": 1}, "a result the container will write again is not retried"
    out = capfd.readouterr().out
    assert "DAG 'results_bad', task 'found', field 'result': file://" in out
    assert problem in out
    assert result.results == {}


def test_a_try_never_returns_the_result_an_earlier_try_left(runner_mode, airflow_db: Path):
    """Try 1 writes a result and fails; try 2 writes none and succeeds: the task has no result."""
    runner_mode("local")
    marker = airflow_db / "results_retry_marker"
    marker.unlink(missing_ok=True)
    script = (
        f'if [ ! -e {marker} ]; then touch {marker}; printf %s \'["stale"]\' > "$r"; exit 1; fi; echo try 2'
    )
    task = f"shell.task('flaky', arguments=[WRITE + {script!r}])"
    result = run_shell_dag(airflow_db, "results_retry", task)
    assert result.task_states == {"flaky": "success"}
    assert result.tries == {"flaky": 2}
    assert result.results == {}


def test_a_result_item_that_makes_bad_arguments_fails_that_instance_without_retry(
    runner_mode, airflow_db: Path, capfd
):
    """The run-time twin of the parse-time check: arguments made from a result are checked when the
    instance starts, with the same error naming the DAG, the task and the field."""
    runner_mode("local")
    result = run_shell_dag(
        airflow_db,
        "results_bad_item",
        """
        found = shell.task("found", arguments=[WRITE + 'printf %s \\'["ok", 7]\\' > "$r"'])
        shell.map("each", expand_from=found, arguments=lambda item: ["echo", item])
        """,
    )
    assert result.task_states == {"found": "success", "each[0]": "success", "each[1]": "failed"}
    assert result.tries["each[1]"] == 1
    assert "DAG 'results_bad_item', task 'each', field 'arguments'" in capfd.readouterr().out


def test_result_files_live_inside_the_partition_one_per_try(runner_mode, airflow_db: Path):
    runner_mode("local")
    run_shell_dag(airflow_db, "results_where", """shell.task("found", arguments=[WRITE + 'echo 1 > "$r"'])""")
    root = Path(urlparse(os.environ["AIRKUBE_DATA_URL"]).path) / "results_where" / "found"
    assert [p.relative_to(root).as_posix() for p in root.rglob("*.json")] == [
        "20261122T000000/_result/try=1.json"
    ]
