"""End to end on the real local platform: runs, reruns, backfills and failures through the scheduler."""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
from pathlib import Path

import pendulum
import pytest

from airkube_dev.api import AirflowApi
from airkube_dev.errors import PlatformError
from e2e_support import RunningPlatform
from paths import REPO
from snapshots import snapshot

pytestmark = pytest.mark.slow

NIGHT = pendulum.datetime(2026, 11, 22, tz="UTC")
PARTITION = "20261122T000000"
RUN_TIMEOUT = 1200


@pytest.fixture(scope="module")
def nightly_run(running_platform: RunningPlatform) -> str:
    """One whole run of high_priorities for NIGHT, through the scheduler; its run id."""
    api = running_platform.api
    api.wait_for_dag("high_priorities")
    run_id = api.trigger("high_priorities", NIGHT, NIGHT.add(days=1))
    progress = api.wait_for_run("high_priorities", run_id, RUN_TIMEOUT)
    assert progress.state == "success", progress
    assert progress.task_states == {"success": 201}
    return run_id


def test_the_dags_import_on_the_platform_without_errors(running_platform):
    running_platform.api.wait_for_dag("e2e_failing")
    assert running_platform.api.import_errors() == []


def test_a_whole_nightly_run_succeeds_and_writes_every_output(running_platform, nightly_run):
    outputs = snapshot(running_platform.data_dir / "high_priorities")
    # One object per task, in the task's partition for the night, and nothing else.
    tasks = {path.split("/")[0] for path in outputs}
    assert len(tasks) == 201
    assert set(outputs) == {f"{task}/{PARTITION}/data.jsonl" for task in tasks}


def _tries(api: AirflowApi, run_id: str) -> dict[tuple[str, int], int]:
    """(task id, map index) -> try number of every task instance of a high_priorities run."""
    return {
        (ti["task_id"], ti["map_index"]): ti["try_number"]
        for ti in api.task_instances("high_priorities", run_id)
    }


def _modified(folder: Path) -> dict[str, int]:
    """Every file under `folder` -> its modification time in ns (a rewrite replaces the file)."""
    return {
        path.relative_to(folder).as_posix(): path.stat().st_mtime_ns
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_clearing_the_run_and_running_it_again_is_byte_identical(running_platform, nightly_run):
    """Equal bytes alone would also hold if the clear reran nothing: every task must have had a new
    try and every output must have been written again, with the same bytes and no extra objects."""
    api = running_platform.api
    folder = running_platform.data_dir / "high_priorities"
    before, written_before, tries_before = snapshot(folder), _modified(folder), _tries(api, nightly_run)
    api.clear_run("high_priorities", nightly_run)
    progress = api.wait_for_run("high_priorities", nightly_run, RUN_TIMEOUT)
    assert progress.state == "success"
    assert progress.task_states == {"success": 201}
    tries_after = _tries(api, nightly_run)
    assert len(tries_after) == 201 and tries_after.keys() == tries_before.keys()
    not_rerun = sorted(key for key, tries in tries_before.items() if tries_after[key] <= tries)
    assert not_rerun == [], f"{len(not_rerun)} task instances have no new try: {not_rerun[:3]}"
    written_after = _modified(folder)
    not_rewritten = sorted(path for path, mtime in written_before.items() if written_after.get(path) == mtime)
    assert not_rewritten == [], f"{len(not_rewritten)} outputs not written again: {not_rewritten[:3]}"
    assert snapshot(folder) == before


def test_a_backfill_over_three_dates_gives_three_runs_and_three_partitions(running_platform):
    api = running_platform.api
    api.wait_for_dag("sources_fanout")
    # sources_fanout runs at 06:00 UTC: its intervals start on Nov 1, 2 and 3 at 06:00.
    first = pendulum.datetime(2026, 11, 1, 6, tz="UTC")
    api.backfill("sources_fanout", first, first.add(days=2))
    runs = api.wait_for_runs("sources_fanout", "backfill", 3, RUN_TIMEOUT)
    assert sorted(run["state"] for run in runs) == ["success"] * 3
    summaries = running_platform.data_dir / "sources_fanout" / "summarize"
    assert sorted(p.name for p in summaries.iterdir()) == [
        "20261101T060000",
        "20261102T060000",
        "20261103T060000",
    ]


def test_a_failing_command_fails_after_its_retries_and_stops_downstream(running_platform):
    api = running_platform.api
    api.wait_for_dag("e2e_failing")
    run_id = api.trigger("e2e_failing", NIGHT, NIGHT.add(days=1))
    progress = api.wait_for_run("e2e_failing", run_id, 600)
    assert progress.state == "failed"
    by_task = {ti["task_id"]: ti for ti in api.task_instances("e2e_failing", run_id)}
    assert by_task["extract"]["state"] == "success"
    assert by_task["validate_strict"]["state"] == "failed"
    assert by_task["validate_strict"]["try_number"] == 3  # the first try and 2 retries
    assert by_task["clean"]["state"] == "upstream_failed"
    # The gate refused the data: nothing was written for it or after it.
    assert not (running_platform.data_dir / "e2e_failing" / "validate_strict").exists()
    assert not (running_platform.data_dir / "e2e_failing" / "clean").exists()


def test_the_capacity_planner_reads_each_tasks_duration_from_the_metadata_database(
    running_platform, nightly_run
):
    """`airkube-plan --from-db` against the platform's real database (through PgBouncer) after real runs:
    each task's duration is the median of its successful tries, as the REST API reports them."""
    from airkube_plan.durations import read_history

    api = running_platform.api
    url = running_platform.platform.env()["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    tries: dict[str, list[float]] = {}
    for run in api.runs("high_priorities"):
        for ti in api.task_instances("high_priorities", run["dag_run_id"]):
            if ti["state"] == "success":
                tries.setdefault(ti["task_id"], []).append(ti["duration"])
    assert len(tries) == 201 and max(len(v) for v in tries.values()) <= 7  # all within the window of 7
    history = read_history(url, "high_priorities")
    assert history == pytest.approx({task_id: statistics.median(values) for task_id, values in tries.items()})
    dag = ["--dag-file", str(REPO / "dags" / "high_priorities.py"), "--dag-id", "high_priorities"]
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "airkube-plan"), *dag, "--env", "prod", "--from-db", url, "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    plan = json.loads(proc.stdout)
    assert plan["durations_from"] == {"metadata database": 201}
    assert plan["failed_tasks"] == {}
    chain = [history[f"orders.{step}"] for step in ("extract", "validate", "clean", "enrich", "publish")]
    assert plan["critical_path_seconds"] >= sum(chain) + history["summarize"]


def test_restarting_with_its_port_taken_fails_clearly_and_loses_nothing(running_platform, nightly_run):
    """Last in this module: it stops and restarts the shared platform."""
    platform = running_platform.platform
    before = snapshot(running_platform.data_dir)
    platform.down()
    api_port = platform.state().ports.api
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        # SO_REUSEADDR as servers set it: the stopped api-server's connections may linger in TIME_WAIT.
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", api_port))
        other.listen()
        with pytest.raises(PlatformError, match=rf"port {api_port} \(api\) is already in use"):
            platform.up()
    assert snapshot(running_platform.data_dir) == before
    platform.up()
    api = AirflowApi(platform.api_url(), *platform.login())
    assert api.progress("high_priorities", nightly_run).task_states == {"success": 201}
