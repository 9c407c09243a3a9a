"""A task's result: a small JSON value its container leaves in storage, read back as its XCom.

KubernetesPodOperator's own XCom path runs a sidecar and execs into the pod to read a file, which
needs exec rights and has known hangs; airkube's containers write the result next to their output
instead (``AIRKUBE_RESULT_URL``, one object per try), so the same code works with the local runner
and on Kubernetes, and the operator reads it once the container succeeded. Storage is reached through
Airflow's ObjectStoragePath (fsspec), as the task code reaches it.
"""

from __future__ import annotations

import json
from typing import Any

from airkube.errors import AirkubeDagError

MAX_RESULT_BYTES = 64 * 1024
"""A result is for small values (a list of sources, counts, file names); data goes in the partition.
XComs live in the metadata database, which every scheduler loop reads."""


def _path(url: str) -> Any:
    from airflow.sdk import ObjectStoragePath  # only a running task needs it, never a DAG parse

    return ObjectStoragePath(url)


def clear_results(result_dir_url: str) -> None:
    """Delete what earlier tries left, so this try can only ever return its own result."""
    folder = _path(result_dir_url)
    if folder.exists():
        folder.rmdir(recursive=True)


def read_result(result_url: str, *, dag_id: str, task_id: str) -> Any | None:
    """The value the container left at ``result_url``; None when it left none.

    A result larger than MAX_RESULT_BYTES or not JSON is an AirkubeDagError (the task fails, no
    retry: the same container would write the same thing again)."""
    path = _path(result_url)
    if not path.exists():
        return None
    with path.open("rb") as handle:
        raw = handle.read(MAX_RESULT_BYTES + 1)
    if len(raw) > MAX_RESULT_BYTES:
        raise AirkubeDagError(
            dag_id,
            task_id,
            "result",
            f"{result_url} is larger than {MAX_RESULT_BYTES} bytes; a result is for small values, "
            "write data to the output partition instead",
        )
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise AirkubeDagError(dag_id, task_id, "result", f"{result_url} is not JSON: {err}") from None
