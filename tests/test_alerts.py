"""Alerts and metrics of a task run through Airflow's task runner (`dag.test()`), received by real
servers on 127.0.0.1: an HTTP server standing in for Slack's webhook endpoint and Datadog's events API,
and a UDP socket for DogStatsD."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from airflow.sdk.exceptions import ParamValidationError

from airkube import alert_params, overrun_deadline, records
from airkube.pod_operator import DEFAULT_RETRIES
from dag_runs import run_dag_source
from receivers import HttpReceiver, StatsdReceiver, alert_env, slack_connection

WEBHOOK_SECRET = "T0000/B0000/s3cr3tW3bh00kT0k3n"

DAG_SOURCE = """
    import sys
    from datetime import timedelta
    import pendulum
    from airflow.sdk import DAG
    from airkube import TaskFamily

    fast = {"owner": "data-eng", "retry_delay": timedelta(seconds=0), "retry_exponential_backoff": 0}
    tpl = TaskFamily(image="pipeline", command=[sys.executable, "-c"], operator_kwargs=fast)
    with DAG("alerts_dag", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
        tpl.task("step", arguments=[CODE])
"""
FAIL = "print('boom'); raise SystemExit(3)"
SUCCEED = "print('fine')"


@pytest.fixture
def receivers(monkeypatch: pytest.MonkeyPatch, runner_mode, airflow_db: Path) -> Iterator:
    """Slack, Datadog and DogStatsD receivers, wired in through Airflow connections and env vars."""
    runner_mode("local")
    statsd = StatsdReceiver()

    def start(
        slack_status: int = 200, slack_delay: float = 0.0
    ) -> tuple[HttpReceiver, HttpReceiver, StatsdReceiver]:
        slack = HttpReceiver(status=slack_status, delay=slack_delay).__enter__()
        datadog = HttpReceiver().__enter__()
        started.extend([slack, datadog])
        wiring = alert_env(slack, datadog, statsd, webhook_path=WEBHOOK_SECRET, timeout_seconds=1)
        for name, value in wiring.items():
            monkeypatch.setenv(name, value)
        return slack, datadog, statsd

    started: list[HttpReceiver] = []
    yield start
    for http in started:
        http.__exit__()
    statsd.close()


def _run(airflow_db: Path, code: str):
    return run_dag_source(airflow_db / "dags", DAG_SOURCE.replace("CODE", repr(code)))


def _records_since(moment: datetime) -> list[dict]:
    """The alert records (airkube.records, the platform page's) written since `moment`."""
    return [alert for alert in records.recent_alerts() if datetime.fromisoformat(alert["sent_at"]) >= moment]


def test_a_final_failure_sends_one_slack_message_and_one_datadog_event(receivers, airflow_db):
    slack_receiver, datadog, statsd = receivers()
    started = datetime.now(UTC)
    result = _run(airflow_db, FAIL)
    assert result.task_states == {"step": "failed"}
    (record,) = _records_since(started)  # what the platform page reads: one record of the one alert
    assert (record["kind"], record["dag_id"], record["task_id"], record["team"]) == (
        "task_failed", "alerts_dag", "step", "data-eng")  # fmt: skip
    assert record["run_id"] == result.run_id and record["delivered"] == {"slack": True, "datadog": True}
    slack = slack_receiver.posts_to("/services/")
    assert len(slack) == 1, "retries that will be retried again must send nothing"
    text = slack[0]["text"]
    assert "alerts_dag.step" in text and f"try {1 + DEFAULT_RETRIES}" in text
    assert "exited with 3" in text and "logical date: 2026-11-22T00:00:00+00:00" in text
    # The link to the failed try's log in the UI.
    assert "/dags/alerts_dag/runs/" in text and f"/tasks/step?try_number={1 + DEFAULT_RETRIES}" in text
    events = datadog.posts_to("/api/v1/events")
    assert len(events) == 1
    assert events[0]["alert_type"] == "warning" and events[0]["title"] == "alerts_dag.step failed"
    assert {"dag_id:alerts_dag", "task_id:step", "team:data-eng", "env:test"} <= set(events[0]["tags"])
    finished = [line for line in statsd.lines() if line.startswith("airkube.task.finished")]
    assert sum("state:failed" in line and "dag_id:alerts_dag" in line for line in finished) == 1


@pytest.mark.parametrize(("status", "delay"), [(500, 0.0), (200, 5.0)], ids=["slack-500", "slack-hangs"])
def test_slack_down_or_slow_neither_stops_datadog_nor_changes_the_task(
    receivers, airflow_db, capfd, status, delay
):
    slack, datadog, _ = receivers(slack_status=status, slack_delay=delay)
    started, since = time.monotonic(), datetime.now(UTC)
    result = _run(airflow_db, FAIL)
    assert result.task_states == {"step": "failed"}
    assert [alert["delivered"] for alert in _records_since(since)] == [{"slack": False, "datadog": True}]
    assert len(slack.posts_to("/services/")) == 1  # tried once, failed or timed out
    assert len(datadog.posts_to("/api/v1/events")) == 1
    out = capfd.readouterr().out
    assert "Slack alert for alerts_dag.step not delivered" in out
    assert WEBHOOK_SECRET not in out, "the webhook URL is a secret and must never be logged"
    assert time.monotonic() - started < 60


def test_a_success_sends_metrics_and_no_alert(receivers, airflow_db):
    slack, datadog, statsd = receivers()
    result = _run(airflow_db, SUCCEED)
    assert result.task_states == {"step": "success"}
    assert slack.requests == [] and datadog.requests == []
    # One count, tagged with Airflow's tag names; the duration is Airflow's own task.duration.
    (finished,) = statsd.lines()
    name, tags = finished.split("|#")
    assert name == "airkube.task.finished:1|c"
    expected = ["dag_id:alerts_dag", "task_id:step", "team:data-eng", "env:test", "state:success"]
    assert tags.split(",") == expected


def test_a_task_names_its_owners_channel_and_the_default_gets_nothing(receivers, airflow_db, monkeypatch):
    default, _, _ = receivers()
    team = HttpReceiver().__enter__()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_GROWTH", slack_connection(team, "T/B/x"))
        source = DAG_SOURCE.replace("CODE", repr(FAIL)).replace(
            'tpl.task("step", arguments=[', 'tpl.task("step", alert_slack_conn_id="slack_growth", arguments=['
        )
        result = run_dag_source(airflow_db / "dags", source)
    finally:
        team.__exit__()
    assert result.task_states == {"step": "failed"}
    assert len(team.posts_to("/services/")) == 1
    assert default.posts_to("/services/") == []


@pytest.mark.parametrize(
    ("expected", "factor"), [(timedelta(0), 1.5), (timedelta(minutes=-5), 1.5), (timedelta(minutes=5), 0.5)]
)
def test_an_overrun_deadline_refuses_what_could_never_fire_sensibly(expected, factor):
    with pytest.raises(ValueError, match="expected must be positive and factor >= 1"):
        overrun_deadline(expected, factor=factor)


def test_an_overrun_deadline_is_airflows_deadline_alert_at_factor_times_expected():
    alert = overrun_deadline(timedelta(minutes=40))
    assert alert.interval == timedelta(minutes=60)
    assert alert.callback.kwargs["expected_seconds"] == 2400


def test_alert_params_are_validated_dag_params():
    params = alert_params(escalate_after=5, slack_conn_id="slack_growth")
    assert params["airkube_escalate_after"].value == 5
    with pytest.raises(ParamValidationError):
        alert_params(escalate_after=0)["airkube_escalate_after"].resolve()
