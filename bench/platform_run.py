"""Whole runs of the nightly DAG on the real local platform, measured side by side.

1. Wall time of a full high_priorities run (airkube's local runner) against the same DAG of
   BashOperators running the same commands (bench/dags/high_priorities_bash.py), alternating runs,
   medians; goal airkube / bash <= 1.15.
2. Peak server-side PostgreSQL connections (pg_stat_activity) during a full run, with Airflow going
   through PgBouncer and, after a restart, straight to PostgreSQL; goal: through PgBouncer, never
   above its pool size.
Also reports the platform's peak resident memory (every process of it, summed).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import pendulum
import psutil
import psycopg2

from airkube_dev import components
from airkube_dev.api import AirflowApi
from airkube_dev.database import POOL_SIZE, SUPERUSER
from airkube_dev.layout import Layout, Ports
from airkube_dev.platform import Platform
from airkube_dev.processes import free_port, read_pid

REPO = Path(__file__).resolve().parents[1]
GOAL = 1.15
RUN_TIMEOUT = 3600
DAG_FILES = [REPO / "dags" / "high_priorities.py", *(REPO / "bench" / "dags").glob("*.py")]


class Sampler(threading.Thread):
    """Every 0.25 s: server-side connections to the airflow database and the platform's memory.
    The memory is that of the run straight to PostgreSQL (the sampler of the last run)."""

    def __init__(self, platform: Platform) -> None:
        super().__init__(daemon=True)
        self.platform = platform
        self.peak_connections = 0
        self.peak_pss = 0
        self.running = True

    def reset(self) -> None:
        self.peak_connections = 0

    def run(self) -> None:
        layout, ports = self.platform.layout, self.platform.state().ports
        connection = psycopg2.connect(
            host=str(layout.socket_dir), port=ports.postgres, user=SUPERUSER, dbname="postgres"
        )
        connection.autocommit = True
        with connection.cursor() as cursor:
            while self.running:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = 'airflow' AND backend_type = 'client backend'"
                )
                self.peak_connections = max(self.peak_connections, cursor.fetchone()[0])
                self.peak_pss = max(self.peak_pss, platform_pss(self.platform))
                time.sleep(0.25)
        connection.close()


def platform_pss(platform: Platform) -> int:
    """Proportional resident memory (PSS: a page shared by n processes counts 1/n in each) of every
    process of the platform: components and their workers, PostgreSQL, PgBouncer, the tasks' own
    processes. Summed RSS would count the pages forked workers share many times over."""
    roots = [pid for pid in components.running(platform.layout).values() if pid]
    roots += [
        pid
        for pid in (
            read_pid(platform.layout.pgdata / "postmaster.pid"),
            read_pid(platform.layout.postgres_dir / "pgbouncer" / "pgbouncer.pid"),
        )
        if pid
    ]
    total = 0
    for pid in roots:
        try:
            process = psutil.Process(pid)
            for member in [process, *process.children(recursive=True)]:
                total += member.memory_full_info().pss
        except psutil.Error:
            continue
    return total


def timed_run(api: AirflowApi, dag_id: str, day: pendulum.DateTime) -> float:
    started = time.monotonic()
    run_id = api.trigger(dag_id, day, day.add(days=1))
    progress = api.wait_for_run(dag_id, run_id, RUN_TIMEOUT)
    if progress.state != "success":
        raise SystemExit(f"{dag_id} run {run_id} ended {progress.state}: {dict(progress.task_states)}")
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="alternating runs per side (default 3)")
    parser.add_argument(
        "--schedulers", type=int, default=Platform.schedulers, help="schedulers (default: make dev's)"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="airkube-bench-"))
    root.chmod(0o755)
    dags = root / "dags"
    dags.mkdir()
    for dag_file in DAG_FILES:
        (dags / dag_file.name).symlink_to(dag_file)
    platform = Platform(Layout(root / "state"), dags_folder=dags, schedulers=args.schedulers, schedules=False)
    first_day = pendulum.datetime(2026, 10, 1, tz="UTC")
    try:
        platform.up(Ports(postgres=free_port(), pgbouncer=free_port(), api=free_port()))
        api = AirflowApi(platform.api_url(), *platform.login())
        for dag_id in ("high_priorities", "high_priorities_bash"):
            api.wait_for_dag(dag_id)
        sampler = Sampler(platform)
        sampler.start()
        seconds: dict[str, list[float]] = {"high_priorities": [], "high_priorities_bash": []}
        for index in range(args.runs):
            for dag_id, values in seconds.items():
                values.append(timed_run(api, dag_id, first_day.add(days=index)))
                print(f"  run {index + 1}: {dag_id:22} {values[-1]:6.1f}s", flush=True)
        peak_pgbouncer = sampler.peak_connections
        sampler.running = False
        sampler.join()

        platform.down()
        platform.via_pgbouncer = False
        platform.up()
        api = AirflowApi(platform.api_url(), *platform.login())
        sampler = Sampler(platform)
        sampler.start()
        direct_seconds = timed_run(api, "high_priorities", first_day.add(days=args.runs))
        peak_direct = sampler.peak_connections
        sampler.running = False
        sampler.join()
        peak_pss = sampler.peak_pss
    finally:
        platform.down()
        shutil.rmtree(root, ignore_errors=True)

    airkube = statistics.median(seconds["high_priorities"])
    bash = statistics.median(seconds["high_priorities_bash"])
    ratio = airkube / bash
    print(
        f"\nwhole run of high_priorities (201 tasks), median of {args.runs} alternating runs, "
        f"{args.schedulers} scheduler(s) sharing {platform.parallelism} task slots"
    )
    print(f"  airkube local runner  {airkube:7.1f}s")
    print(f"  BashOperator          {bash:7.1f}s")
    print(f"  ratio {ratio:.3f} {'meets' if ratio <= GOAL else 'MISSES'} the goal airkube / bash <= {GOAL}")
    print("peak server-side PostgreSQL connections during a whole run (pg_stat_activity)")
    verdict = "within" if peak_pgbouncer <= POOL_SIZE else "ABOVE"
    print(f"  through PgBouncer     {peak_pgbouncer:4d}  ({verdict} its pool size of {POOL_SIZE})")
    print(f"  straight to Postgres  {peak_direct:4d}  (that run took {direct_seconds:.1f}s)")
    print(f"platform peak memory: {peak_pss / 2**20:.0f} MiB (PSS of all its processes, summed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
