"""End-to-end tests: the installed console script as a subprocess, on file:// storage."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Pipeline

Snapshot = Callable[[str], dict[str, bytes]]
PUBLISHED_FIELDS = {
    "id",
    "source",
    "event_date",
    "customer_email",
    "country",
    "amount",
    "currency",
    "region",
    "amount_usd",
}


def lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


def partition_path(url: str) -> Path:
    return Path(url.removeprefix("file://"))


def test_rerun_with_another_run_id_is_byte_identical(
    pipeline: Pipeline, root_url: str, snap: Snapshot
) -> None:
    first = pipeline.chain(root_url, "orders", run_id="scheduled__2026-11-22T00:00:00+00:00")
    before = snap(root_url)
    second = pipeline.chain(root_url, "orders", run_id="manual__rerun-after-fix")
    after = snap(root_url)

    assert first.urls == second.urls
    assert sorted(before) == sorted(after), "a rerun must leave exactly the same set of objects"
    assert before == after, "a rerun (even with another run id) must write identical bytes"
    assert len(after) == 5 and all(name.endswith("/data.jsonl") for name in after)
    published = lines(after["high_priorities/orders.publish/20261122T000000/data.jsonl"])
    assert published and all(set(record) == PUBLISHED_FIELDS for record in published)
    assert [r["id"] for r in published] == sorted(r["id"] for r in published)
    assert (
        "read" in second.stdout["publish"] and f"wrote {len(published)} records" in second.stdout["publish"]
    )
    assert second.urls["publish"] in second.stdout["publish"]


def test_rerun_removes_leftover_temp_objects(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    first = pipeline.chain(root_url, "orders")
    clean = snap(root_url)
    for step in ("extract", "clean"):
        (partition_path(first.urls[step]) / ".tmp-0123456789abcdef").write_bytes(b'{"id":"half')
    assert len(snap(root_url)) == len(clean) + 2

    second = pipeline.chain(root_url, "orders")
    assert snap(root_url) == clean
    assert "removed stale object" in second.stdout["extract"]
    assert "removed stale object" in second.stdout["clean"]


def test_output_depends_on_source_and_date(pipeline: Pipeline, tmp_path: Path) -> None:
    def published(source: str, start: str) -> bytes:
        root = (tmp_path / f"{source}-{start[:10]}").as_uri()
        run = pipeline.chain(root, source, start=start)
        return partition_path(run.urls["publish"]).joinpath("data.jsonl").read_bytes()

    base = published("orders", "2026-11-22T00:00:00+00:00")
    assert base != published("payments", "2026-11-22T00:00:00+00:00")
    assert base != published("orders", "2026-11-23T00:00:00+00:00")
    assert base == published("orders", "2026-11-22T00:00:00+00:00")


def test_validate_gate_fails_without_writing(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    extract = pipeline.contract(root_url, "orders", "extract", "2026-11-22T00:00:00+00:00", "r1")
    assert pipeline.run("extract", "--source", "orders", env=extract).returncode == 0
    validate = pipeline.contract(
        root_url, "orders", "validate", "2026-11-22T00:00:00+00:00", "r1",
        AIRKUBE_INPUT_URLS=extract["AIRKUBE_OUTPUT_URL"],
    )  # fmt: skip
    out = validate["AIRKUBE_OUTPUT_URL"]

    failed = pipeline.run("validate", "--max-invalid-ratio", "0", env=validate)
    assert failed.returncode == 1, pipeline.describe(failed)
    assert "exceeds --max-invalid-ratio 0" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert snap(out) == {}, "a failed gate must not write anything"

    ok = pipeline.run("validate", env=validate)
    assert ok.returncode == 0, pipeline.describe(ok)
    previous = snap(out)
    assert list(previous) == ["data.jsonl"]

    failed_again = pipeline.run("validate", "--max-invalid-ratio", "0", env=validate)
    assert failed_again.returncode == 1, pipeline.describe(failed_again)
    assert snap(out) == previous, "a failed gate must leave the previous output untouched"


def test_missing_output_url_exits_2(pipeline: Pipeline, root_url: str) -> None:
    env = pipeline.contract(root_url, "orders", "extract", "2026-11-22T00:00:00+00:00", "r1")
    del env["AIRKUBE_OUTPUT_URL"]
    result = pipeline.run("extract", "--source", "orders", env=env)
    assert result.returncode == 2, pipeline.describe(result)
    assert "AIRKUBE_OUTPUT_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_interval_start_exits_2(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    env = pipeline.contract(root_url, "orders", "extract", "2026-11-22T00:00:00+00:00", "r1")
    del env["AIRKUBE_DATA_INTERVAL_START"]
    result = pipeline.run("extract", "--source", "orders", env=env)
    assert result.returncode == 2, pipeline.describe(result)
    assert "AIRKUBE_DATA_INTERVAL_START is not set" in result.stderr
    assert snap(root_url) == {}


def test_missing_inputs_exit_2(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    env = pipeline.contract(root_url, "orders", "clean", "2026-11-22T00:00:00+00:00", "r1")
    no_inputs = pipeline.run("clean", env=env)
    assert no_inputs.returncode == 2, pipeline.describe(no_inputs)
    assert "AIRKUBE_INPUT_URLS is empty or not set" in no_inputs.stderr

    missing = f"{root_url}/high_priorities/orders.validate/20261122T000000"
    result = pipeline.run("clean", env={**env, "AIRKUBE_INPUT_URLS": missing})
    assert result.returncode == 2, pipeline.describe(result)
    assert f"input partition {missing} not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert snap(root_url) == {}


def test_unwritable_output_exits_3_naming_it(pipeline: Pipeline, root_url: str) -> None:
    """A folder that cannot be made (under /proc, refused even to root, who ignores file modes) stands in
    for a full or read-only volume; tests/faults runs those for real."""
    env = pipeline.contract(root_url, "orders", "extract", "2026-11-22T00:00:00+00:00", "r1")
    env["AIRKUBE_OUTPUT_URL"] = "file:///proc/airkube/orders.extract/20261122T000000"
    result = pipeline.run("extract", "--source", "orders", env=env)
    assert result.returncode == 3, pipeline.describe(result)
    output = "file:///proc/airkube/orders.extract/20261122T000000/data.jsonl"
    assert f"error: cannot write the output {output}" in result.stderr
    assert "nothing was replaced" in result.stderr
    assert "Traceback" not in result.stderr


def test_flags_override_environment(pipeline: Pipeline, tmp_path: Path, snap: Snapshot) -> None:
    env_out, flag_out = (tmp_path / "env").as_uri(), (tmp_path / "flag").as_uri()
    env = {"AIRKUBE_OUTPUT_URL": env_out, "AIRKUBE_DATA_INTERVAL_START": "2026-11-22T00:00:00+00:00"}
    result = pipeline.run(
        "extract",
        "--source",
        "orders",
        "--output",
        flag_out,
        "--interval-start",
        "2026-11-23T00:00:00Z",
        env=env,
    )
    assert result.returncode == 0, pipeline.describe(result)
    assert snap(env_out) == {}
    records = lines(snap(flag_out)["data.jsonl"])
    assert {r["event_date"] for r in records} == {"2026-11-23"}

    validated = (tmp_path / "validated").as_uri()
    result = pipeline.run(
        "validate", "--input", flag_out, "--output", validated, env={"AIRKUBE_INPUT_URLS": env_out}
    )
    assert result.returncode == 0, pipeline.describe(result)
    assert f"under {flag_out}" in result.stdout


def test_mapped_upstream_is_read_whole(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    """A mapped upstream's partition holds map_index=N/ folders; a reader must read them all."""
    parent = f"{root_url}/high_priorities/sources.extract/20261122T000000"
    counts = {}
    for index, source in enumerate(["orders", "refunds"]):
        out = f"{parent}/map_index={index}"
        env = {"AIRKUBE_OUTPUT_URL": out, "AIRKUBE_DATA_INTERVAL_START": "2026-11-22T00:00:00+00:00"}
        result = pipeline.run("extract", "--source", source, env=env)
        assert result.returncode == 0, pipeline.describe(result)
        counts[source] = len(lines(snap(out)["data.jsonl"]))

    out = f"{root_url}/high_priorities/sources.validate/20261122T000000"
    result = pipeline.run(
        "validate", "--max-invalid-ratio", "1", env={"AIRKUBE_OUTPUT_URL": out, "AIRKUBE_INPUT_URLS": parent}
    )
    assert result.returncode == 0, pipeline.describe(result)
    assert f"read {sum(counts.values())} records from 2 object(s) under {parent}" in result.stdout
    validated = lines(snap(out)["data.jsonl"])
    assert {r["source"] for r in validated} == {"orders", "refunds"}
    assert [r["source"] for r in validated] == sorted(r["source"] for r in validated), "map_index order"


def test_a_mapped_rerun_with_fewer_instances_replaces_the_partition(
    pipeline: Pipeline, root_url: str, snap: Snapshot
) -> None:
    """Issue 12 at the task code's depth: extract mapped over 3 sources, then the same interval over
    2; validate then reads the 2 instances of the rerun, not the third instance of the first run."""
    parent = f"{root_url}/high_priorities/sources.extract/20261122T000000"
    validate = {
        "AIRKUBE_OUTPUT_URL": f"{root_url}/high_priorities/sources.validate/20261122T000000",
        "AIRKUBE_INPUT_URLS": parent,
    }
    reads, extracts = [], []
    for sources in (["orders", "payments", "refunds"], ["orders", "payments"]):
        for index, source in enumerate(sources):
            env = {
                "AIRKUBE_OUTPUT_URL": f"{parent}/map_index={index}",
                "AIRKUBE_DATA_INTERVAL_START": "2026-11-22T00:00:00+00:00",
                "AIRKUBE_MAP_LENGTH": str(len(sources)),
            }
            result = pipeline.run("extract", "--source", source, env=env)
            assert result.returncode == 0, pipeline.describe(result)
            extracts.append(result.stdout)
        result = pipeline.run("validate", "--max-invalid-ratio", "1", env=validate)
        assert result.returncode == 0, pipeline.describe(result)
        reads.append(next(line for line in result.stdout.splitlines() if line.startswith("validate: read")))
    # The rerun's first instance removes the instance the rerun no longer has.
    assert f"removed stale object {parent}/map_index=2/data.jsonl" in extracts[3]
    assert "map_length=2" in extracts[3]
    assert " from 3 object(s) " in reads[0]
    objects = snap(parent)
    assert sorted(objects) == ["_map.json", "map_index=0/data.jsonl", "map_index=1/data.jsonl"]
    kept = sum(len(lines(data)) for name, data in objects.items() if name.endswith(".jsonl"))
    assert reads[1] == f"validate: read {kept} records from 2 object(s) under {parent}"
    validated = lines(snap(validate["AIRKUBE_OUTPUT_URL"])["data.jsonl"])
    assert {r["source"] for r in validated} == {"orders", "payments"}


def test_a_bad_map_length_exits_2_without_writing(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    out = f"{root_url}/high_priorities/sources.extract/20261122T000000/map_index=2"
    env = {"AIRKUBE_OUTPUT_URL": out, "AIRKUBE_DATA_INTERVAL_START": "2026-11-22T00:00:00+00:00"}
    for length, problem in [("two", "AIRKUBE_MAP_LENGTH is not a positive integer"), ("2", "outside")]:
        result = pipeline.run("extract", "--source", "orders", env={**env, "AIRKUBE_MAP_LENGTH": length})
        assert result.returncode == 2, pipeline.describe(result)
        assert problem in result.stderr and "Traceback" not in result.stderr
    assert snap(root_url) == {}


def test_summarize_fans_in_over_publish_outputs(pipeline: Pipeline, root_url: str, snap: Snapshot) -> None:
    sources = ["orders", "payments", "refunds", "returns"]
    publish_urls = [pipeline.chain(root_url, source).urls["publish"] for source in sources]
    expected: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for url in publish_urls:
        for record in lines(snap(url)["data.jsonl"]):
            for group_by in ("source", "region"):
                count, total = expected.get((group_by, record[group_by]), (0, Decimal(0)))
                expected[(group_by, record[group_by])] = (count + 1, total + Decimal(record["amount_usd"]))

    out = f"{root_url}/high_priorities/summary/20261122T000000"
    env = {"AIRKUBE_OUTPUT_URL": out, "AIRKUBE_INPUT_URLS": "\n".join(publish_urls)}
    result = pipeline.run("summarize", env=env)
    assert result.returncode == 0, pipeline.describe(result)
    assert f"summarizing {len(sources)} input partition(s)" in result.stdout

    rows = lines(snap(out)["data.jsonl"])
    got = {(r["group_by"], r["key"]): (r["records"], Decimal(r["amount_usd"])) for r in rows}
    assert got == expected
    assert Counter(r["group_by"] for r in rows)["source"] == len(sources)
    by_group = {
        g: sum(Decimal(r["amount_usd"]) for r in rows if r["group_by"] == g) for g in ("source", "region")
    }
    assert by_group["source"] == by_group["region"] > 0

    rerun = pipeline.run("summarize", env={**env, "AIRKUBE_INPUT_URLS": "\n".join(reversed(publish_urls))})
    assert rerun.returncode == 0, pipeline.describe(rerun)
    assert lines(snap(out)["data.jsonl"]) == rows, "summary rows are sorted, whatever the input order"


def test_unknown_step_and_bad_ratio_are_usage_errors(pipeline: Pipeline, root_url: str) -> None:
    assert pipeline.run("transmogrify").returncode == 2
    bad = pipeline.run("validate", "--max-invalid-ratio", "1.5", "--output", root_url, "--input", root_url)
    assert bad.returncode == 2
    assert "must be between 0 and 1" in bad.stderr
