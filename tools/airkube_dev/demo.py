"""`make demo`: one full run of a DAG through the real scheduler, with progress and a summary."""

from __future__ import annotations

import sys
import time

import pendulum

from airkube_dev.api import AirflowApi, RunProgress
from airkube_dev.platform import Platform

RUN_TIMEOUT_SECONDS = 3600


def run_demo(platform: Platform, *, dag_id: str, date: str | None) -> int:
    """Trigger one run for the day `date` (default yesterday, UTC), follow it, summarize; exit code."""
    start = pendulum.parse(date, tz="UTC") if date else pendulum.yesterday("UTC")
    start = start.start_of("day")
    api = AirflowApi(platform.api_url(), *platform.login())
    api.wait_for_dag(dag_id)
    run_id = api.trigger(dag_id, start, start.add(days=1))
    # After the trigger: a DAG unpaused runs by its schedule too, and the scheduler creates no run
    # for an interval that already has one (by default the demo's day is the latest nightly interval).
    api.unpause(dag_id)
    print(f"triggered {dag_id} run {run_id} for {start.to_date_string()}; following it:", flush=True)
    started = time.monotonic()

    def show(progress: RunProgress) -> None:
        done = progress.task_states["success"] + progress.task_states["failed"]
        detail = ", ".join(f"{n} {s}" for s, n in sorted(progress.task_states.items()))
        print(
            f"  [{time.monotonic() - started:6.0f}s] {done}/{progress.total} finished ({detail})", flush=True
        )

    progress = api.wait_for_run(dag_id, run_id, RUN_TIMEOUT_SECONDS, on_progress=show)
    wall = time.monotonic() - started
    outputs = platform.layout.data_dir / dag_id
    print(
        f"\n{dag_id} {progress.state} in {wall:.0f}s: {progress.task_states['success']} tasks succeeded, "
        f"{progress.task_states['failed']} failed, {progress.task_states['upstream_failed']} not run "
        f"(upstream failed) of {progress.total}.\n"
        f"outputs: {outputs}/<task_id>/{start.format('YYYYMMDD')}T000000/data.jsonl\n"
        f"UI:      {platform.api_url()}/dags/{dag_id}/runs/{run_id}",
        file=sys.stdout,
    )
    return 0 if progress.state == "success" else 1
