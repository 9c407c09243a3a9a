"""Why a run failed, in the assertion message: CI keeps no platform logs, so a failed run must say
which tasks failed, on which try, and what their logs said."""

from __future__ import annotations

from pathlib import Path

from airkube_dev.api import AirflowApi

LINE_LIMIT = 400
TAIL = 12


def task_log(task_logs: Path, dag_id: str, task_id: str, try_number: int) -> str:
    """A task try's log as Airflow wrote it under `task_logs` (its base_log_folder)."""
    found = sorted(
        (task_logs / f"dag_id={dag_id}").glob(f"run_id=*/task_id={task_id}/**/attempt={try_number}.log")
    )
    return "\n".join(path.read_text(errors="replace") for path in found)


def why_failed(api: AirflowApi, task_logs: Path, dag_id: str, run_id: str) -> str:
    """Every task instance not successful, with its try number, and for the failed ones their container's
    output and error lines (or the log's tail when it has none)."""
    lines = []
    for ti in api.task_instances(dag_id, run_id):
        if ti["state"] in ("success", "skipped"):
            continue
        key = f"{ti['task_id']}[{ti['map_index']}]"
        lines.append(f"{key}: {ti['state']}, try {ti['try_number']}")
        if ti["state"] != "failed":
            continue
        log = task_log(task_logs, dag_id, ti["task_id"], ti["try_number"]).splitlines()
        wanted = [line for line in log if "[base]" in line or '"level":"error"' in line] or log[-TAIL:]
        lines.extend(f"  {line[:LINE_LIMIT]}" for line in wanted)
    return "\n".join(lines)
