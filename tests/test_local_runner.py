"""The local runner (AIRKUBE_RUNNER=local), driven through Airflow's real task runner (`dag.test()`)."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from pathlib import Path

import pytest

from airkube.local_runner import LocalProcessRunner
from airkube.pod_operator import DEFAULT_RETRIES
from dag_runs import run_dag_source

HEADER = """
    import sys
    from datetime import timedelta
    import pendulum
    from airflow.sdk import DAG
    from airkube import TaskFamily

    # No wait between tries, so the tests see all of them quickly; the platform minimum of 2 retries stays.
    fast = {"owner": "data-eng", "retry_delay": timedelta(seconds=0), "retry_exponential_backoff": 0}
    tpl = TaskFamily(image="pipeline", command=[sys.executable, "-c"], operator_kwargs=fast)


    def daily(dag_id):
        return DAG(dag_id, schedule="@daily", start_date=pendulum.datetime(2026, 1, 1), catchup=False)
"""


@pytest.fixture
def local(runner_mode, airflow_db: Path) -> Path:
    runner_mode("local")
    return airflow_db / "dags"


def test_runs_command_with_contract_env_and_streams_each_line_to_the_log(local, capfd):
    code = (
        "import os, time\\n"
        "for key in ('AIRKUBE_OUTPUT_URL', 'AIRKUBE_DATA_INTERVAL_START', 'AIRKUBE_INPUT_URLS'):\\n"
        "    print(key, '=', os.environ[key], flush=True)\\n"
        "print('HOSTVAR', os.environ.get('AIRKUBE_TEST_HOST_ONLY'), flush=True)"
    )
    os.environ["AIRKUBE_TEST_HOST_ONLY"] = "leaked"
    try:
        result = run_dag_source(
            local,
            HEADER
            + f"""
    with daily("local_env") as dag:
        first = tpl.task("first", arguments=["print('first ran')"])
        second = tpl.task("second", arguments=["{code}"], inputs=[first])
    """,
        )
    finally:
        del os.environ["AIRKUBE_TEST_HOST_ONLY"]
    out = capfd.readouterr().out
    assert result.task_states == {"first": "success", "second": "success"}
    data_url = os.environ["AIRKUBE_DATA_URL"]
    assert f"AIRKUBE_OUTPUT_URL = {data_url}/local_env/second/20261122T000000" in out
    assert "AIRKUBE_DATA_INTERVAL_START = 2026-11-22T00:00:00+00:00" in out
    assert f"AIRKUBE_INPUT_URLS = {data_url}/local_env/first/20261122T000000" in out
    # The pod's environment, not the worker's: a host-only variable must not reach the task.
    assert "HOSTVAR None" in out
    # Each output line is its own log record of the task, as a pod's log lines are.
    records = [
        line for line in out.splitlines() if re.search(r"\[info\s*\] first ran\s+\[airflow\.task", line)
    ]
    assert len(records) == 1, out


def test_non_zero_exit_fails_after_all_retries_and_downstream_does_not_run(local, tmp_path, capfd):
    attempts = tmp_path / "attempts"
    code = f"open({str(attempts)!r}, 'a').write('x'); print('boom'); raise SystemExit(3)"
    result = run_dag_source(
        local,
        HEADER
        + f"""
    with daily("local_fail") as dag:
        broken = tpl.task("broken", arguments=[{code!r}])
        after = tpl.task("after", arguments=["print('must not run')"], inputs=[broken])
    """,
    )
    out = capfd.readouterr().out
    assert result.state == "failed"
    assert result.task_states == {"broken": "failed", "after": "upstream_failed"}
    assert attempts.read_text() == "x" * (1 + DEFAULT_RETRIES)  # the first try, then every retry
    assert "exited with 3" in out
    assert "must not run" not in out


def test_execution_timeout_fails_the_task_and_kills_the_process(local, tmp_path):
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    started = time.monotonic()
    result = run_dag_source(
        local,
        HEADER
        + f"""
    with daily("local_timeout") as dag:
        tpl.task("sleepy", arguments=[{code!r}], execution_timeout=timedelta(seconds=2), retries=2)
    """,
    )
    assert result.task_states == {"sleepy": "failed"}
    assert time.monotonic() - started < 100, "the 120 s command was not cut short"
    pid = int(pid_file.read_text())
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_dynamic_task_mapping_runs_one_process_per_index_with_its_own_partition(local, capfd):
    code = "import os; print('WROTE', os.environ['AIRKUBE_OUTPUT_URL'])"
    result = run_dag_source(
        local,
        HEADER
        + f"""
    with daily("local_mapped") as dag:
        mapped = tpl.map("score", expand={{"arguments": [[{code!r}], [{code!r}], [{code!r}]]}})
        read = "import os; print('READ', os.environ['AIRKUBE_INPUT_URLS'])"
        tpl.task("total", arguments=[read], inputs=[mapped])
    """,
    )
    out = capfd.readouterr().out
    assert result.task_states == {
        "score[0]": "success",
        "score[1]": "success",
        "score[2]": "success",
        "total": "success",
    }
    base = f"{os.environ['AIRKUBE_DATA_URL']}/local_mapped/score/20261122T000000"
    for index in range(3):
        assert f"WROTE {base}/map_index={index}" in out
    assert f"READ {base}" in out


def test_kill_escalates_to_sigkill_when_the_process_ignores_sigterm(tmp_path):
    """A task command that traps SIGTERM must not outlive its task."""
    pid_file = tmp_path / "pid"
    code = (
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n"
    )
    runner = LocalProcessRunner()
    outcome: dict[str, int] = {}
    thread = threading.Thread(
        target=lambda: outcome.update(code=runner.run([sys.executable, "-c", code], {})[0])
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    runner.kill(grace_seconds=0.5)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert outcome["code"] == -9  # SIGKILL, after SIGTERM was ignored
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
