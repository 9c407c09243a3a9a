"""airkube's task metric (airkube.alerts.metrics): tasks run through Airflow's task runner (`dag.test()`)
with the local runner send it to a real UDP socket standing in for the DogStatsD agent; the failure
reason is read from pod statuses as the Kubernetes client returns them; and with no agent listening, a
healthy task's log stays free of the DogStatsD client's warnings."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import (
    V1ContainerState,
    V1ContainerStateTerminated,
    V1ContainerStateWaiting,
    V1ContainerStatus,
    V1Pod,
    V1PodCondition,
    V1PodStatus,
)

from airkube.pod_failure import failure_reason, pod_failure_reason
from dag_runs import run_dag_source
from receivers import StatsdReceiver

DAG_SOURCE = """
    import sys
    from datetime import timedelta
    import pendulum
    from airflow.sdk import DAG
    from airkube import TaskFamily

    fast = {"owner": "data-eng", "retry_delay": timedelta(seconds=0), "retry_exponential_backoff": 0}
    tpl = TaskFamily(image="pipeline", command=[sys.executable, "-c"], operator_kwargs=fast)
    start = pendulum.datetime(2026, 1, 1)
    with DAG("metrics_dag", schedule="@daily", start_date=start, catchup=False) as dag:
        tpl.task("step", arguments=[CODE], retries=2, team="growth")
"""
KILLED = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"


def _run(airflow_db: Path, code: str):
    return run_dag_source(airflow_db / "dags", DAG_SOURCE.replace("CODE", repr(code)))


def _tags(line: str) -> dict[str, str]:
    name, tags = line.split("|#")
    assert name == "airkube.task.finished:1|c", line
    return dict(tag.split(":", 1) for tag in tags.split(","))


@pytest.fixture
def statsd(monkeypatch: pytest.MonkeyPatch, runner_mode) -> Iterator[StatsdReceiver]:
    """The agent's stand-in, configured as the Helm values configure the agent (DD_AGENT_HOST)."""
    runner_mode("local")
    receiver = StatsdReceiver()
    monkeypatch.setenv("DD_AGENT_HOST", "127.0.0.1")
    monkeypatch.setenv("DD_DOGSTATSD_PORT", str(receiver.port))
    yield receiver
    receiver.close()


@pytest.mark.parametrize(("code", "reason"), [("raise SystemExit(3)", "Error"), (KILLED, "SIGKILL")])
def test_every_try_counts_once_with_its_state_and_the_process_failure_reason(
    statsd, airflow_db, code, reason
):
    result = _run(airflow_db, code)
    assert result.task_states == {"step": "failed"}
    tries = [_tags(line) for line in statsd.lines()]
    assert [tags["state"] for tags in tries] == ["up_for_retry", "up_for_retry", "failed"]
    for tags in tries:
        assert tags == {
            "dag_id": "metrics_dag",
            "task_id": "step",
            "team": "growth",
            "env": "test",
            "state": tags["state"],
            "failure_reason": reason,
        }


def test_each_try_is_tagged_with_its_own_failure_reason(statsd, airflow_db, tmp_path):
    """An earlier try's reason does not stick to a later try that fails otherwise (a timeout, named
    by its error's type: no pod or process reason), nor to a success."""
    tries = tmp_path / "tries"
    code = (
        f"import os, sys, time; p = {str(tries)!r}; n = os.path.getsize(p) if os.path.exists(p) else 0; "
        "open(p, 'a').write('x'); n == 0 and sys.exit(3); n == 1 and time.sleep(60)"
    )
    source = DAG_SOURCE.replace("CODE", repr(code)).replace(
        'team="growth"', 'team="growth", execution_timeout=timedelta(seconds=3)'
    )
    assert run_dag_source(airflow_db / "dags", source).task_states == {"step": "success"}
    first, second, third = (_tags(line) for line in statsd.lines())
    assert (first["state"], first["failure_reason"]) == ("up_for_retry", "Error")
    assert (second["state"], second["failure_reason"]) == ("up_for_retry", "AirflowTaskTimeout")
    assert third["state"] == "success" and "failure_reason" not in third


def test_a_try_whose_process_died_is_counted_by_the_scheduler(statsd, airflow_db):
    """The scheduler's own call when the executor reports a task that never reported back (its worker
    pod evicted or OOM-killed): Airflow sends no ti.finish for it. The task here is the scheduler's
    serialized one, which has the pod labels but not the operator's attributes."""
    from airflow.models.dagbag import DBDagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    result = _run(airflow_db, "print('fine')")
    statsd.lines()
    with create_session() as session:
        ti = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == "metrics_dag", TaskInstance.run_id == result.run_id
            )
        ).one()
        ti.state = "running"  # as the executor found it
        ti.task = DBDagBag().get_dag_for_run(dag_run=ti.dag_run, session=session).get_task("step")
        ti.handle_failure(
            error="Executor reported that the task instance finished with state failed", session=session
        )
    (line,) = statsd.lines()
    assert _tags(line) == {
        "dag_id": "metrics_dag",
        "task_id": "step",
        "team": "growth",
        "env": "test",
        "state": "up_for_retry",
        "failure_reason": "killed_externally",
    }


def _closed_udp_port() -> int:
    """A port on 127.0.0.1 where nothing listens: an agent that is configured but down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("agent", ["not configured", "configured but down"])
def test_a_healthy_tasks_log_carries_no_statsd_warning(
    monkeypatch, runner_mode, airflow_db, capfd, caplog, agent
):
    """What the task prints (capfd) and what its libraries log through Python's logging (caplog): on the
    platform, the task's supervisor writes both into the task's log."""
    runner_mode("local")
    monkeypatch.delenv("DD_AGENT_HOST", raising=False)
    if agent == "configured but down":
        monkeypatch.setenv("DD_AGENT_HOST", "127.0.0.1")
        monkeypatch.setenv("DD_DOGSTATSD_PORT", str(_closed_udp_port()))
    capfd.readouterr()
    caplog.set_level(logging.DEBUG)
    assert _run(airflow_db, "print('fine')").task_states == {"step": "success"}
    captured = capfd.readouterr()
    assert "fine" in captured.out, "the task's output is what was read"
    log = captured.out + captured.err + caplog.text
    for warning in ("Connection refused", "Error submitting packet"):
        assert warning not in log
    statsd_warnings = [
        record
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name.startswith(("datadog", "airkube.alerts.metrics"))
    ]
    assert statsd_warnings == []


def _pod(
    *,
    terminated: str | None = None,
    waiting: str | None = None,
    reason: str | None = None,
    conditions: list[V1PodCondition] | None = None,
) -> V1Pod:
    state = V1ContainerState(
        terminated=V1ContainerStateTerminated(exit_code=137, reason=terminated) if terminated else None,
        waiting=V1ContainerStateWaiting(reason=waiting) if waiting else None,
    )
    statuses = [
        V1ContainerStatus(name="base", image="i", image_id="", ready=False, restart_count=0, state=state)
    ]
    return V1Pod(
        status=V1PodStatus(
            phase="Failed" if terminated else "Pending",
            reason=reason,
            conditions=conditions,
            container_statuses=statuses if terminated or waiting else None,
        )
    )


UNSCHEDULABLE = V1PodCondition(type="PodScheduled", status="False", reason="Unschedulable")


@pytest.mark.parametrize(
    ("pod", "reason"),
    [
        (_pod(terminated="OOMKilled"), "OOMKilled"),
        (_pod(terminated="Error"), "Error"),
        (_pod(waiting="ImagePullBackOff"), "ImagePullBackOff"),
        (_pod(waiting="CreateContainerConfigError"), "CreateContainerConfigError"),
        (_pod(reason="Evicted"), "Evicted"),
        (_pod(conditions=[UNSCHEDULABLE]), "Unschedulable"),
        (_pod(), None),
    ],
)
def test_the_failure_reason_is_kubernetes_word_from_the_pod_status(pod, reason):
    assert failure_reason(pod, "base") == reason


def test_a_pod_that_never_started_is_read_again_for_its_reason():
    """KubernetesPodOperator's remote_pod is the pod as created when it never started."""
    as_created = _pod()
    assert pod_failure_reason(as_created, "base", lambda: _pod(waiting="ImagePullBackOff")) == (
        "ImagePullBackOff"
    )

    def unreachable() -> V1Pod:
        raise ConnectionError("the API is down")

    assert pod_failure_reason(_pod(conditions=[UNSCHEDULABLE]), "base", unreachable) == "Unschedulable"
    finished = _pod(terminated="OOMKilled")
    assert pod_failure_reason(finished, "base", unreachable) == "OOMKilled", "no read once finished"
