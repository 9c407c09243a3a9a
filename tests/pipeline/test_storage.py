"""Unit tests of partition IO: deterministic bytes, atomic replace, stale-object cleanup, reads.

``memory://`` stands in for a remote object store here: like s3fs it is not a LocalFileSystem,
so it exercises the upload-then-move path; ``test_s3.py`` covers real S3 semantics with moto.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from airkube_pipeline import storage
from airkube_pipeline.errors import DataQualityError, InputMissingError, StorageError, UsageError

Snapshot = Callable[[str], dict[str, bytes]]


def inside(urls: list[str]) -> list[str]:
    """The paths of ``urls`` inside the partition (memory:// URLs come back as memory:///...)."""
    return [url.split("/20261122T000000", 1)[1] for url in urls]


RECORDS = [{"id": "b", "amount": "1.00"}, {"id": "a", "amount": "2.00", "note": "é"}]


@pytest.fixture(params=["file", "memory"])
def partition(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An output partition URL on the local disk or on the in-memory 'remote' store."""
    if request.param == "file":
        return (tmp_path / "root" / "orders.clean" / "20261122T000000").as_uri()
    return f"memory://airkube-tests/{uuid.uuid4().hex}/orders.clean/20261122T000000"


@pytest.fixture
def replaces(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every (source, destination) of an os.replace made by storage, which still happens."""
    calls: list[tuple[str, str]] = []
    real_replace = storage.os.replace

    def spy(src: str, dst: str) -> None:
        calls.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", spy)
    return calls


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


def test_write_removes_stale_objects_and_instance_subpartitions(partition: str, snap: Snapshot) -> None:
    """A plain write also removes what the task wrote when it was mapped; other folders stay."""
    storage.write_partition(f"{partition}/map_index=0", RECORDS, map_length=1)
    storage.write_partition(f"{partition}/other", RECORDS)
    _, root = storage._partition(partition)
    fs = storage.url_to_fs(partition)[0]
    fs.pipe_file(f"{root}/.tmp-crashed", b"half a fi")
    fs.pipe_file(f"{root}/data.jsonl.old", b"x")
    result = storage.write_partition(partition, RECORDS)
    assert inside(result.removed) == [
        "/.tmp-crashed",
        "/_map.json",
        "/data.jsonl.old",
        "/map_index=0/data.jsonl",
    ]
    assert sorted(snap(partition)) == ["data.jsonl", "other/data.jsonl"]


def test_failed_write_leaves_previous_output_and_no_temp_object(
    partition: str, snap: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.write_partition(partition, RECORDS)
    before = snap(partition)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(storage.os, "replace", crash)
    monkeypatch.setattr(MemoryFileSystem, "mv", crash)
    with pytest.raises(StorageError, match=r"cannot write the output .*: disk on fire; nothing was replaced"):
        storage.write_partition(partition, [{"id": "new"}])
    assert snap(partition) == before


def test_local_write_uses_atomic_replace(tmp_path: Path, replaces: list[tuple[str, str]]) -> None:
    out = tmp_path / "p"
    storage.write_partition(out.as_uri(), RECORDS)
    assert len(replaces) == 1
    src, dst = replaces[0]
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


def write_run(partition: str, sources: list[str]) -> list[str]:
    """One run of a mapped task: instance i writes source i's record; returns what was removed."""
    removed: list[str] = []
    for index, source in enumerate(sources):
        result = storage.write_partition(
            f"{partition}/map_index={index}", [{"id": source}], map_length=len(sources)
        )
        removed += result.removed
    return removed


def test_mapped_rerun_with_fewer_instances_replaces_the_partition(partition: str, snap: Snapshot) -> None:
    write_run(partition, ["a", "b", "c"])
    assert [r["id"] for r in storage.read_partition(partition).records] == ["a", "b", "c"]

    removed = write_run(partition, ["a", "b"])
    assert inside(removed) == ["/map_index=2/data.jsonl"]
    assert snap(partition) == {
        "_map.json": b'{"map_length":2}\n',
        "map_index=0/data.jsonl": storage.serialize([{"id": "a"}]),
        "map_index=1/data.jsonl": storage.serialize([{"id": "b"}]),
    }
    result = storage.read_partition(partition)
    assert [r["id"] for r in result.records] == ["a", "b"]
    assert inside(result.objects) == [
        "/map_index=0/data.jsonl",
        "/map_index=1/data.jsonl",
    ]

    write_run(partition, ["a", "b", "c", "d"])
    assert [r["id"] for r in storage.read_partition(partition).records] == ["a", "b", "c", "d"]


def test_a_reader_honours_the_manifest_whatever_else_is_there(partition: str) -> None:
    """Reads exactly the instances _map.json names, in map index order (10 after 9)."""
    sources = [f"s{index:02d}" for index in range(11)]
    write_run(partition, sources)
    assert [r["id"] for r in storage.read_partition(partition).records] == sources

    fs, root = storage._partition(partition)
    fs.pipe_file(f"{root}/{storage.MAP_FILE}", storage.map_manifest(3))  # a cleanup not done yet
    assert [r["id"] for r in storage.read_partition(partition).records] == sources[:3]

    fs.rm_file(f"{root}/map_index=1/data.jsonl")
    with pytest.raises(
        InputMissingError, match=re.escape("latest run had 3 instance(s) but map_index=1 has no")
    ):
        storage.read_partition(partition)

    fs.pipe_file(f"{root}/{storage.MAP_FILE}", b'{"map_length": 0}')
    with pytest.raises(DataQualityError, match="not a map manifest"):
        storage.read_partition(partition)


def test_a_mapped_write_replaces_what_the_task_wrote_unmapped(partition: str, snap: Snapshot) -> None:
    storage.write_partition(partition, RECORDS)
    removed = write_run(partition, ["a"])
    assert inside(removed) == ["/data.jsonl"]
    assert sorted(snap(partition)) == ["_map.json", "map_index=0/data.jsonl"]


def test_concurrent_instances_of_a_shrunk_run_leave_exactly_their_partition(
    partition: str, snap: Snapshot
) -> None:
    """Instances run at the same time, each cleaning up the partition: none may fail or undo another."""
    write_run(partition, [f"old{index}" for index in range(12)])
    sources = [f"new{index}" for index in range(8)]

    def instance(index: int) -> None:
        storage.write_partition(f"{partition}/map_index={index}", [{"id": sources[index]}], map_length=8)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(instance, range(8)))
    assert sorted(snap(partition)) == ["_map.json"] + [f"map_index={i}/data.jsonl" for i in range(8)]
    assert [r["id"] for r in storage.read_partition(partition).records] == sources


@pytest.mark.parametrize(
    ("leaf", "map_length", "problem"),
    [
        ("/map_index=2", 2, "outside this run's 2 instance"),
        ("", 2, "must end in /map_index=<index>"),
        ("/map_index=01", 2, "must end in /map_index=<index>"),
        ("/map_index=0", 0, "map length must be a positive integer"),
    ],
)
def test_a_mapped_write_checks_its_map_index_before_writing(
    partition: str, snap: Snapshot, leaf: str, map_length: int, problem: str
) -> None:
    with pytest.raises(UsageError, match=problem):
        storage.write_partition(f"{partition}{leaf}", RECORDS, map_length=map_length)
    assert snap(partition) == {}


# --- task results -------------------------------------------------------------------------------


@pytest.fixture
def result_url(partition: str) -> str:
    """Where the platform puts a try's result: inside the output partition, in its own folder."""
    return f"{partition}/_result/try=1.json"


def test_write_result_is_canonical_json_and_makes_its_folder(
    partition: str, result_url: str, snap: Snapshot
) -> None:
    value = {"sources": ["orders", "payments"], "note": "é", "count": 2}
    size = storage.write_result(result_url, value)
    data = '{"count":2,"note":"é","sources":["orders","payments"]}\n'.encode()
    assert size == len(data)
    assert snap(partition) == {"_result/try=1.json": data}
    storage.write_result(result_url, [])
    assert snap(partition) == {"_result/try=1.json": b"[]\n"}


def test_a_partition_write_keeps_the_result_and_a_reader_skips_it(
    partition: str, result_url: str, snap: Snapshot
) -> None:
    storage.write_result(result_url, ["orders"])
    storage.write_partition(partition, RECORDS)
    assert sorted(snap(partition)) == ["_result/try=1.json", "data.jsonl"]
    assert storage.read_partition(partition).records == RECORDS


def test_a_failed_result_write_leaves_the_previous_result_and_no_temp_object(
    partition: str, result_url: str, snap: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash comes after the new bytes are fully in the temp object, just before the move."""
    storage.write_result(result_url, ["orders"])
    before = snap(partition)
    written: list[bytes] = []
    fs = storage.url_to_fs(partition)[0]

    def crash_after(tmp: str) -> None:
        written.append(fs.cat_file(tmp))
        raise OSError("disk on fire")

    monkeypatch.setattr(storage.os, "replace", lambda tmp, final: crash_after(tmp))
    monkeypatch.setattr(MemoryFileSystem, "mv", lambda self, tmp, final, **kwargs: crash_after(tmp))
    with pytest.raises(StorageError, match=r"cannot write the result .*/_result/try=1.json: disk on fire"):
        storage.write_result(result_url, ["orders", "payments"])
    assert written == [b'["orders","payments"]\n'], "the crash must come after the temp object was written"
    assert snap(partition) == before


def test_a_result_goes_through_a_temp_object_in_its_own_folder(
    tmp_path: Path, replaces: list[tuple[str, str]]
) -> None:
    result = tmp_path / "p" / "_result" / "try=1.json"
    storage.write_result(f"file://{result}", {"a": 1})  # as_uri() would escape the "="
    [(src, dst)] = replaces
    assert Path(src).parent == result.parent and Path(src).name.startswith(storage.TMP_PREFIX)
    assert dst == str(result)


def test_an_unwritable_result_folder_is_a_storage_error() -> None:
    """A folder under /proc cannot be made, even by root (who ignores file modes)."""
    with pytest.raises(
        StorageError, match=r"cannot write the result file:///proc/airkube/_result/try=1.json: .*kept"
    ) as excinfo:
        storage.write_result("file:///proc/airkube/_result/try=1.json", ["orders"])
    assert excinfo.value.exit_code == 3


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"orders"}, "is not JSON"),
        (float("nan"), "is not JSON"),
    ],
)
def test_a_result_that_is_not_json_fails_before_writing(
    partition: str, result_url: str, snap: Snapshot, value: object, problem: str
) -> None:
    with pytest.raises(DataQualityError, match=problem):
        storage.write_result(result_url, value)
    assert snap(partition) == {}
