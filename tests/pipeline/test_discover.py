"""The source registry, ``register`` and ``discover``: the installed console script as a subprocess on
file:// storage, plus unit tests of ``airkube_pipeline.sources`` on file:// and memory://."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airkube_pipeline import sources, storage
from airkube_pipeline.errors import DataQualityError, StorageError, UsageError

if TYPE_CHECKING:
    from conftest import Pipeline

Snapshot = Callable[[str], dict[str, bytes]]
START = "2026-11-22T00:00:00+00:00"

# (first date, last date) around 2026-11-22: both ends of a range are inclusive.
REGISTRY = {
    "orders": ("2026-11-01", None),  # open-ended
    "payments": ("2026-11-22", "2026-11-22"),  # that day only
    "invoices": ("2026-11-01", "2026-11-22"),  # last day is the 22nd
    "shipments": ("2026-11-22", "2026-12-31"),  # first day is the 22nd
    "returns": ("2026-10-01", "2026-11-21"),  # retired the day before
    "refunds": ("2026-11-23", None),  # starts the day after
}


def stamp(start: str) -> str:
    return datetime.fromisoformat(start).strftime("%Y%m%dT%H%M%S")


def discover_env(root: str, start: str = START, try_number: int = 1) -> dict[str, str]:
    """The contract the platform sets on a discover task (its result URL is per try)."""
    out = f"{root}/high_priorities/sources.discover/{stamp(start)}"
    return {
        "AIRKUBE_OUTPUT_URL": out,
        "AIRKUBE_DATA_INTERVAL_START": start,
        "AIRKUBE_DATA_URL": root,
        "AIRKUBE_RESULT_URL": f"{out}/_result/try={try_number}.json",
    }


def register(pipeline: Pipeline, root: str, *args: str) -> str:
    result = pipeline.run("register", *args, env={"AIRKUBE_DATA_URL": root})
    assert result.returncode == 0, pipeline.describe(result)
    return result.stdout


def register_all(pipeline: Pipeline, root: str, registry: dict[str, tuple[str, str | None]]) -> None:
    for name, (first, last) in registry.items():
        register(
            pipeline, root, "--source", name, "--first-date", first, *(["--last-date", last] if last else [])
        )


def lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


# --- discover, end to end ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-11-21T00:00:00+00:00", ["invoices", "orders", "returns"]),
        ("2026-11-22T00:00:00+00:00", ["invoices", "orders", "payments", "shipments"]),
        ("2026-11-23T00:00:00+00:00", ["orders", "refunds", "shipments"]),
    ],
)
def test_discover_finds_exactly_the_sources_registered_for_the_date(
    pipeline: Pipeline, root_url: str, snap: Snapshot, start: str, expected: list[str]
) -> None:
    register_all(pipeline, root_url, REGISTRY)
    env = discover_env(root_url, start)
    result = pipeline.run("discover", env=env)
    assert result.returncode == 0, pipeline.describe(result)

    objects = snap(env["AIRKUBE_OUTPUT_URL"])
    assert sorted(objects) == ["_result/try=1.json", "data.jsonl"]
    records = [
        {"source": name, "first_date": REGISTRY[name][0], "last_date": REGISTRY[name][1]} for name in expected
    ]
    assert objects["data.jsonl"] == storage.serialize(records)
    assert objects["_result/try=1.json"] == json.dumps(expected, separators=(",", ":")).encode() + b"\n"

    day = start[:10]
    found = [line for line in result.stdout.splitlines() if line.startswith("discover: source ")]
    assert [line.split()[2].rstrip(":") for line in found] == expected
    assert f"discover: found {len(expected)} source(s) for {day}" in result.stdout
    assert "wrote the result (" in result.stdout and env["AIRKUBE_RESULT_URL"] in result.stdout


def test_a_rerun_is_byte_identical(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    """Same interval, same registry: the same partition and the same result, whatever the try."""
    register_all(pipeline, root_url, REGISTRY)
    first = pipeline.run("discover", env=discover_env(root_url, try_number=1))
    assert first.returncode == 0, pipeline.describe(first)
    before = snap(root_url)

    again = pipeline.run("discover", env=discover_env(root_url, try_number=1))
    assert again.returncode == 0, pipeline.describe(again)
    assert snap(root_url) == before

    out = discover_env(root_url)["AIRKUBE_OUTPUT_URL"]
    retry = pipeline.run("discover", env=discover_env(root_url, try_number=2))
    assert retry.returncode == 0, pipeline.describe(retry)
    objects = snap(out)
    assert objects["data.jsonl"] == before[out.removeprefix(root_url + "/") + "/data.jsonl"]
    assert (
        objects["_result/try=2.json"]
        == objects["_result/try=1.json"]
        == b'["invoices","orders","payments","shipments"]\n'
    )


def test_a_rerun_after_the_registry_changed_replaces_the_partition(
    pipeline: Pipeline, root_url: str, snap: Snapshot
) -> None:
    register_all(
        pipeline,
        root_url,
        {"orders": ("2026-11-01", None), "payments": ("2026-11-01", None), "refunds": ("2026-11-01", None)},
    )
    env = discover_env(root_url)
    out = env["AIRKUBE_OUTPUT_URL"]
    assert pipeline.run("discover", env=env).returncode == 0
    assert [r["source"] for r in lines(snap(out)["data.jsonl"])] == ["orders", "payments", "refunds"]

    removed = register(pipeline, root_url, "--source", "payments", "--remove")
    assert "removed source payments from" in removed
    retired = register(
        pipeline, root_url, "--source", "refunds", "--first-date", "2026-11-01", "--last-date", "2026-11-21"
    )
    assert "registered source refunds: 2026-11-01 to 2026-11-21" in retired

    rerun = pipeline.run("discover", env=discover_env(root_url, try_number=2))
    assert rerun.returncode == 0, pipeline.describe(rerun)
    objects = snap(out)
    assert sorted(objects) == ["_result/try=1.json", "_result/try=2.json", "data.jsonl"]
    assert lines(objects["data.jsonl"]) == [
        {"source": "orders", "first_date": "2026-11-01", "last_date": None}
    ]
    assert objects["_result/try=2.json"] == b'["orders"]\n'
    assert "found 1 source(s) for 2026-11-22" in rerun.stdout


def test_no_sources_is_an_empty_list_not_an_error(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    env = discover_env(root_url)
    for registry in ({}, {"refunds": ("2026-11-23", None)}):  # no registry folder, then none that day
        register_all(pipeline, root_url, registry)
        result = pipeline.run("discover", env=env)
        assert result.returncode == 0, pipeline.describe(result)
        assert f"no sources registered for 2026-11-22 in {root_url}/_registry/sources" in result.stdout
        assert "found 0 source(s)" in result.stdout
        assert snap(env["AIRKUBE_OUTPUT_URL"]) == {"data.jsonl": b"", "_result/try=1.json": b"[]\n"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "not JSON"),
        (b'["orders"]', "not a JSON object"),
        (b'{"name":"payments","first_date":"2026-11-01","last_date":null}', "does not match the object name"),
        (
            b'{"name":"orders","first_date":"2026-11-31","last_date":null}',
            "first_date is not a YYYY-MM-DD date",
        ),
        (b'{"name":"orders","first_date":"2026-11-01","last_date":"2026-10-01"}', "before first_date"),
    ],
)
def test_a_malformed_entry_exits_1_naming_it(
    pipeline: Pipeline, root_url: str, snap: Snapshot, content: bytes, problem: str
) -> None:
    """Even an entry for another date fails the step: a hand-edited registry must not be half read."""
    register_all(pipeline, root_url, {"payments": ("2026-11-22", None)})
    entry = Path(root_url.removeprefix("file://")) / "_registry/sources/orders.json"
    entry.write_bytes(content)
    env = discover_env(root_url)
    result = pipeline.run("discover", env=env)
    assert result.returncode == 1, pipeline.describe(result)
    assert f"error: registry entry {entry.as_uri()}: " in result.stderr and problem in result.stderr
    assert "Traceback" not in result.stderr
    assert snap(env["AIRKUBE_OUTPUT_URL"]) == {}


def test_a_missing_data_root_exits_2_naming_it(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    env = discover_env(root_url)
    del env["AIRKUBE_DATA_URL"]
    for args in (["discover"], ["register", "--source", "orders", "--first-date", "2026-11-01"]):
        result = pipeline.run(*args, env=env)
        assert result.returncode == 2, pipeline.describe(result)
        assert "AIRKUBE_DATA_URL is not set (or pass --data-url URL)" in result.stderr
        assert "Traceback" not in result.stderr
    assert snap(root_url) == {}


def test_the_data_url_flag_overrides_the_environment(
    pipeline: Pipeline, tmp_path: Path, snap: Snapshot
) -> None:
    env_root, flag_root = (tmp_path / "env").as_uri(), (tmp_path / "flag").as_uri()
    result = pipeline.run(
        "register", "--source", "orders", "--first-date", "2026-11-01", "--data-url", flag_root,
        env={"AIRKUBE_DATA_URL": env_root},
    )  # fmt: skip
    assert result.returncode == 0, pipeline.describe(result)
    assert snap(env_root) == {}
    assert snap(flag_root) == {
        "_registry/sources/orders.json": b'{"first_date":"2026-11-01","last_date":null,"name":"orders"}\n'
    }
    env = {**discover_env(env_root), "AIRKUBE_RESULT_URL": ""}
    result = pipeline.run("discover", "--data-url", flag_root, "--result", f"{flag_root}/r.json", env=env)
    assert result.returncode == 0, pipeline.describe(result)
    assert snap(flag_root)["r.json"] == b'["orders"]\n'


def test_without_a_result_url_discover_writes_no_result(
    pipeline: Pipeline, root_url: str, snap: Snapshot
) -> None:
    register_all(pipeline, root_url, {"orders": ("2026-11-01", None)})
    env = discover_env(root_url)
    del env["AIRKUBE_RESULT_URL"]
    result = pipeline.run("discover", env=env)
    assert result.returncode == 0, pipeline.describe(result)
    assert "AIRKUBE_RESULT_URL not set: no result written" in result.stdout
    assert list(snap(env["AIRKUBE_OUTPUT_URL"])) == ["data.jsonl"]


def test_steps_other_than_discover_write_no_result(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    previous = ""
    outputs = []
    for step in ("extract", "validate", "clean", "enrich", "publish", "summarize"):
        out = f"{root_url}/high_priorities/orders.{step}/20261122T000000"
        env = {
            "AIRKUBE_OUTPUT_URL": out,
            "AIRKUBE_INPUT_URLS": previous,
            "AIRKUBE_DATA_INTERVAL_START": START,
            "AIRKUBE_DATA_URL": root_url,
            "AIRKUBE_RESULT_URL": f"{out}/_result/try=1.json",
        }
        args = ["extract", "--source", "orders"] if step == "extract" else [step]
        result = pipeline.run(*args, env=env)
        assert result.returncode == 0, f"{step}: {pipeline.describe(result)}"
        assert "result" not in result.stdout
        outputs.append(out)
        previous = out
    objects = snap(root_url)
    assert sorted(objects) == sorted(f"{out.removeprefix(root_url + '/')}/data.jsonl" for out in outputs)


def test_an_unwritable_result_exits_3_naming_it(pipeline: Pipeline, root_url: str) -> None:
    """As in test_cli: a folder under /proc cannot be made, even by root."""
    register_all(pipeline, root_url, {"orders": ("2026-11-01", None)})
    env = {**discover_env(root_url), "AIRKUBE_RESULT_URL": "file:///proc/airkube/_result/try=1.json"}
    result = pipeline.run("discover", env=env)
    assert result.returncode == 3, pipeline.describe(result)
    assert "error: cannot write the result file:///proc/airkube/_result/try=1.json: " in result.stderr
    assert "Traceback" not in result.stderr


# --- register, end to end ----------------------------------------------------------------------


def test_register_writes_replaces_and_removes_an_entry(
    pipeline: Pipeline, root_url: str, snap: Snapshot
) -> None:
    entry = f"{root_url}/_registry/sources/orders.json"
    out = register(pipeline, root_url, "--source", "orders", "--first-date", "2026-11-01")
    assert out == f"register: registered source orders: 2026-11-01 to open-ended ({entry})\n"
    out = register(
        pipeline, root_url, "--source", "orders", "--first-date", "2026-11-01", "--last-date", "2026-11-30"
    )
    assert "2026-11-01 to 2026-11-30" in out
    retired = b'{"first_date":"2026-11-01","last_date":"2026-11-30","name":"orders"}\n'
    assert snap(root_url) == {"_registry/sources/orders.json": retired}
    assert "removed source orders" in register(pipeline, root_url, "--source", "orders", "--remove")
    assert snap(root_url) == {}
    again = register(pipeline, root_url, "--source", "orders", "--remove")
    assert again == f"register: source orders was not in {root_url}/_registry/sources\n"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--source", "../orders", "--first-date", "2026-11-01"], "source name must match"),
        (
            ["--source", "orders", "--first-date", "2026-11-02", "--last-date", "2026-11-01"],
            "is before first date",
        ),
        (["--source", "orders", "--first-date", "2026-11-31"], "not a YYYY-MM-DD date"),
        (["--source", "orders", "--first-date", "2026-11-01", "--remove"], "not allowed with"),
        (["--source", "orders", "--remove", "--last-date", "2026-11-01"], "--remove takes no"),
        (["--source", "orders"], "one of the arguments --first-date --remove is required"),
    ],
)
def test_register_refuses_a_bad_call(
    pipeline: Pipeline, root_url: str, snap: Snapshot, args: list[str], problem: str
) -> None:
    result = pipeline.run("register", *args, env={"AIRKUBE_DATA_URL": root_url})
    assert result.returncode == 2, pipeline.describe(result)
    assert problem in result.stderr and "Traceback" not in result.stderr
    assert snap(root_url) == {}


# --- the registry module ------------------------------------------------------------------------


@pytest.fixture(params=["file", "memory"])
def data_root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A data root on the local disk or on the in-memory 'remote' store (not a LocalFileSystem)."""
    if request.param == "file":
        return (tmp_path / "data").as_uri()
    return f"memory://airkube-tests/{uuid.uuid4().hex}/data"


def test_the_registry_round_trips(data_root: str, snap: Snapshot) -> None:
    url = sources.register_source(data_root, "orders", date(2026, 11, 1))
    assert url.endswith("/data/_registry/sources/orders.json")
    sources.register_source(data_root, "payments", "2026-11-22", "2026-11-22")
    assert [e["name"] for e in sources.sources_for(data_root, date(2026, 11, 22))] == ["orders", "payments"]
    assert sources.sources_for(data_root, date(2026, 11, 23)) == [
        {"name": "orders", "first_date": "2026-11-01", "last_date": None}
    ]
    assert sources.sources_for(data_root, date(2026, 10, 31)) == []
    assert sources.remove_source(data_root, "payments") is True
    assert sources.remove_source(data_root, "payments") is False
    assert sorted(snap(f"{data_root}/_registry/sources")) == ["orders.json"]


def test_objects_that_are_not_entries_are_ignored(data_root: str) -> None:
    """A crashed register's temp object, or a note someone left, is not a source."""
    sources.register_source(data_root, "orders", "2026-11-01")
    fs, folder = sources._registry(data_root)
    fs.pipe_file(f"{folder}/{storage.TMP_PREFIX}0123456789abcdef", b'{"name":')
    fs.pipe_file(f"{folder}/README.txt", b"one object per source")
    fs.makedirs(f"{folder}/old", exist_ok=True)
    fs.pipe_file(f"{folder}/old/payments.json", b"{}")
    assert [e["name"] for e in sources.sources_for(data_root, date(2026, 11, 22))] == ["orders"]


def test_no_registry_means_no_sources(data_root: str) -> None:
    assert sources.sources_for(data_root, date(2026, 11, 22)) == []
    assert sources.remove_source(data_root, "orders") is False


@pytest.mark.parametrize(
    ("name", "first", "last", "problem"),
    [
        ("a/b", "2026-11-01", None, "source name must match"),
        (".hidden", "2026-11-01", None, "source name must match"),
        ("orders", "2026-11-02", "2026-11-01", "is before first date"),
        ("orders", "22/11/2026", None, "not a YYYY-MM-DD date"),
        ("orders", datetime(2026, 11, 1, 12), None, "must be a date, not a timestamp"),
    ],
)
def test_register_source_validates_before_writing(
    data_root: str, snap: Snapshot, name: str, first: date | str, last: str | None, problem: str
) -> None:
    with pytest.raises(UsageError, match=problem):
        sources.register_source(data_root, name, first, last)
    assert snap(data_root) == {}


def test_a_malformed_entry_names_the_object(data_root: str) -> None:
    fs, folder = sources._registry(data_root)
    fs.makedirs(folder, exist_ok=True)
    fs.pipe_file(f"{folder}/orders.json", b'{"name":"orders","first_date":20261101,"last_date":null}')
    with pytest.raises(
        DataQualityError, match=r"registry entry .*/_registry/sources/orders.json: first_date"
    ):
        sources.sources_for(data_root, date(2026, 11, 22))


def test_an_unwritable_registry_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match=r"cannot write the registry entry file:///proc/airkube/_registry"):
        sources.register_source("file:///proc/airkube", "orders", "2026-11-01")
