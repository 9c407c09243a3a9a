"""The source registry: which sources deliver data on which dates.

It lives under the data root, one small object per source, so it is plain shared state any step can
read with the storage it already has (no database, no Airflow):
``<data root>/_registry/sources/<name>.json`` holding ``{"first_date", "last_date", "name"}``
(``last_date`` null while the source is active). One object per source means registering or retiring
a source rewrites that source only, atomically, and never races a change to another one.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs

from airkube_pipeline.errors import DataQualityError, StorageError, UsageError
from airkube_pipeline.records import SOURCE_RE
from airkube_pipeline.storage import _put, _reason, serialize_value

REGISTRY_DIR = "_registry/sources"
ENTRY_SUFFIX = ".json"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Entry = dict[str, Any]


def _registry(data_url: str) -> tuple[AbstractFileSystem, str]:
    """The filesystem serving the data root and the registry folder on it."""
    fs, root = url_to_fs(data_url)
    return fs, f"{root.rstrip('/')}/{REGISTRY_DIR}"


def registry_url(data_url: str) -> str:
    """The registry folder's URL, for messages."""
    fs, folder = _registry(data_url)
    return fs.unstrip_protocol(folder)


def _check_name(name: str) -> str:
    """Source names become object names, so they must be plain (no '/', no leading dot)."""
    if not SOURCE_RE.match(name):
        raise UsageError(f"source name must match {SOURCE_RE.pattern}: {name!r}")
    return name


def _as_date(value: date | str, what: str) -> date:
    """A calendar date from a ``date`` or a ``YYYY-MM-DD`` string; a timestamp is refused because
    the registry is by day and silently dropping a time would hide a caller's mistake."""
    if isinstance(value, datetime):
        raise UsageError(f"{what} must be a date, not a timestamp: {value.isoformat()}")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(f"{what} is not a YYYY-MM-DD date: {value!r}")


def register_source(
    data_url: str, name: str, first_date: date | str, last_date: date | str | None = None
) -> str:
    """Register (or re-register, e.g. with a ``last_date`` to retire it) a source; returns the
    entry's URL. The entry is replaced atomically: a reader sees the old entry or the new one."""
    _check_name(name)
    first = _as_date(first_date, "first date")
    last = None if last_date is None else _as_date(last_date, "last date")
    if last is not None and last < first:
        raise UsageError(f"source {name}: last date {last} is before first date {first}")
    entry = {"name": name, "first_date": first.isoformat(), "last_date": last.isoformat() if last else None}
    fs, folder = _registry(data_url)
    final = f"{folder}/{name}{ENTRY_SUFFIX}"
    try:
        _put(fs, final, serialize_value(entry), tmp_dir=folder)
    except OSError as exc:
        raise StorageError(
            f"cannot write the registry entry {fs.unstrip_protocol(final)}: {_reason(exc)}; "
            "nothing was replaced, the registry keeps its previous entry"
        ) from None
    return fs.unstrip_protocol(final)


def remove_source(data_url: str, name: str) -> bool:
    """Delete a source's entry; False when there was none (removing twice is not an error)."""
    _check_name(name)
    fs, folder = _registry(data_url)
    path = f"{folder}/{name}{ENTRY_SUFFIX}"
    try:
        fs.rm_file(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StorageError(
            f"cannot remove the registry entry {fs.unstrip_protocol(path)}: {_reason(exc)}"
        ) from None
    return True


def _parse(url: str, stem: str, raw: bytes) -> tuple[Entry, date, date | None]:
    """A checked entry and its dates; anything else is a DataQualityError naming the object, because
    a registry someone edited by hand must fail loudly, not silently drop or add a source."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise DataQualityError(f"registry entry {url}: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise DataQualityError(f"registry entry {url}: not a JSON object")
    name, first, last = value.get("name"), value.get("first_date"), value.get("last_date")
    if name != stem:
        raise DataQualityError(f"registry entry {url}: name {name!r} does not match the object name")
    try:
        first_day = _as_date(first, "first_date")
        last_day = None if last is None else _as_date(last, "last_date")
    except UsageError as exc:
        raise DataQualityError(f"registry entry {url}: {exc}") from None
    if last_day is not None and last_day < first_day:
        raise DataQualityError(f"registry entry {url}: last_date {last} is before first_date {first}")
    return {"name": name, "first_date": first, "last_date": last}, first_day, last_day


def sources_for(data_url: str, day: date) -> list[Entry]:
    """The entries whose ``[first_date, last_date]`` contains ``day`` (both ends inclusive), sorted
    by name. No registry folder means no sources; objects not named ``<source>.json`` (a crashed
    writer's temp object) are not entries."""
    fs, folder = _registry(data_url)
    fs.invalidate_cache(folder)
    try:
        listing = fs.ls(folder, detail=True)
    except FileNotFoundError:
        return []
    entries: list[Entry] = []
    for item in listing:
        path = str(item["name"]).rstrip("/")
        leaf = path.rsplit("/", 1)[-1]
        stem = leaf.removesuffix(ENTRY_SUFFIX)
        if item.get("type") != "file" or stem == leaf or not SOURCE_RE.match(stem):
            continue
        try:
            raw = fs.cat_file(path)
        except FileNotFoundError:  # removed since the listing
            continue
        entry, first, last = _parse(fs.unstrip_protocol(path), stem, raw)
        if first <= day and (last is None or day <= last):
            entries.append(entry)
    return sorted(entries, key=lambda entry: entry["name"])
