"""Partition IO over fsspec: deterministic, atomic, idempotent.

A partition is a folder-like prefix holding the output of its task's latest run and nothing else:

- a plain partition holds exactly one object, ``data.jsonl``;
- a mapped partition (a mapped task's) holds ``_map.json``, naming how many instances the task's
  latest run had (``{"map_length":N}``), and one plain sub-partition ``map_index=i/`` per instance
  ``i < N``.

Writing goes to a temporary object and is then moved onto its final name, so a reader sees the old
object or the new one, never half of one. After a plain write, every other object directly inside
the partition (stale temp files of a crashed attempt) and any ``map_index=*/`` sub-partition (the
task was mapped before) is deleted, so a rerun replaces rather than appends. A mapped instance
writes its own sub-partition the same way, then ``_map.json`` (the same bytes from every instance
of a run), then deletes what the run does not own: sub-partitions ``map_index=i`` with ``i >= N``
left by a run with more instances, and any other object directly in the partition. Instances of
one run only ever delete what none of them writes, so they may run concurrently.

A reader honours ``_map.json``: it reads exactly ``map_index=0`` to ``map_index=N-1`` and fails
when one is missing, whatever else is there.

A step's result (``write_result``) is one small JSON object written the same atomic way; the
platform puts it in a ``_result/`` folder inside the output partition, which partition writes keep
and partition readers skip (they read ``data.jsonl`` objects only).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from airkube_pipeline.errors import DataQualityError, InputMissingError, StorageError, UsageError
from airkube_pipeline.records import Record

DATA_FILE = "data.jsonl"
MAP_FILE = "_map.json"
"""The manifest of a mapped partition; the leading underscore hides it from Hive-style readers."""
MAP_INDEX_PREFIX = "map_index="
TMP_PREFIX = ".tmp-"
_MAP_INDEX = re.compile(rf"{re.escape(MAP_INDEX_PREFIX)}(0|[1-9][0-9]*)")


def serialize(records: Iterable[Record]) -> bytes:
    """JSON Lines with sorted keys and compact separators: equal records give equal bytes."""
    lines = [
        json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for record in records
    ]
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def map_manifest(map_length: int) -> bytes:
    """The bytes of ``_map.json`` for a run of ``map_length`` instances."""
    return json.dumps({"map_length": map_length}, separators=(",", ":")).encode("utf-8") + b"\n"


@dataclass(frozen=True)
class ReadResult:
    """Records of one input partition, in object order, and the objects they came from."""

    url: str
    records: list[Record]
    objects: list[str]


def _partition(url: str) -> tuple[AbstractFileSystem, str]:
    """The filesystem serving ``url`` and the partition path on it, without a trailing slash."""
    fs, path = url_to_fs(url)
    return fs, path.rstrip("/") or path


def _map_length(fs: AbstractFileSystem, root: str) -> int | None:
    """N from the partition's ``_map.json``; None when the partition has none (it is not mapped)."""
    path = f"{root}/{MAP_FILE}"
    try:
        raw = fs.cat_file(path)
    except FileNotFoundError:
        return None
    try:
        value = json.loads(raw)["map_length"]
    except (ValueError, TypeError, KeyError):
        value = None
    if type(value) is not int or value < 1:
        raise DataQualityError(f"{fs.unstrip_protocol(path)}: not a map manifest: {raw[:80]!r}")
    return value


def _objects(url: str, fs: AbstractFileSystem, root: str) -> list[str]:
    """The ``data.jsonl`` objects a reader of the partition reads, in order."""
    map_length = _map_length(fs, root)
    if map_length is not None:
        objects = [f"{root}/{MAP_INDEX_PREFIX}{index}/{DATA_FILE}" for index in range(map_length)]
        missing = [path.rsplit("/", 2)[-2] for path in objects if not fs.exists(path)]
        if missing:
            raise InputMissingError(
                f"input partition {url} is incomplete: its latest run had {map_length} instance(s) but "
                f"{', '.join(missing)} has no {DATA_FILE}"
            )
        return objects
    # No manifest: a plain partition, or a mapped one written without a map length (by hand, or by
    # an image older than _map.json): every data.jsonl under it.
    try:
        found = fs.find(root)
    except FileNotFoundError:
        found = []
    return sorted(path for path in found if path.rsplit("/", 1)[-1] == DATA_FILE)


def read_partition(url: str) -> ReadResult:
    """The records of a partition: its ``data.jsonl``, or those of the instances its ``_map.json``
    names, in map index order. Without ``_map.json``, every ``data.jsonl`` under ``url`` in sorted
    path order."""
    fs, root = _partition(url)
    objects = _objects(url, fs, root)
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


def _put(fs: AbstractFileSystem, final: str, data: bytes, tmp_dir: str) -> None:
    """Write ``final`` atomically through a temp object in ``tmp_dir`` (a folder only this writer
    cleans, so a concurrent writer's cleanup cannot delete the temp object mid-write)."""
    tmp = f"{tmp_dir}/{TMP_PREFIX}{uuid.uuid4().hex}"
    try:
        if isinstance(fs, LocalFileSystem):
            fs.makedirs(tmp_dir, exist_ok=True)
            _write_local(tmp, final, data)
        else:
            _write_remote(fs, tmp, final, data)
    except BaseException:
        # Leave the previous object as it was and try not to leave our temp object behind.
        with suppress(Exception):
            if fs.exists(tmp):
                fs.rm_file(tmp)
        raise


def _reason(exc: OSError) -> str:
    """What went wrong, and where, in one phrase (an object store's errors have no strerror)."""
    return f"{exc.strerror} ({exc.filename})" if exc.strerror else str(exc)


def _split_mapped(url: str, root: str, map_length: int) -> str:
    """The mapped partition holding the instance sub-partition ``root``; checks its map index."""
    if map_length < 1:
        raise UsageError(f"map length must be a positive integer, not {map_length}")
    parent, _, leaf = root.rpartition("/")
    match = _MAP_INDEX.fullmatch(leaf)
    if not parent or match is None:
        raise UsageError(f"output {url} of a mapped instance must end in /{MAP_INDEX_PREFIX}<index>")
    if int(match.group(1)) >= map_length:
        raise UsageError(f"output {url} is outside this run's {map_length} instance(s)")
    return parent


def write_partition(url: str, records: Iterable[Record], *, map_length: int | None = None) -> WriteResult:
    """Replace the partition's content with exactly one ``data.jsonl`` holding ``records``.

    With ``map_length`` (the number of instances of the mapped task's current run), ``url`` is
    this instance's ``.../map_index=i`` sub-partition: after writing it, the mapped partition
    above it is made the current run's (``_map.json``, and the stale instances removed).
    """
    data = serialize(records)
    fs, root = _partition(url)
    parent = None if map_length is None else _split_mapped(url, root, map_length)
    final = f"{root}/{DATA_FILE}"
    try:
        _put(fs, final, data, tmp_dir=root)
    except OSError as exc:  # ENOSPC, EROFS, EACCES, an object store's refusal
        raise StorageError(
            f"cannot write the output {fs.unstrip_protocol(final)}: {_reason(exc)}; nothing was replaced, "
            "the partition keeps its previous content"
        ) from None
    removed = remove_strays(fs, root, keep=final)
    if parent is not None and map_length is not None:
        manifest = f"{parent}/{MAP_FILE}"
        _put(fs, manifest, map_manifest(map_length), tmp_dir=root)
        removed += remove_strays(fs, parent, keep=manifest)
        removed += remove_subpartitions(fs, parent, keep=map_length)
    else:
        removed += remove_subpartitions(fs, root, keep=0)
    return WriteResult(url=fs.unstrip_protocol(final), size=len(data), removed=sorted(removed))


def serialize_value(value: Any) -> bytes:
    """One JSON document with sorted keys and compact separators, newline-terminated: equal values
    give equal bytes. NaN and infinities are refused: the reader parses strict JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return f"{text}\n".encode()


def write_result(url: str, value: Any) -> int:
    """Write a step's result (the value the operator turns into the task's XCom) atomically to
    ``url``; returns its size in bytes.

    The temp object goes in the result's own folder, never the output partition's, so the partition
    cleanup of a concurrent mapped instance cannot remove it mid-write. A value that is not JSON fails
    here, naming it, before anything is written. The size limit is the operator's alone
    (plugins/airkube/results.py), one number in one place: an oversized result fails the task there.
    """
    fs, final = url_to_fs(url)
    folder, _, name = final.rpartition("/")
    if not folder or not name:
        raise UsageError(f"result URL {url} must name an object inside a folder, e.g. .../_result/try=1.json")
    try:
        data = serialize_value(value)
    except (TypeError, ValueError) as exc:
        raise DataQualityError(f"the result for {fs.unstrip_protocol(final)} is not JSON: {exc}") from None
    try:
        _put(fs, final, data, tmp_dir=folder)
    except OSError as exc:
        raise StorageError(
            f"cannot write the result {fs.unstrip_protocol(final)}: {_reason(exc)}; nothing was replaced, "
            "the previous result (if any) is kept"
        ) from None
    return len(data)


def _rm_file(fs: AbstractFileSystem, path: str) -> bool:
    """Delete one object; False when it was already gone (another instance of the run was first)."""
    try:
        fs.rm_file(path)
    except FileNotFoundError:
        return False
    return True


def remove_strays(fs: AbstractFileSystem, root: str, keep: str) -> list[str]:
    """Delete every object directly inside ``root`` except ``keep``; sub-folders are left alone."""
    fs.invalidate_cache(root)
    removed: list[str] = []
    for entry in fs.ls(root, detail=True):
        name = str(entry["name"]).rstrip("/")
        if entry.get("type") == "file" and name != keep and _rm_file(fs, name):
            removed.append(fs.unstrip_protocol(name))
    return sorted(removed)


def remove_subpartitions(fs: AbstractFileSystem, root: str, keep: int) -> list[str]:
    """Delete every ``map_index=i/`` sub-partition of ``root`` with ``i >= keep``, whole."""
    fs.invalidate_cache(root)
    try:
        entries = fs.ls(root, detail=True)
    except FileNotFoundError:
        return []
    removed: list[str] = []
    for entry in entries:
        name = str(entry["name"]).rstrip("/")
        match = _MAP_INDEX.fullmatch(name.rsplit("/", 1)[-1])
        if entry.get("type") != "directory" or match is None or int(match.group(1)) < keep:
            continue
        fs.invalidate_cache(name)
        with suppress(FileNotFoundError):
            removed += [fs.unstrip_protocol(path) for path in sorted(fs.find(name)) if _rm_file(fs, path)]
        # What is left is empty folders (a local disk has them; an object store has none).
        with suppress(FileNotFoundError):
            if fs.isdir(name):
                fs.rm(name, recursive=True)
    return sorted(removed)
