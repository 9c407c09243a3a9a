"""What Airflow does not store, kept in the data root: the alerts airkube sent and the capacity plans
`airkube-plan` made, one small JSON object each, read back by the platform page (airkube.page).

Why the data root (``AIRKUBE_DATA_URL``) and not a schema of airkube's own in the metadata database:
alerts are sent from task processes (the failure notifier, in worker pods), which in Airflow 3 have
no database access, as well as from the scheduler (the streak listener) and the triggerer (the
overrun callback); plans are made on a developer's machine. Storage needs no migration of its own.

Layout, under ``<AIRKUBE_DATA_URL>/_airkube/`` (the underscore keeps it apart from DAG ids)::

    alerts/<YYYY-MM-DD>/<UTC stamp>-<dag>-<task>-<kind>-<random>.json
    plans/<dag_id>/<env>/<UTC stamp>.json

Stamps are fixed-width UTC (``20261122T001500.123456Z``), so newest first is a reverse sort of the
names: nothing is parsed to order records. Each object appears whole or not at all: on a local
filesystem it is written to a ``.tmp-<random>`` name (no ``.json``) and renamed; on an object store one
PUT is already atomic (an object is visible only once fully written). Readers read ``.json`` names only
and skip objects they cannot parse, so a crashed writer never breaks the page.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

ROOT = "_airkube"
FORMAT_VERSION = 1
TMP_PREFIX = ".tmp-"
ALERT_KINDS = ("task_failed", "overrun", "escalation", "recovery")
_STAMP = "%Y%m%dT%H%M%S.%fZ"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _storage(url: str) -> Any:
    """Airflow's ObjectStoragePath (fsspec): the storage, and connections, tasks use. Imported here, not
    at module import: the failure notifier loads this module in every task process."""
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(url)


def _data_url(data_url: str | None) -> str:
    if data_url:
        return data_url.rstrip("/")
    from airkube.settings import platform_settings

    return platform_settings().data_url


def _name_part(value: str | None) -> str:
    """A DAG or task id as part of an object name; the record itself holds the exact id."""
    return _UNSAFE.sub("_", value or "-")[:100] or "-"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_STAMP)


def _encode(record: Mapping[str, Any]) -> bytes:
    """Serialized before anything is written: a record that cannot be encoded writes nothing."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _write(path: Any, data: bytes) -> None:
    """``path`` holds ``data`` whole, or keeps what it held: rename on a local filesystem (a reader sees
    the old object or the new one), a single PUT on an object store."""
    from fsspec.implementations.local import LocalFileSystem

    if not isinstance(path.fs, LocalFileSystem):
        path.write_bytes(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    try:
        with open(tmp.path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp.path, path.path)
    except BaseException:
        if os.path.exists(tmp.path):
            os.unlink(tmp.path)
        raise


def _record_names(folder: Any) -> list[Any]:
    """The finished records directly in ``folder``, newest first; none when it does not exist."""
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = [entry for entry in entries if entry.name.endswith(".json")]  # temporary names never do
    return sorted(names, key=lambda entry: entry.name, reverse=True)


def _read_all(paths: list[Any]) -> list[dict[str, Any]]:
    """Parse each object, in the order given; one that vanished or is not a record is skipped (and
    logged), not fatal. One ``cat`` of them all: an object store fetches them concurrently."""
    if not paths:
        return []
    contents = paths[0].fs.cat([path.path for path in paths], on_error="omit")
    records = []
    for path in paths:
        try:
            record = json.loads(contents[path.path])
        except (KeyError, ValueError) as err:
            log.warning("skipping unreadable record %s: %s", path, type(err).__name__)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


@dataclass(frozen=True)
class AlertRecord:
    """One alert as sent: what it said, what it was about, and which channels took it."""

    kind: str
    """task_failed (a task's final failure), overrun, escalation (N failed runs) or recovery."""
    dag_id: str
    title: str
    text: str
    delivered: dict[str, bool]
    """Channel (slack, datadog) -> whether it accepted the alert."""
    task_id: str | None = None
    run_id: str | None = None
    team: str | None = None
    """The owning team, when the alert is about one task; DAG-level alerts leave it to the reader."""
    environment: str = ""
    sent_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def as_json(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, **asdict(self)}


def write_alert(alert: AlertRecord, *, data_url: str | None = None) -> str:
    """Write one alert record; returns its URL. Raises on failure (``record_alert`` does not)."""
    if alert.kind not in ALERT_KINDS:
        raise ValueError(f"alert kind {alert.kind!r} is not one of {', '.join(ALERT_KINDS)}")
    data = _encode(alert.as_json())
    moment = datetime.fromisoformat(alert.sent_at)
    name = (
        f"{_stamp(moment)}-{_name_part(alert.dag_id)}-{_name_part(alert.task_id)}-{alert.kind}-"
        f"{uuid.uuid4().hex[:8]}.json"
    )
    path = (
        _storage(_data_url(data_url)) / ROOT / "alerts" / moment.astimezone(UTC).strftime("%Y-%m-%d") / name
    )
    _write(path, data)
    return str(path)


def record_alert(
    alert: AlertRecord, *, data_url: str | None = None, logger: logging.Logger = log
) -> str | None:
    """Write one alert record after the alert went out; never raises: the alert has been sent, and a
    storage problem must not turn into a failed task, a scheduler error or a lost triggerer loop."""
    try:
        return write_alert(alert, data_url=data_url)
    except Exception as err:
        logger.warning(
            "record of the %s alert for %s not written: %s: %s",
            alert.kind,
            alert.dag_id,
            type(err).__name__,
            err,
        )
        return None


def recent_alerts(
    *, data_url: str | None = None, days: int = 7, limit: int = 200, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Alert records of the last ``days`` UTC days (today included), newest first, at most ``limit``.

    Lists one folder per day rather than the whole alerts root, which grows by a folder a day."""
    root = _storage(_data_url(data_url)) / ROOT / "alerts"
    today = (now or datetime.now(UTC)).astimezone(UTC)
    chosen: list[Any] = []
    for back in range(days):
        day = (today - timedelta(days=back)).strftime("%Y-%m-%d")
        chosen.extend(_record_names(root / day)[: limit - len(chosen)])
        if len(chosen) >= limit:
            break
    return _read_all(chosen)


def write_plan(
    plan: Mapping[str, Any], *, data_url: str, dag_id: str, env: str, made_at: datetime | None = None
) -> str:
    """Record one capacity plan (``Plan.as_json()``) of ``dag_id`` on ``env``; returns its URL. Raises
    on failure: `airkube-plan --record` reports it to the person who ran it."""
    moment = made_at or datetime.now(UTC)
    record = {
        "version": FORMAT_VERSION,
        "dag_id": dag_id,
        "env": env,
        "made_at": moment.astimezone(UTC).isoformat(),
        "plan": dict(plan),
    }
    path = _storage(_data_url(data_url)) / ROOT / "plans" / _name_part(dag_id) / _name_part(env)
    path = path / f"{_stamp(moment)}.json"
    _write(path, _encode(record))
    return str(path)


def latest_plans(
    dag_ids: Iterable[str], *, data_url: str | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """The newest plan record per DAG and environment: ``{dag_id: {env: record}}``, for ``dag_ids``
    only (the page passes the DAGs its user may read)."""
    root = _storage(_data_url(data_url)) / ROOT / "plans"
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for dag_id in dag_ids:
        folder = root / _name_part(dag_id)
        try:
            envs = list(folder.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        for env_folder in sorted(envs, key=lambda entry: entry.name):
            for record in _read_all(_record_names(env_folder)[:3]):
                if record.get("dag_id") == dag_id:  # not another id that shares the folder name
                    found.setdefault(dag_id, {})[str(record.get("env"))] = record
                    break
    return found
