"""Partition IO over fsspec: deterministic, atomic, idempotent.

A partition is a folder-like prefix holding exactly one object, ``data.jsonl``. Writing goes
to a temporary object inside the same partition and is then moved onto ``data.jsonl``, so a
reader sees the old object or the new one, never half of one; then every other object directly
inside the partition (stale temp files of a crashed attempt) is deleted, so a rerun replaces
rather than appends and leaves nothing extra behind.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass

from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from airkube_pipeline.errors import DataQualityError, InputMissingError
from airkube_pipeline.records import Record

DATA_FILE = "data.jsonl"
TMP_PREFIX = ".tmp-"


def serialize(records: Iterable[Record]) -> bytes:
    """JSON Lines with sorted keys and compact separators: equal records give equal bytes."""
    lines = [
        json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for record in records
    ]
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


@dataclass(frozen=True)
class ReadResult:
    """Records of one input partition, in sorted object-path order, and the objects they came from."""

    url: str
    records: list[Record]
    objects: list[str]


def _partition(url: str) -> tuple[AbstractFileSystem, str]:
    """The filesystem serving ``url`` and the partition path on it, without a trailing slash."""
    fs, path = url_to_fs(url)
    return fs, path.rstrip("/") or path


def read_partition(url: str) -> ReadResult:
    """Every ``data.jsonl`` under ``url``, recursively, in sorted path order.

    Recursion is what makes a mapped upstream readable: its partition holds one
    ``map_index=N/`` folder per mapped task instance.
    """
    fs, root = _partition(url)
    try:
        found = fs.find(root)
    except FileNotFoundError:
        found = []
    objects = sorted(path for path in found if path.rsplit("/", 1)[-1] == DATA_FILE)
    if not objects:
        raise InputMissingError(f"input partition {url} not found: no {DATA_FILE} under it")
    records: list[Record] = []
    for path in objects:
        with fs.open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataQualityError(
                    f"{fs.unstrip_protocol(path)} line {number}: not JSON ({exc})"
                ) from None
            if not isinstance(record, dict):
                raise DataQualityError(f"{fs.unstrip_protocol(path)} line {number}: not a JSON object")
            records.append(record)
    return ReadResult(url=url, records=records, objects=[fs.unstrip_protocol(path) for path in objects])


@dataclass(frozen=True)
class WriteResult:
    """Where the data landed, how big it is, and which stale objects were removed."""

    url: str
    size: int
    removed: list[str]


def _write_local(tmp: str, final: str, data: bytes) -> None:
    """Write, fsync and ``os.replace``: an atomic rename that overwrites on every platform.

    fsspec's LocalFileSystem.mv is ``shutil.move``, which is a rename here too but would move the
    file *into* ``final`` if that were a directory and may fall back to copy-then-delete; being
    explicit keeps the guarantee obvious.
    """
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)


def _write_remote(fs: AbstractFileSystem, tmp: str, final: str, data: bytes) -> None:
    """Upload the temp object, then server-side copy it onto the final key and delete the temp.

    On S3 an object becomes visible only once fully written, so ``data.jsonl`` appears whole or
    not at all.
    """
    with fs.open(tmp, "wb") as handle:
        handle.write(data)
    fs.mv(tmp, final)


def write_partition(url: str, records: Iterable[Record]) -> WriteResult:
    """Replace the partition's content with exactly one ``data.jsonl`` holding ``records``."""
    data = serialize(records)
    fs, root = _partition(url)
    final = f"{root}/{DATA_FILE}"
    tmp = f"{root}/{TMP_PREFIX}{uuid.uuid4().hex}"
    local = isinstance(fs, LocalFileSystem)
    try:
        if local:
            fs.makedirs(root, exist_ok=True)
            _write_local(tmp, final, data)
        else:
            _write_remote(fs, tmp, final, data)
    except BaseException:
        # Leave the previous data.jsonl as it was and try not to leave our temp object behind.
        with suppress(Exception):
            if fs.exists(tmp):
                fs.rm_file(tmp)
        raise
    removed = remove_strays(fs, root, keep=final)
    return WriteResult(url=fs.unstrip_protocol(final), size=len(data), removed=removed)


def remove_strays(fs: AbstractFileSystem, root: str, keep: str) -> list[str]:
    """Delete every object directly inside ``root`` except ``keep``; sub-folders are left alone."""
    fs.invalidate_cache(root)
    removed: list[str] = []
    for entry in fs.ls(root, detail=True):
        name = str(entry["name"]).rstrip("/")
        if entry.get("type") == "file" and name != keep:
            fs.rm_file(name)
            removed.append(fs.unstrip_protocol(name))
    return sorted(removed)
