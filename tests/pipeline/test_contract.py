"""Unit tests of reading the env-var contract and its flag overrides."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airkube_pipeline.contract import Contract, parse_timestamp, split_urls
from airkube_pipeline.errors import UsageError

ENV = {
    "AIRKUBE_OUTPUT_URL": "file:///data/out",
    "AIRKUBE_INPUT_URLS": "file:///data/a\n\n  file:///data/b  \n",
    "AIRKUBE_DATA_INTERVAL_START": "2026-11-22T00:00:00+00:00",
    "AIRKUBE_RUN_ID": "manual__1",
}


def test_environment_is_read() -> None:
    contract = Contract.resolve(ENV)
    assert contract.require_output() == "file:///data/out"
    assert contract.require_inputs() == ["file:///data/a", "file:///data/b"]
    assert contract.require_interval_start() == datetime(2026, 11, 22, tzinfo=UTC)
    assert "run_id=manual__1" in contract.describe()


def test_flags_override_environment() -> None:
    contract = Contract.resolve(
        ENV, output="s3://b/out", inputs=["s3://b/in"], interval_start="2026-01-02T00:00:00Z"
    )
    assert contract.require_output() == "s3://b/out"
    assert contract.require_inputs() == ["s3://b/in"]
    assert contract.require_interval_start() == datetime(2026, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("require_output", "AIRKUBE_OUTPUT_URL"),
        ("require_inputs", "AIRKUBE_INPUT_URLS"),
        ("require_interval_start", "AIRKUBE_DATA_INTERVAL_START"),
        ("require_data_url", "AIRKUBE_DATA_URL"),
    ],
)
def test_missing_values_name_the_variable(method: str, name: str) -> None:
    contract = Contract.resolve({"AIRKUBE_OUTPUT_URL": "  ", "AIRKUBE_INPUT_URLS": "\n"})
    with pytest.raises(UsageError, match=name) as excinfo:
        getattr(contract, method)()
    assert excinfo.value.exit_code == 2


def test_timestamps_are_utc() -> None:
    assert parse_timestamp("2026-11-22T01:00:00+01:00", "X") == datetime(2026, 11, 22, tzinfo=UTC)
    assert parse_timestamp("2026-11-22T00:00:00", "X") == datetime(2026, 11, 22, tzinfo=UTC)
    with pytest.raises(UsageError, match="X is not an ISO 8601 timestamp"):
        parse_timestamp("yesterday", "X")


def test_split_urls() -> None:
    assert split_urls(None) == []
    assert split_urls("") == []
    assert split_urls("a\r\nb\n") == ["a", "b"]


def test_map_length_is_a_positive_integer_checked_with_the_output() -> None:
    assert Contract.resolve(ENV).map_length() is None
    contract = Contract.resolve({**ENV, "AIRKUBE_MAP_LENGTH": "3"})
    assert contract.map_length() == 3
    assert "map_length=3" in contract.describe()
    assert Contract.resolve({**ENV, "AIRKUBE_MAP_LENGTH": "3"}, map_length="2").map_length() == 2
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(UsageError, match="AIRKUBE_MAP_LENGTH is not a positive integer"):
            Contract.resolve({**ENV, "AIRKUBE_MAP_LENGTH": bad}).require_output()


def test_result_and_data_urls_are_optional_and_flags_win() -> None:
    """Only steps with a result write one, so an unset AIRKUBE_RESULT_URL is None, not an error."""
    unset = Contract.resolve(ENV)
    assert unset.result_url is None and unset.data_url is None
    env = {
        **ENV,
        "AIRKUBE_RESULT_URL": " file:///data/out/_result/try=1.json ",
        "AIRKUBE_DATA_URL": "file:///d",
    }
    contract = Contract.resolve(env)
    assert contract.result_url == "file:///data/out/_result/try=1.json"
    assert contract.require_data_url() == "file:///d"
    assert "data_url=file:///d" in contract.describe()
    flags = Contract.resolve(env, result="s3://b/r.json", data_url="s3://b/data")
    assert (flags.result_url, flags.require_data_url()) == ("s3://b/r.json", "s3://b/data")
