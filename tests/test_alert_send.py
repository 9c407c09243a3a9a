"""One alert (airkube.alerts.alert): its words on every channel, its trip through the outbox as JSON, the
timeout that bounds a hanging Datadog, the overrun built from the context Airflow really gives a deadline
callback, and building an alert without importing the clients that send it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airkube.alerts.alert import Alert, send
from airkube.alerts.overrun import overrun_alert
from receivers import HttpReceiver, alert_env

ALERTS = [
    Alert.task_failed(
        dag_id="nightly", task_id="load", run_id="scheduled__1", try_number=4, logical_date="2026-11-22",
        error="exited with 3", log_url="http://ui/log", team="growth",
    ),
    Alert.overrun(dag_id="nightly", run_id="scheduled__1", expected_seconds=600, factor=1.5),
    Alert.streak(
        "escalation", dag_id="nightly", run_id="scheduled__1", failed_runs=3, slack_conn_id="slack_growth"
    ),
    Alert.streak("recovery", dag_id="nightly", run_id="scheduled__2", failed_runs=3),
]  # fmt: skip


class _NoStatsd:
    port = 9


@pytest.fixture
def channels(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator:
    """Slack's and Datadog's stand-ins; the one given a delay hangs that long before answering."""
    started: list[HttpReceiver] = []

    def start(datadog_delay: float = 0.0, timeout_seconds: int = 1) -> tuple[HttpReceiver, HttpReceiver]:
        slack, datadog = HttpReceiver().__enter__(), HttpReceiver(delay=datadog_delay).__enter__()
        started.extend([slack, datadog])
        wiring = alert_env(slack, datadog, _NoStatsd(), timeout_seconds=timeout_seconds)
        for name, value in wiring.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AIRKUBE_DATA_URL", f"file://{tmp_path}/data")
        return slack, datadog

    yield start
    for receiver in started:
        receiver.__exit__()


@pytest.mark.parametrize("alert", ALERTS, ids=[alert.kind for alert in ALERTS])
def test_an_alert_survives_the_outbox_as_json(alert):
    assert Alert.from_json(json.loads(json.dumps(alert.as_json()))) == alert


def test_each_kind_has_its_words_and_datadog_type():
    words = {alert.kind: (alert.title, alert.alert_type, alert.text.splitlines()[0]) for alert in ALERTS}
    run = "*nightly* run scheduled__1"
    assert words == {
        "task_failed": ("nightly.load failed", "warning", ":red_circle: *nightly.load* failed after try 4"),
        "overrun": ("nightly overrun", "warning",
                    f":hourglass: {run} is still running after 1.5 x its expected 0:10:00"),
        "escalation": ("nightly failed 3 runs in a row", "error",
                       ":rotating_light: *nightly* has failed 3 runs in a row (latest: scheduled__1)"),
        "recovery": ("nightly recovered", "success",
                     ":large_green_circle: *nightly* succeeded again (scheduled__2) after 3 or more failed"
                     " runs"),
    }  # fmt: skip
    event = ALERTS[0].datadog_event("prod")
    assert event["tags"] == ["dag_id:nightly", "task_id:load", "team:growth", "env:prod"]
    assert event["aggregation_key"] == "nightly.load" and event["text"] == ALERTS[0].text


def test_a_hanging_datadog_is_given_up_on_after_the_alert_timeout(channels, caplog):
    slack, datadog = channels(datadog_delay=8, timeout_seconds=1)
    started = time.monotonic()
    delivered = send(ALERTS[3])
    took = time.monotonic() - started
    assert delivered == {"slack": True, "datadog": False}
    assert len(datadog.requests) == 1 and len(slack.posts_to("/services/")) == 1
    assert took < 5, f"bounded by the 1 s timeout, not the client's own 60 s: {took:.1f} s"
    assert "Datadog event for nightly runs not delivered" in caplog.text


def test_the_overrun_alert_reads_the_context_airflow_gives_a_deadline_callback(channels):
    """The context is built as Airflow 3.3's Deadline.handle_miss builds it: the run as the REST API's
    DAGRunResponse, dumped as JSON; the triggerer passes it only to a callback that takes `context`."""
    from airflow._shared.module_loading import accepts_context
    from airflow.api_fastapi.core_api.datamodels.dag_run import DAGRunResponse

    slack, datadog = channels()
    now = datetime(2026, 11, 22, 6, tzinfo=UTC)
    run = {
        "run_id": "scheduled__slow", "dag_id": "nightly", "logical_date": now, "queued_at": now,
        "start_date": now, "end_date": None, "duration": None, "data_interval_start": now,
        "data_interval_end": now, "run_after": now, "last_scheduling_decision": None,
        "run_type": "scheduled", "state": "running", "triggered_by": "timetable",
        "triggering_user_name": None, "conf": {}, "note": None, "dag_versions": [],
        "bundle_version": None, "dag_model": {"dag_display_name": "nightly"}, "partition_key": None,
        "partition_date": None,
    }  # fmt: skip
    context = {
        "dag_run": DAGRunResponse.model_validate(run).model_dump(mode="json"),
        "deadline": {"id": "0", "deadline_time": now},
    }
    assert accepts_context(overrun_alert)
    asyncio.run(overrun_alert(expected_seconds=4, factor=1.5, context=context))
    (message,) = slack.posts_to("/services/")
    assert message["text"] == (
        ":hourglass: *nightly* run scheduled__slow is still running after 1.5 x its expected 0:00:04"
    )
    assert len(datadog.posts_to("/api/v1/events")) == 1


SENDERS = ("slack_sdk", "datadog", "airflow.providers.slack.hooks", "airflow.providers.datadog.hooks")


def test_building_alerts_imports_no_client_that_sends_them():
    """Task processes, the scheduler and the triggerer load these modules; only a send needs the clients."""
    code = (
        "import sys\n"
        "import airkube.alerts.alert, airkube.alerts.failure, airkube.alerts.overrun\n"
        "import airkube.alerts.streaks, airkube.alerts.outbox, airkube.alerts.drainer\n"
        "from airkube.alerts.alert import Alert\n"
        "Alert.streak('recovery', dag_id='d', run_id='r', failed_runs=3).datadog_event('test')\n"
        f"print(sorted(m for m in sys.modules if m.startswith({SENDERS!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
