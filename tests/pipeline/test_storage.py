"""Unit tests of partition IO: deterministic bytes, atomic replace, stale-object cleanup, reads.

``memory://`` stands in for a remote object store here: like s3fs it is not a LocalFileSystem,
so it exercises the upload-then-move path; ``test_s3.py`` covers real S3 semantics with moto.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from airkube_pipeline import storage
from airkube_pipeline.errors import DataQualityError, InputMissingError

Snapshot = Callable[[str], dict[str, bytes]]
RECORDS = [{"id": "b", "amount": "1.00"}, {"id": "a", "amount": "2.00", "note": "é"}]


@pytest.fixture(params=["file", "memory"])
def partition(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An output partition URL on the local disk or on the in-memory 'remote' store."""
    if request.param == "file":
        return (tmp_path / "root" / "orders.clean" / "20261122T000000").as_uri()
    return f"memory://airkube-tests/{uuid.uuid4().hex}/orders.clean/20261122T000000"


def test_serialize_is_canonical() -> None:
    data = storage.serialize(RECORDS)
    assert data == b'{"amount":"1.00","id":"b"}\n{"amount":"2.00","id":"a","note":"\xc3\xa9"}\n'
    assert storage.serialize([{"id": "b", "amount": "1.00"}]) == storage.serialize(
        [{"amount": "1.00", "id": "b"}]
    )
    assert storage.serialize([]) == b""


def test_write_creates_exactly_one_object_and_rewrite_replaces_it(partition: str, snap: Snapshot) -> None:
    first = storage.write_partition(partition, RECORDS)
    assert first.url.endswith("/orders.clean/20261122T000000/data.jsonl")
    assert snap(partition) == {"data.jsonl": storage.serialize(RECORDS)}
    storage.write_partition(partition, RECORDS[:1])
    assert snap(partition) == {"data.jsonl": storage.serialize(RECORDS[:1])}


def test_write_removes_stale_objects_but_not_subfolders(partition: str, snap: Snapshot) -> None:
    storage.write_partition(f"{partition}/map_index=0", RECORDS)
    storage.write_partition(partition, RECORDS)
    _, root = storage._partition(partition)
    fs = storage.url_to_fs(partition)[0]
    fs.pipe_file(f"{root}/.tmp-crashed", b"half a fi")
    fs.pipe_file(f"{root}/data.jsonl.old", b"x")
    result = storage.write_partition(partition, RECORDS)
    assert [url.rsplit("/", 1)[-1] for url in result.removed] == [".tmp-crashed", "data.jsonl.old"]
    assert sorted(snap(partition)) == ["data.jsonl", "map_index=0/data.jsonl"]


def test_failed_write_leaves_previous_output_and_no_temp_object(
    partition: str, snap: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.write_partition(partition, RECORDS)
    before = snap(partition)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(storage.os, "replace", crash)
    monkeypatch.setattr(MemoryFileSystem, "mv", crash)
    with pytest.raises(OSError, match="disk on fire"):
        storage.write_partition(partition, [{"id": "new"}])
    assert snap(partition) == before


def test_local_write_uses_atomic_replace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real_replace = storage.os.replace

    def spy(src: str, dst: str) -> None:
        calls.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", spy)
    out = tmp_path / "p"
    storage.write_partition(out.as_uri(), RECORDS)
    assert len(calls) == 1
    src, dst = calls[0]
    assert Path(src).parent == out and Path(src).name.startswith(storage.TMP_PREFIX)
    assert dst == str(out / "data.jsonl")


def test_read_is_recursive_and_sorted(partition: str) -> None:
    storage.write_partition(f"{partition}/map_index=1", [{"id": "one"}])
    storage.write_partition(f"{partition}/map_index=0", [{"id": "zero"}])
    result = storage.read_partition(partition)
    assert [r["id"] for r in result.records] == ["zero", "one"]
    assert [url.rsplit("/", 2)[-2] for url in result.objects] == ["map_index=0", "map_index=1"]


def test_reading_a_missing_partition_names_it(partition: str) -> None:
    with pytest.raises(InputMissingError, match=f"input partition {partition} not found") as excinfo:
        storage.read_partition(partition)
    assert excinfo.value.exit_code == 2


def test_reading_garbage_is_a_data_error(partition: str) -> None:
    storage.write_partition(partition, [])
    _, root = storage._partition(partition)
    storage.url_to_fs(partition)[0].pipe_file(f"{root}/data.jsonl", b'{"id": 1}\n{not json\n')
    with pytest.raises(DataQualityError, match="line 2: not JSON"):
        storage.read_partition(partition)
