"""Alerts on the real local platform: failure streaks, recovery, overruns and task metrics, with the
scheduler, triggerer and task processes sending to real receivers on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable

import pendulum
import pytest

from e2e_support import RunningPlatform

pytestmark = pytest.mark.slow

DAY = pendulum.datetime(2026, 10, 1, tz="UTC")


def _run(env: RunningPlatform, dag_id: str, day: int, exit_code: int | None = None) -> str:
    if exit_code is not None:
        env.flag.write_text(str(exit_code))
    env.api.wait_for_dag(dag_id)
    start = DAY.add(days=day)
    run_id = env.api.trigger(dag_id, start, start.add(days=1))
    return env.api.wait_for_run(dag_id, run_id, 600).state


def _eventually(count: Callable[[], int], expected: int, seconds: float = 20) -> int:
    """Alerts from the scheduler go out on a background thread: give them a moment."""
    deadline = time.monotonic() + seconds
    while count() < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1)  # and make sure no extra one follows
    return count()


def _slack_texts(env: RunningPlatform, needle: str, channel: str = "/services/") -> list[str]:
    return [body["text"] for body in env.slack.posts_to(channel) if needle in body.get("text", "")]


OWNERS = "/services/OWNERS/"  # e2e_flaky's own channel (alert_params(slack_conn_id=...))
DEFAULT = "/services/T0/"  # the platform's default channel


def test_failures_in_a_row_escalate_once_and_a_success_recovers_once(running_platform):
    env = running_platform
    states = [_run(env, "e2e_flaky", day, exit_code=1) for day in range(3)]
    assert states == ["failed"] * 3
    assert _eventually(lambda: len(_slack_texts(env, "failed 2 runs in a row", OWNERS)), 1) == 1
    assert _slack_texts(env, "in a row", DEFAULT) == [], "DAG-level alerts go to the DAG's own channel"
    # One message per failed task (after its last try), none for the tries before; task alerts use
    # the task's channel, here the platform default.
    assert len(_slack_texts(env, "e2e_flaky.maybe_fail* failed after try 3", DEFAULT)) == 3
    task_events = [
        e for e in env.datadog.posts_to("/api/v1/events") if e["title"] == "e2e_flaky.maybe_fail failed"
    ]
    assert len(task_events) == 3 and {e["alert_type"] for e in task_events} == {"warning"}
    assert {"dag_id:e2e_flaky", "task_id:maybe_fail", "team:data-eng"} <= set(task_events[0]["tags"])
    escalations = [e for e in env.datadog.posts_to("/api/v1/events") if "in a row" in e["title"]]
    assert [e["alert_type"] for e in escalations] == ["error"]

    assert _run(env, "e2e_flaky", 3, exit_code=0) == "success"
    assert _eventually(lambda: len(_slack_texts(env, "succeeded again", OWNERS)), 1) == 1
    recoveries = [e for e in env.datadog.posts_to("/api/v1/events") if e["title"] == "e2e_flaky recovered"]
    assert [e["alert_type"] for e in recoveries] == ["success"]


def test_a_slow_run_raises_one_overrun_alert_while_it_is_still_running(running_platform):
    env = running_platform
    env.api.wait_for_dag("e2e_slow")
    run_id = env.api.trigger("e2e_slow", DAY, DAY.add(days=1))
    assert _eventually(lambda: len(_slack_texts(env, "e2e_slow* run")), 1, seconds=60) == 1
    assert env.api.progress("e2e_slow", run_id).state == "running", "the alert must come while it runs"
    assert env.api.wait_for_run("e2e_slow", run_id, 600).state == "success"
    assert len(_slack_texts(env, "e2e_slow* run")) == 1
    assert "1.5 x its expected 0:00:04" in _slack_texts(env, "e2e_slow* run")[0]


def test_every_try_sends_one_count_to_dogstatsd_and_a_state_set_through_the_api_none(running_platform):
    """airkube's one metric, with Airflow's tag names (the duration is Airflow's own task.duration), from
    this test's run only; then the task's state set through the REST API, which makes the api-server
    call the same listener, sends nothing: no try ran."""
    env = running_platform
    env.flag.write_text("0")
    env.api.wait_for_dag("e2e_flaky")
    env.statsd.lines()  # what the earlier tests' runs sent: this test counts its own run's only
    start = DAY.add(days=10)
    run_id = env.api.trigger("e2e_flaky", start, start.add(days=1))
    assert env.api.wait_for_run("e2e_flaky", run_id, 600).state == "success"
    (finished,) = [line for line in env.statsd.lines() if line.startswith("airkube.")]
    name, tags = finished.split("|#")
    assert name == "airkube.task.finished:1|c"
    assert tags.split(",") == [
        "dag_id:e2e_flaky", "task_id:maybe_fail", "team:data-eng", "env:dev", "state:success"]  # fmt: skip

    path = f"/dags/e2e_flaky/dagRuns/{run_id}/taskInstances/maybe_fail"
    for state in ("failed", "success"):  # the UI's "Mark as failed" / "Mark as success"
        response = env.api.client.patch(path, json={"new_state": state})
        assert response.status_code == 200, response.text
    time.sleep(2)  # the listener runs before the api-server answers; datagrams in flight land meanwhile
    assert [line for line in env.statsd.lines() if line.startswith("airkube.")] == []
