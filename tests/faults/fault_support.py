"""What the fault tests share: the platform handle, the metadata database read directly, the try
accounting, and the record of each fault's outcome that README's "Faults survived" table is made of."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pendulum
import psycopg2

from airkube_dev import components, processes, supervisor
from airkube_dev.api import AirflowApi
from airkube_dev.database import SUPERUSER
from airkube_dev.platform import Platform
from receivers import HttpReceiver, StatsdReceiver
from run_diagnosis import why_failed
from snapshots import snapshot

SLICE_DAG = "faults_slice"
NIGHT = pendulum.datetime(2026, 11, 22, tz="UTC")
RUN_TIMEOUT = 600
TaskKey = tuple[str, int]  # (task_id, map_index)


@dataclass
class FaultPlatform:
    platform: Platform
    api: AirflowApi
    slack: HttpReceiver
    datadog: HttpReceiver
    statsd: StatsdReceiver
    baseline_run: str
    """The slice's run for NIGHT, made before any fault: each fault test runs it again."""
    baseline: dict[str, str]
    """Its outputs (path -> sha256) from that fault-free run."""

    @property
    def data_dir(self) -> Path:
        return self.platform.layout.data_dir

    def pid(self, component: str) -> int:
        pid = components.running(self.platform.layout)[component]
        assert pid is not None, f"{component} is not running"
        return pid

    def pid_of_supervisor(self) -> int:
        pid = processes.read_pid(supervisor.pid_file(self.platform.layout))
        assert pid is not None, "the supervisor is not running"
        return pid

    def sql(self, query: str, *params: object) -> list[tuple]:
        """A query on the metadata database, straight to PostgreSQL as its superuser (not through the
        PgBouncer under test)."""
        layout, ports = self.platform.layout, self.platform.state().ports
        connection = psycopg2.connect(
            host=str(layout.socket_dir), port=ports.postgres, user=SUPERUSER, dbname="airflow"
        )
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchall()
        finally:
            connection.close()

    def tries(self, dag_id: str, run_id: str) -> dict[TaskKey, int]:
        rows = self.sql(
            "SELECT task_id, map_index, try_number FROM task_instance WHERE dag_id = %s AND run_id = %s",
            dag_id,
            run_id,
        )
        return {(task_id, map_index): tries for task_id, map_index, tries in rows}

    def live_scheduler_jobs(self) -> set[int]:
        """The scheduler jobs heartbeating now (every 2 s here). A killed scheduler's job keeps the state
        `running` until another scheduler finds its heartbeat older than the health threshold (30 s);
        its last heartbeat says at once that it is dead."""
        rows = self.sql(
            "SELECT id FROM job WHERE job_type = 'SchedulerJob' AND state = 'running' "
            "AND latest_heartbeat > now() - interval '10 seconds'"
        )
        return {job_id for (job_id,) in rows}

    def abandoned_tries(self, dag_id: str, run_id: str, after: dict[TaskKey, int]) -> list[tuple]:
        """The tries of the run that were given up (recorded in task_instance_history) since `after`
        (the try numbers before the fault): (task key, try number, state, queued_by_job_id)."""
        rows = self.sql(
            "SELECT task_id, map_index, try_number, state, queued_by_job_id FROM task_instance_history "
            "WHERE dag_id = %s AND run_id = %s",
            dag_id,
            run_id,
        )
        return [
            ((task_id, map_index), number, state, job)
            for task_id, map_index, number, state, job in rows
            if number > after.get((task_id, map_index), 0)
        ]

    def restarts(self) -> dict[str, int]:
        return {name: entry.restarts for name, entry in supervisor.read_status(self.platform.layout).items()}

    def idle_transactions_of_dead_processes(self) -> list[tuple]:
        """Server connections idle in a transaction for longer than a scheduler loop ever holds one."""
        return self.sql(
            "SELECT pid, state, now() - state_change FROM pg_stat_activity WHERE datname = 'airflow' "
            "AND state LIKE 'idle in transaction%%' AND now() - state_change > interval '10 seconds'"
        )


@dataclass
class FaultRun:
    """One run of the slice again (its outputs deleted first), with a fault injected during it."""

    tries_before: dict[TaskKey, int]
    jobs_before: set[int]
    restarts_before: dict[str, int]
    state: str = ""
    tries_after: dict[TaskKey, int] = field(default_factory=dict)


@contextmanager
def rerun_slice(env: FaultPlatform) -> Iterator[FaultRun]:
    """Clear the baseline run with its outputs deleted, yield while it runs (the test injects its
    fault), then wait for it to end. Deleting the outputs first means every object afterwards was
    written by this run: equal to the baseline is byte-identical and exactly once."""
    run = FaultRun(
        tries_before=env.tries(SLICE_DAG, env.baseline_run),
        jobs_before=env.live_scheduler_jobs(),
        restarts_before=env.restarts(),
    )
    remove_tree(env.data_dir / SLICE_DAG)
    env.api.clear_run(SLICE_DAG, env.baseline_run)
    yield run
    run.state = env.api.wait_for_run(SLICE_DAG, env.baseline_run, RUN_TIMEOUT).state
    run.tries_after = env.tries(SLICE_DAG, env.baseline_run)


def remove_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() or path.is_symlink() else path.rmdir()


def assert_nothing_lost(env: FaultPlatform, run: FaultRun) -> None:
    assert run.state == "success", (
        f"the run ended {run.state}:\n"
        f"{why_failed(env.api, env.platform.layout.airflow_home / 'logs', SLICE_DAG, env.baseline_run)}"
    )
    assert snapshot(env.data_dir / SLICE_DAG) == env.baseline, "outputs differ from the fault-free run"


def extra_tries(run: FaultRun) -> Counter[TaskKey]:
    """Tries beyond the one a clear costs each task, per task."""
    return (
        Counter({key: run.tries_after[key] - run.tries_before[key] - 1 for key in run.tries_after})
        - Counter()
    )  # drops zero counts


def explained_by_dead_schedulers(env: FaultPlatform, run: FaultRun) -> tuple[set[int], Counter[TaskKey]]:
    """The scheduler jobs that died during the run, and per task the tries they held (queued or
    running) that were given up: the only tries a scheduler's death may cost."""
    live = env.live_scheduler_jobs()
    abandoned = env.abandoned_tries(SLICE_DAG, env.baseline_run, run.tries_before)
    # A scheduler restarted by an earlier test may not have had its job yet when the run began: the
    # jobs that held a try of this run count too. A job declared dead while it was alive (its loop
    # stalled past the health threshold) heartbeats itself back to running: its resets stay unexplained.
    dead = (run.jobs_before | {job for _, _, _, job in abandoned if job is not None}) - live
    return dead, Counter(key for key, _, _, job in abandoned if job in dead)


def wait_until(condition: Callable[[], object], what: str, timeout: float = 120.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def successes(env: FaultPlatform, dag_id: str, run_id: str) -> int:
    return env.api.progress(dag_id, run_id).task_states.get("success", 0)


def task_processes(dag_id: str, task_id: str | None = None) -> list[int]:
    """The pids of the task commands (the container's process, run locally) of `dag_id`'s tasks."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"AIRKUBE_DAG_ID={dag_id}".encode() not in environ:
            continue
        if task_id is None or f"AIRKUBE_TASK_ID={task_id}".encode() in environ:
            found.append(int(entry.name))
    return found


def session_members(leader: int) -> list[int]:
    return processes.processes_where(processes.STAT_SESSION, leader, live_only=True)


def sigkill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class FaultOutcome:
    """One row of README's "Faults survived" table, written by the test that proved it."""

    fault: str
    platform_did: str
    lost: str
    test: str


RESULTS: list[FaultOutcome] = []


def record(fault: str, platform_did: str, lost: str, test: str) -> None:
    RESULTS.append(FaultOutcome(fault, platform_did, lost, test))
