"""The records of what Airflow does not store (airkube.records): alerts sent and plans made, written whole
into the data root and read back newest first; and the alert send point, which a record that cannot be
written must never break. Slack and Datadog are real HTTP servers on 127.0.0.1 (tests/receivers.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airkube import records
from airkube.alerts.alert import Alert, send
from airkube.alerts.overrun import overrun_alert
from airkube.alerts.settings import alert_settings
from receivers import alert_env, alert_receivers

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def _alert(dag_id: str = "nightly", minutes_ago: float = 0, **fields) -> records.AlertRecord:
    return records.AlertRecord(
        kind=fields.pop("kind", "task_failed"),
        dag_id=dag_id,
        title=f"{dag_id} failed",
        text="boom",
        delivered={"slack": True, "datadog": False},
        sent_at=(NOW - timedelta(minutes=minutes_ago)).isoformat(),
        **fields,
    )


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_an_alert_record_is_one_whole_json_object_read_back_as_written(tmp_path):
    url = records.write_alert(
        _alert(task_id="extract", run_id="scheduled__x", team="data-eng"), data_url=f"file://{tmp_path}"
    )
    (only,) = _files(tmp_path)
    assert url == f"file://{only}"
    assert only.parent == tmp_path / "_airkube" / "alerts" / "2026-11-22"
    assert only.name.startswith("20261122T060000.000000Z-nightly-extract-task_failed-")
    back = records.recent_alerts(data_url=f"file://{tmp_path}", now=NOW)
    assert back == [json.loads(only.read_bytes())]
    assert back[0]["version"] == records.FORMAT_VERSION
    assert {key: back[0][key] for key in ("kind", "dag_id", "task_id", "run_id", "team", "delivered")} == {
        "kind": "task_failed",
        "dag_id": "nightly",
        "task_id": "extract",
        "run_id": "scheduled__x",
        "team": "data-eng",
        "delivered": {"slack": True, "datadog": False},
    }


def test_alerts_come_back_newest_first_across_days_within_the_window_and_the_limit(tmp_path):
    data_url = f"file://{tmp_path}"
    # 5 minutes, 30 hours (yesterday), 1 minute, 3 days and 8 days before NOW, written in that order
    for minutes in (5, 60 * 30, 1, 60 * 24 * 3, 60 * 24 * 8):
        records.write_alert(_alert(f"dag_{minutes}", minutes), data_url=data_url)
    back = records.recent_alerts(data_url=data_url, now=NOW, days=7)
    assert [alert["dag_id"] for alert in back] == ["dag_1", "dag_5", "dag_1800", "dag_4320"]
    limited = records.recent_alerts(data_url=data_url, now=NOW, limit=2)
    assert [alert["dag_id"] for alert in limited] == ["dag_1", "dag_5"]


def test_a_writer_leaves_no_temporary_object_and_readers_skip_one_a_crash_left(tmp_path):
    data_url = f"file://{tmp_path}"
    records.write_alert(_alert(), data_url=data_url)
    (written,) = _files(tmp_path)
    assert not written.name.startswith(records.TMP_PREFIX)
    # What writers killed before their rename leave: temporary objects, whole or half records. Never read.
    whole = json.dumps(_alert("killed").as_json()).encode()
    (written.parent / f"{records.TMP_PREFIX}0123abcd").write_bytes(whole)
    (written.parent / f"{records.TMP_PREFIX}4567cdef").write_bytes(whole[:20])
    (written.parent / "20991231T000000.000000Z-broken.json").write_bytes(b"{not json")  # and a stray object
    assert [alert["dag_id"] for alert in records.recent_alerts(data_url=data_url, now=NOW)] == ["nightly"]


def test_a_record_that_cannot_be_encoded_writes_nothing(tmp_path):
    with pytest.raises(TypeError):
        records.write_alert(_alert(team=object()), data_url=f"file://{tmp_path}")  # type: ignore[arg-type]
    assert _files(tmp_path) == []


def test_a_failed_write_leaves_the_previous_record_and_no_temporary_object(tmp_path):
    """The final name of a newer plan is taken by a folder: its rename fails, its temporary object is
    removed, and the older plan is still the one read."""
    data_url = f"file://{tmp_path}"
    older, newer = datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)
    records.write_plan(
        {"makespan_seconds": 60.0}, data_url=data_url, dag_id="nightly", env="prod", made_at=older
    )
    before = _files(tmp_path)
    (before[0].parent / "20261122T000000.000000Z.json").mkdir()
    with pytest.raises(OSError):
        records.write_plan(
            {"makespan_seconds": 90.0}, data_url=data_url, dag_id="nightly", env="prod", made_at=newer
        )
    assert _files(tmp_path) == before
    assert (
        records.latest_plans(["nightly"], data_url=data_url)["nightly"]["prod"]["plan"]["makespan_seconds"]
        == 60
    )


CUT_SHORT = """
import resource, signal, sys
from datetime import datetime
from airkube import records

records._storage(sys.argv[1])  # Airflow imported before the limit: only the write below is cut short
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))
try:
    records.write_plan({"pad": "x" * 4096}, data_url=sys.argv[1], dag_id="nightly", env="prod",
                       made_at=datetime.fromisoformat(sys.argv[2]))
except OSError as err:
    sys.exit(f"refused: {err.strerror}")
"""


def test_a_write_cut_short_leaves_no_object_behind(tmp_path):
    """A process whose write stops half way (here: its file-size limit; a full disk or a kill alike)
    leaves no half record under any name, so no reader ever sees one."""
    data_url = f"file://{tmp_path}"
    older = datetime(2026, 11, 21, tzinfo=UTC)
    records.write_plan(
        {"makespan_seconds": 60.0}, data_url=data_url, dag_id="nightly", env="prod", made_at=older
    )
    before = {path: path.read_bytes() for path in _files(tmp_path)}
    cut = subprocess.run(
        [sys.executable, "-c", CUT_SHORT, data_url, "2026-11-22T00:00:00+00:00"],
        capture_output=True,
        text=True,
    )
    assert "refused: File too large" in cut.stderr, cut.stderr[-2000:]
    assert {path: path.read_bytes() for path in _files(tmp_path)} == before


def test_record_alert_never_raises_and_logs_why(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the data root should be")
    with caplog.at_level(logging.WARNING, logger="airkube.records"):
        assert records.record_alert(_alert(), data_url=f"file://{blocked}") is None
    assert "record of the task_failed alert for nightly not written" in caplog.text


def test_the_latest_plan_per_environment_and_only_for_the_dags_asked(tmp_path):
    data_url = f"file://{tmp_path}"
    day = datetime(2026, 11, 20, tzinfo=UTC)
    for env, offset, makespan in (("prod", 0, 100.0), ("prod", 1, 200.0), ("staging", 0, 300.0)):
        records.write_plan(
            {"makespan_seconds": makespan}, data_url=data_url, dag_id="nightly", env=env,
            made_at=day + timedelta(days=offset),
        )  # fmt: skip
    records.write_plan({"makespan_seconds": 9.0}, data_url=data_url, dag_id="secret", env="prod", made_at=day)
    plans = records.latest_plans(["nightly", "absent"], data_url=data_url)
    assert set(plans) == {"nightly"}
    assert {env: record["plan"]["makespan_seconds"] for env, record in plans["nightly"].items()} == {
        "prod": 200.0,
        "staging": 300.0,
    }
    assert plans["nightly"]["prod"]["made_at"] == "2026-11-21T00:00:00+00:00"


@pytest.fixture
def channels(monkeypatch):
    """Slack and Datadog receivers, wired in as the platform wires them (connections, env vars)."""
    with alert_receivers() as (slack, datadog, statsd):
        for name, value in alert_env(
            slack, datadog, statsd, webhook_path="T0/B0/x", timeout_seconds=1
        ).items():
            monkeypatch.setenv(name, value)
        yield slack, datadog


@pytest.fixture
def data_root(monkeypatch, tmp_path) -> Iterator[Callable[[Path], str]]:
    """Point AIRKUBE_DATA_URL (read once per process, so the cache is cleared) at a folder."""
    from airkube.settings import platform_settings

    def point(folder: Path) -> str:
        monkeypatch.setenv("AIRKUBE_DATA_URL", f"file://{folder}")
        platform_settings.cache_clear()
        return f"file://{folder}"

    yield point
    platform_settings.cache_clear()


def _escalation() -> Alert:
    return Alert.streak("escalation", dag_id="nightly", run_id="scheduled__3", failed_runs=3)


def test_the_send_point_sends_both_then_records_what_was_delivered(channels, tmp_path, data_root):
    slack, datadog = channels
    data_root(tmp_path)
    delivered = send(_escalation(), alert_settings())
    assert delivered == {"slack": True, "datadog": True}
    assert len(slack.posts_to("/services/")) == 1 and len(datadog.posts_to("/api/v1/events")) == 1
    (record,) = records.recent_alerts(data_url=f"file://{tmp_path}")
    assert record["kind"] == "escalation" and record["delivered"] == delivered
    assert record["run_id"] == "scheduled__3" and record["environment"] == "test"


def test_a_record_that_cannot_be_written_does_not_break_the_alert(channels, tmp_path, data_root, caplog):
    slack, datadog = channels
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    data_root(blocked)
    with caplog.at_level(logging.WARNING):
        delivered = send(_escalation(), alert_settings())
    assert delivered == {"slack": True, "datadog": True}
    assert len(slack.posts_to("/services/")) == 1 and len(datadog.posts_to("/api/v1/events")) == 1
    assert "record of the escalation alert for nightly not written" in caplog.text


def test_records_on_s3_as_in_production(moto_endpoint, monkeypatch, tmp_path):
    """Production's data root is S3: one PUT per record (no temporary object), listed and read back through
    the same ObjectStoragePath calls. moto stands in for S3; credentials come from the environment, as
    IRSA's do in a pod."""
    boto3 = pytest.importorskip("boto3")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_endpoint, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    bucket = f"records-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    data_url = f"s3://{bucket}/airkube"
    records.write_alert(_alert("older", 2), data_url=data_url)
    records.write_alert(_alert("newer", 1, task_id="extract"), data_url=data_url)
    records.write_plan({"makespan_seconds": 60.0}, data_url=data_url, dag_id="newer", env="prod")
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert len(keys) == 3 and all(key.endswith(".json") and "/.tmp-" not in key for key in keys), keys
    assert [alert["dag_id"] for alert in records.recent_alerts(data_url=data_url, now=NOW)] == [
        "newer",
        "older",
    ]
    assert (
        records.latest_plans(["newer"], data_url=data_url)["newer"]["prod"]["plan"]["makespan_seconds"] == 60
    )


def test_the_triggerers_overrun_alert_is_sent_and_recorded(channels, tmp_path, data_root):
    """overrun_alert as the triggerer calls it (the deadline callback, with the run in its context)."""
    slack, datadog = channels
    data_root(tmp_path)
    context = {"dag_run": {"dag_id": "nightly", "dag_run_id": "scheduled__slow"}}
    asyncio.run(overrun_alert(expected_seconds=600, factor=1.5, context=context))
    assert "still running after 1.5 x its expected 0:10:00" in slack.posts_to("/services/")[0]["text"]
    assert len(datadog.posts_to("/api/v1/events")) == 1
    (record,) = records.recent_alerts(data_url=f"file://{tmp_path}")
    assert (record["kind"], record["dag_id"], record["run_id"]) == ("overrun", "nightly", "scheduled__slow")
