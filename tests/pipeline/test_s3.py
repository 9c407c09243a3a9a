"""The idempotency contract on ``s3://``, which is what production storage is.

moto stands in for AWS S3 because AWS cannot be reached from here: a real moto server runs on
127.0.0.1 on a free port and the steps (separate processes, using s3fs as in production) are
pointed at it only through the environment (``AWS_ENDPOINT_URL`` and fake credentials).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Pipeline

pytestmark = pytest.mark.slow

Snapshot = Callable[..., dict[str, bytes]]
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture
def s3(moto_endpoint: str, tmp_path: Path) -> Iterator[tuple[Any, str, dict[str, str]]]:
    """(s3fs filesystem for the test's own checks, fresh bucket root URL, env for the steps)."""
    s3fs = pytest.importorskip("s3fs")
    fs = s3fs.S3FileSystem(
        endpoint_url=moto_endpoint,
        key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    bucket = f"airkube-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    env = {
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        # No developer's real AWS profile may leak into the steps.
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    yield fs, f"s3://{bucket}/root", env
    fs.rm(bucket, recursive=True)


def test_rerun_on_s3_is_byte_identical_and_cleans_up(pipeline: Pipeline, s3: Any, snap: Snapshot) -> None:
    fs, root, env = s3
    pipeline.base_env.update(env)

    first = pipeline.chain(root, "orders", run_id="scheduled__1")
    before = snap(root, fs)
    assert len(before) == 5 and all(name.endswith("/data.jsonl") for name in before), sorted(before)

    stale = f"{first.urls['validate'].removeprefix('s3://')}/.tmp-0123456789abcdef"
    fs.pipe_file(stale, b'{"id":"half')
    assert len(snap(root, fs)) == 6

    second = pipeline.chain(root, "orders", run_id="manual__2")
    assert snap(root, fs) == before, "rerun on S3 must give the same objects with the same bytes"
    assert "removed stale object s3://" in second.stdout["validate"]


def test_failed_gate_on_s3_keeps_previous_output(pipeline: Pipeline, s3: Any, snap: Snapshot) -> None:
    fs, root, env = s3
    pipeline.base_env.update(env)
    run = pipeline.chain(root, "payments")
    before = snap(root, fs)

    gate = {**env, "AIRKUBE_OUTPUT_URL": run.urls["validate"], "AIRKUBE_INPUT_URLS": run.urls["extract"]}
    result = pipeline.run("validate", "--max-invalid-ratio", "0", env=gate)
    assert result.returncode == 1, pipeline.describe(result)
    assert snap(root, fs) == before


def test_missing_s3_input_exits_2(pipeline: Pipeline, s3: Any) -> None:
    _, root, env = s3
    missing = f"{root}/high_priorities/orders.validate/20261122T000000"
    result = pipeline.run(
        "clean", env={**env, "AIRKUBE_OUTPUT_URL": f"{root}/out", "AIRKUBE_INPUT_URLS": missing}
    )
    assert result.returncode == 2, pipeline.describe(result)
    assert f"input partition {missing} not found" in result.stderr


def test_mapped_rerun_with_fewer_instances_on_s3_replaces_the_partition(
    pipeline: Pipeline, s3: Any, snap: Snapshot
) -> None:
    """On S3 a folder is a key prefix: the instance the rerun no longer has must go, object by object."""
    fs, root, env = s3
    pipeline.base_env.update(env)
    parent = f"{root}/high_priorities/sources.extract/20261122T000000"
    for sources in (["orders", "payments", "refunds"], ["orders", "payments"]):
        for index, source in enumerate(sources):
            result = pipeline.run(
                "extract",
                "--source",
                source,
                env={
                    "AIRKUBE_OUTPUT_URL": f"{parent}/map_index={index}",
                    "AIRKUBE_DATA_INTERVAL_START": "2026-11-22T00:00:00+00:00",
                    "AIRKUBE_MAP_LENGTH": str(len(sources)),
                },
            )
            assert result.returncode == 0, pipeline.describe(result)
    assert sorted(snap(parent, fs)) == ["_map.json", "map_index=0/data.jsonl", "map_index=1/data.jsonl"]
    out = f"{root}/high_priorities/sources.validate/20261122T000000"
    result = pipeline.run(
        "validate", "--max-invalid-ratio", "1", env={"AIRKUBE_OUTPUT_URL": out, "AIRKUBE_INPUT_URLS": parent}
    )
    assert result.returncode == 0, pipeline.describe(result)
    assert f"from 2 object(s) under {parent}" in result.stdout


def test_registry_discover_and_result_on_s3(pipeline: Pipeline, s3: Any, snap: Snapshot) -> None:
    """The registry is listed, and results are written, through s3fs as in production."""
    fs, root, env = s3
    pipeline.base_env.update(env)
    out = f"{root}/high_priorities/sources.discover/20261122T000000"
    discover = {
        "AIRKUBE_OUTPUT_URL": out,
        "AIRKUBE_DATA_INTERVAL_START": "2026-11-22T00:00:00+00:00",
        "AIRKUBE_DATA_URL": root,
        "AIRKUBE_RESULT_URL": f"{out}/_result/try=1.json",
    }
    empty = pipeline.run("discover", env=discover)
    assert empty.returncode == 0, pipeline.describe(empty)
    assert snap(out, fs)["_result/try=1.json"] == b"[]\n"

    for source, first in (("payments", "2026-11-22"), ("orders", "2026-11-01"), ("refunds", "2026-11-23")):
        result = pipeline.run(
            "register", "--source", source, "--first-date", first, env={"AIRKUBE_DATA_URL": root}
        )
        assert result.returncode == 0, pipeline.describe(result)
    found = pipeline.run("discover", env=discover)
    assert found.returncode == 0, pipeline.describe(found)
    objects = snap(out, fs)
    assert sorted(objects) == ["_result/try=1.json", "data.jsonl"]
    assert objects["_result/try=1.json"] == b'["orders","payments"]\n'
    assert sorted(snap(f"{root}/_registry", fs)) == [
        "sources/orders.json",
        "sources/payments.json",
        "sources/refunds.json",
    ]

    removed = pipeline.run("register", "--source", "payments", "--remove", env={"AIRKUBE_DATA_URL": root})
    assert removed.returncode == 0 and "removed source payments" in removed.stdout, pipeline.describe(removed)
    again = pipeline.run("discover", env=discover)
    assert again.returncode == 0, pipeline.describe(again)
    assert snap(out, fs)["_result/try=1.json"] == b'["orders"]\n'
