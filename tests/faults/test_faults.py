"""The faults production throws at a nightly run, each injected into a run of a slice of the nightly DAG on
the real local platform (two schedulers under the supervisor, PostgreSQL behind PgBouncer, LocalExecutor).

Each test reruns the slice's run for one night with its outputs deleted, injects one fault, and proves
that the run completes, that its outputs are byte-identical to the fault-free run's (so every one was
written, exactly once), and that no task ran more tries than the fault explains: the tries a dead
scheduler held (queued or running, as task_instance_history records them) or the one task the test
killed, counted exactly. Each records its outcome for README's "Faults survived" table, which the
last test compares with the README (`make faults-table` rewrites it).

LocalExecutor cannot adopt a dead scheduler's tasks: they cost a try each. KubernetesExecutor, in
production, adopts their pods instead.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from pathlib import Path

import pytest

from airkube.pod_operator import DEFAULT_RETRIES
from airkube_dev import components
from airkube_dev.database import PgBouncer, Postgres, ServiceUser
from fault_support import (
    NIGHT,
    RESULTS,
    SLICE_DAG,
    FaultPlatform,
    assert_nothing_lost,
    explained_by_dead_schedulers,
    extra_tries,
    record,
    rerun_slice,
    session_members,
    sigkill,
    successes,
    task_processes,
    wait_until,
)
from faults_table import check_or_write_readme

pytestmark = [pytest.mark.slow, pytest.mark.faults]

NOTHING = "nothing: outputs byte-identical to a fault-free run"


def _dead_scheduler_accounting(env: FaultPlatform, run, expected_dead: int) -> int:
    """Asserts exactly `expected_dead` scheduler jobs died and every extra try is one they held;
    returns how many tries they cost."""
    dead, explained = explained_by_dead_schedulers(env, run)
    assert len(dead) == expected_dead, f"scheduler jobs that died: {dead}"
    assert extra_tries(run) == explained
    return sum(explained.values())


def _wait_for_tasks_running(env: FaultPlatform, at_least_done: int = 5) -> None:
    wait_until(lambda: successes(env, SLICE_DAG, env.baseline_run) >= at_least_done, "the run to get going")


def _healthy(env: FaultPlatform) -> bool:
    try:
        return all(status == "healthy" for status in components.health(env.platform.api_url()).values())
    except OSError:
        return False


def test_one_scheduler_sigkilled_mid_run_the_other_carries_on(fault_platform):
    env = fault_platform
    with rerun_slice(env) as run:
        _wait_for_tasks_running(env)
        victim = env.pid("scheduler-1")
        (killed_at,) = env.sql("SELECT now()")[0]
        sigkill(victim)
        wait_until(lambda: not session_members(victim), "the dead scheduler's processes to be gone", 30)
    assert_nothing_lost(env, run)
    _dead_scheduler_accounting(env, run, expected_dead=1)
    dead, _ = explained_by_dead_schedulers(env, run)
    # The survivor queued tasks that started after the kill, before the restarted scheduler's job began.
    (restarted_at,) = env.sql(
        "SELECT min(start_date) FROM job WHERE job_type = 'SchedulerJob' AND start_date > %s", killed_at
    )[0]
    survivors = tuple(run.jobs_before - dead)
    assert survivors, "no scheduler survived the kill"
    carried = env.sql(
        "SELECT count(*) FROM task_instance WHERE dag_id = %s AND run_id = %s AND queued_by_job_id IN %s "
        "AND start_date > %s AND start_date < %s",
        SLICE_DAG, env.baseline_run, survivors, killed_at, restarted_at,
    )[0][0]  # fmt: skip
    assert carried > 0, "the other scheduler started nothing while the first was down"
    assert env.restarts()["scheduler-1"] == run.restarts_before["scheduler-1"] + 1
    assert env.restarts()["scheduler-2"] == run.restarts_before["scheduler-2"]
    assert env.idle_transactions_of_dead_processes() == []
    record(
        "one scheduler SIGKILLed mid-run",
        "the other scheduler carried on; the supervisor killed what the dead one left (its LocalExecutor "
        "workers and their tasks) and restarted it; the tasks it held ran again, one more try each",
        NOTHING,
        "test_one_scheduler_sigkilled_mid_run_the_other_carries_on",
    )


def test_both_schedulers_and_the_supervisor_sigkilled_then_make_dev_resumes_the_run(fault_platform):
    env = fault_platform
    with rerun_slice(env) as run:
        _wait_for_tasks_running(env)
        schedulers = [env.pid("scheduler-1"), env.pid("scheduler-2")]
        for pid in [env.pid_of_supervisor(), *schedulers]:
            sigkill(pid)
        time.sleep(3)  # nothing restarts them: as on a VM whose process manager died with them
        assert all(components.running(env.platform.layout)[f"scheduler-{n}"] is None for n in (1, 2))
        env.platform.up()  # `make dev`
        for pid in schedulers:
            assert session_members(pid) == [], "a process of a dead scheduler outlived it"
    assert_nothing_lost(env, run)
    _dead_scheduler_accounting(env, run, expected_dead=2)
    for name in ("scheduler-1", "scheduler-2"):
        assert env.restarts()[name] == run.restarts_before[name] + 1
    assert env.idle_transactions_of_dead_processes() == []
    record(
        "both schedulers and the supervisor SIGKILLed, then `make dev`",
        "`make dev` started a supervisor, which killed what the dead schedulers left and restarted them; "
        "the restarted schedulers reset the tasks the dead ones held, which ran again, one more try each",
        NOTHING,
        "test_both_schedulers_and_the_supervisor_sigkilled_then_make_dev_resumes_the_run",
    )


def test_the_api_server_sigkilled_while_tasks_run_costs_no_try(fault_platform):
    """In Airflow 3 tasks report through the api-server: they ride out its restart, the slice's short
    tasks (their calls retried) and a 40-second one (its heartbeats failing meanwhile) alike."""
    env = fault_platform
    with rerun_slice(env) as run:
        sleeper_run = env.api.trigger("faults_sleeper", NIGHT, NIGHT.add(days=1))
        wait_until(lambda: task_processes("faults_sleeper"), "the long task to be running", 120)
        _wait_for_tasks_running(env)
        wait_until(lambda: task_processes(SLICE_DAG), "a task to be running", every=0.02)
        sigkill(env.pid("api-server"))
        time.sleep(1)
        wait_until(lambda: _healthy(env), "the api-server to answer again", 120, every=1)
    assert env.api.wait_for_run("faults_sleeper", sleeper_run, 300).state == "success"
    assert env.tries("faults_sleeper", sleeper_run) == {("sleeps", -1): 1}
    assert_nothing_lost(env, run)
    _dead_scheduler_accounting(env, run, expected_dead=0)
    assert extra_tries(run) == {}
    assert env.restarts()["api-server"] == run.restarts_before["api-server"] + 1
    record(
        "the api-server SIGKILLed while tasks run",
        "the supervisor restarted it; running tasks, a 40-second one among them, rode out the outage and "
        "reported when it was back; no task ran again",
        NOTHING,
        "test_the_api_server_sigkilled_while_tasks_run_costs_no_try",
    )


def _restart_database_service(env: FaultPlatform, service: type) -> None:
    layout, state = env.platform.layout, env.platform.state()
    instance = service(layout, state, ServiceUser.for_current_process())
    instance.stop()
    instance.start()


@pytest.mark.parametrize(
    ("service", "fault"),
    [(Postgres, "PostgreSQL restarted behind PgBouncer mid-run"), (PgBouncer, "PgBouncer restarted mid-run")],
    ids=["postgres", "pgbouncer"],
)
def test_a_database_restart_mid_run(fault_platform, service, fault):
    env = fault_platform
    with rerun_slice(env) as run:
        _wait_for_tasks_running(env)
        _restart_database_service(env, service)
        wait_until(lambda: _healthy(env), "Airflow to be healthy again", 120, every=1)
    assert_nothing_lost(env, run)
    dead, _ = explained_by_dead_schedulers(env, run)
    _dead_scheduler_accounting(env, run, expected_dead=len(dead))
    scheduler_restarts = {
        name: count - run.restarts_before[name]
        for name, count in env.restarts().items()
        if name.startswith("scheduler-") and count > run.restarts_before[name]
    }
    # Each scheduler job that died was a scheduler process that exited and that the supervisor restarted:
    # a scheduler that exits again while the database is still coming back is restarted (and dies) twice.
    supervisor_log = (env.platform.layout.logs / "supervisor.log").read_text().splitlines()[-12:]
    assert len(dead) <= sum(scheduler_restarts.values()), (
        f"dead scheduler jobs {sorted(dead)}, scheduler restarts {scheduler_restarts}; "
        "the supervisor's log ends:\n" + "\n".join(supervisor_log)
    )
    # What exits on a lost connection varies from run to run; the README's row says what holds for every run.
    did = (
        "Airflow reconnected; a component that exited on the lost connection was restarted by the "
        "supervisor, and the tasks a dead scheduler held ran again, one more try each"
    )
    record(fault, did, NOTHING, f"test_a_database_restart_mid_run[{service.__name__.lower()}]")


def test_a_task_process_sigkilled_is_retried_and_replaces_its_partition(fault_platform):
    env = fault_platform
    source = env.sql(
        "SELECT min(task_id) FROM task_instance WHERE dag_id = %s AND task_id LIKE '%%.enrich'", SLICE_DAG
    )
    target = source[0][0]
    with rerun_slice(env) as run:
        (pid,) = wait_until(lambda: task_processes(SLICE_DAG, target), f"{target}'s process", every=0.01)
        sigkill(pid)
    assert_nothing_lost(env, run)  # the downstream publish read the retry's whole object, not a half
    dead, _ = explained_by_dead_schedulers(env, run)
    assert dead == set()
    assert extra_tries(run) == {(target, -1): 1}
    record(
        "a task's process SIGKILLed",
        "the task failed and its retry replaced the partition; downstream read only whole objects",
        NOTHING,
        "test_a_task_process_sigkilled_is_retried_and_replaces_its_partition",
    )


# Names airflow and DAG, so the dag-processor parses it (its safe mode skips files naming neither).
BROKEN_DAG = 'from airflow.sdk import DAG\n\nwith DAG(dag_id="faults_broken"\n'  # unclosed: a SyntaxError


def test_a_broken_dag_file_added_mid_run_shows_an_import_error_and_the_rest_runs(fault_platform):
    env = fault_platform
    broken = env.platform.dags_folder / "faults_broken.py"
    try:
        with rerun_slice(env) as run:
            _wait_for_tasks_running(env, at_least_done=1)
            broken.write_text(BROKEN_DAG)
            errors = wait_until(
                lambda: [e for e in env.api.import_errors() if e["filename"].endswith("faults_broken.py")],
                "the import error to show",
                120,
                every=2,
            )
    finally:
        broken.unlink(missing_ok=True)
    assert "SyntaxError" in errors[0]["stack_trace"]
    assert_nothing_lost(env, run)
    assert extra_tries(run) == {}
    record(
        "a broken DAG file added while a run is going",
        "the import error showed through the REST API the UI reads; every other DAG kept running",
        NOTHING,
        "test_a_broken_dag_file_added_mid_run_shows_an_import_error_and_the_rest_runs",
    )


def _task_log(env: FaultPlatform, dag_id: str, run_id: str, task_id: str, attempt: int) -> Path:
    return (
        env.platform.layout.airflow_home
        / "logs"
        / f"dag_id={dag_id}"
        / f"run_id={run_id}"
        / f"task_id={task_id}"
        / f"attempt={attempt}.log"
    )


def test_a_task_printing_100_mb_of_log_keeps_the_log_and_the_platform_responsive(fault_platform):
    env = fault_platform
    with rerun_slice(env) as run:
        noisy_run = env.api.trigger("faults_noisy", NIGHT, NIGHT.add(days=1))
        # The slice's run is polled through the API all along (rerun_slice): the platform answers.
    noisy = env.api.wait_for_run("faults_noisy", noisy_run, 600)
    assert noisy.state == "success"
    assert_nothing_lost(env, run)
    assert extra_tries(run) == {}
    log = _task_log(env, "faults_noisy", noisy_run, "noisy", 1)
    assert log.stat().st_size >= 100_000_000
    assert b"noisy-done" in _tail(log, 4096)
    record(
        "a task printing 100 MB of log lines",
        "the log was kept whole; the API answered and the other run finished meanwhile",
        "nothing: the whole log, and the other run's outputs byte-identical",
        "test_a_task_printing_100_mb_of_log_keeps_the_log_and_the_platform_responsive",
    )


def _tail(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read()


def _fill(folder: Path) -> None:
    """Write a filler file until the file system has no byte left."""
    descriptor = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError as full:
        assert full.errno == errno.ENOSPC, full
    finally:
        os.close(descriptor)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def disk_mount(fault_platform) -> Path:
    """faults_disk's data folder on a tmpfs of its own: full and read-only are real there (the tests
    run as root, which ignores file modes)."""
    folder = fault_platform.data_dir / "faults_disk"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0777", "tmpfs", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_full_or_read_only_data_folder_fails_the_task_clearly_and_keeps_the_old_partition(
    fault_platform, disk_mount
):
    env = fault_platform
    run_id = env.api.trigger("faults_disk", NIGHT, NIGHT.add(days=1))
    assert env.api.wait_for_run("faults_disk", run_id, 300).state == "success"
    before = _files(disk_mount)
    assert list(before) == ["extract/20261122T000000/data.jsonl"]
    messages = {}
    _fill(disk_mount)
    messages["full"] = _rerun_failing(env, run_id, disk_mount, before)
    (disk_mount / "filler").unlink()
    _remount_read_only(disk_mount)
    messages["read-only"] = _rerun_failing(env, run_id, disk_mount, before)
    assert "airkube-pipeline extract: error: cannot write the output" in messages["full"]
    assert "No space left on device" in messages["full"]
    assert "Read-only file system" in messages["read-only"]
    assert "nothing was replaced" in messages["read-only"]
    record(
        "the data folder full, then read-only, under a task",
        "the task failed after its retries with `cannot write the output ...: No space left on device` "
        "(`Read-only file system`)",
        "nothing: the partition kept its previous object, no temporary object left",
        "test_a_full_or_read_only_data_folder_fails_the_task_clearly_and_keeps_the_old_partition",
    )


def _rerun_failing(env: FaultPlatform, run_id: str, folder: Path, before: dict[str, bytes]) -> str:
    """Clear faults_disk's run, expect every try to fail and the partition to stay as it was; return the
    last try's log."""
    tries = env.tries("faults_disk", run_id)[("extract", -1)]
    env.api.clear_run("faults_disk", run_id)
    assert env.api.wait_for_run("faults_disk", run_id, 300).state == "failed"
    after = env.tries("faults_disk", run_id)[("extract", -1)]
    assert after - tries == 1 + DEFAULT_RETRIES, "the first try and the library's default retries"
    assert {k: v for k, v in _files(folder).items() if k != "filler"} == before, "output changed"
    return _task_log(env, "faults_disk", run_id, "extract", after).read_text()


def _remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def test_slack_down_and_datadog_slow_degrade_alerts_not_tasks(fault_platform):
    env = fault_platform
    env.slack.server.shutdown()
    env.slack.server.server_close()  # down: connections refused from now on
    env.datadog.delay = 30.0  # far beyond the platform's alert timeout
    events_before = len(env.datadog.posts_to("/api/v1/events"))
    with rerun_slice(env) as run:
        failing_run = env.api.trigger("faults_failing", NIGHT, NIGHT.add(days=1))
        failing = env.api.wait_for_run("faults_failing", failing_run, 300)
    assert failing.state == "failed"
    assert env.tries("faults_failing", failing_run)[("always_fails", -1)] == 1 + DEFAULT_RETRIES
    assert_nothing_lost(env, run)
    assert extra_tries(run) == {}
    log = _task_log(env, "faults_failing", failing_run, "always_fails", 1 + DEFAULT_RETRIES).read_text()
    assert "Slack alert for faults_failing.always_fails" in log and "not delivered" in log
    assert "Datadog event for faults_failing.always_fails" in log
    assert len(env.datadog.posts_to("/api/v1/events")) > events_before, "Datadog was tried"
    wait_until(lambda: any("faults_failing" in line for line in env.statsd.lines()), "the task metrics", 30)
    record(
        "Slack down and Datadog slow at once",
        "each alert gave up after the platform's alert timeout and logged that it was not delivered; "
        "task metrics still reached DogStatsD; no task ran again",
        "the alerts Slack and Datadog did not take (logged); no task, try or output",
        "test_slack_down_and_datadog_slow_degrade_alerts_not_tasks",
    )


def test_the_readme_table_is_these_results():
    """README's "Faults survived" table is made from the outcomes the tests above recorded; it is
    checked only when every one of them ran and passed (`make faults-table` rewrites it)."""
    expected = [
        name
        for name in globals()
        if name.startswith("test_") and name != "test_the_readme_table_is_these_results"
    ]
    recorded = {outcome.test.split("[")[0] for outcome in RESULTS}
    if recorded != set(expected):
        pytest.skip(
            f"only {len(recorded)} of {len(expected)} fault tests recorded an outcome in this session"
        )
    check_or_write_readme(RESULTS, write=os.environ.get("AIRKUBE_WRITE_FAULTS_TABLE") == "1")
