"""The contract's variable names agree on both sides: the library that sets them and the task code that
reads them (which must not import the library, so it spells them again), and the benchmark twins that
set them by hand."""

from __future__ import annotations

import re

import pytest

import airkube_pipeline.contract as pipeline_contract
from airkube import contract
from paths import REPO

BENCH_TWINS = sorted((REPO / "bench" / "dags").glob("high_priorities_*.py"))


def test_the_library_sets_every_name_of_its_contract_and_no_other():
    parsed = contract.contract_env(data_url="file:///data", dag_id="d", task_id="t", input_urls=[])
    assert set(parsed) | {contract.MAP_LENGTH} == contract.NAMES


def test_the_task_code_reads_exactly_the_names_the_library_sets():
    read = {value for name, value in vars(pipeline_contract).items() if name.startswith("ENV_")}
    assert read == contract.NAMES, (
        f"only in the library: {sorted(contract.NAMES - read)}; only in the task code: "
        f"{sorted(read - contract.NAMES)}"
    )


@pytest.mark.parametrize("twin", BENCH_TWINS, ids=lambda path: path.name)
def test_the_benchmark_twins_set_only_names_of_the_contract(twin):
    spelled = set(re.findall(r'"(AIRKUBE_[A-Z_]+)":', twin.read_text()))
    assert spelled, f"{twin.name} sets no contract variable: has the twin changed shape?"
    assert spelled <= contract.NAMES, f"{twin.name} spells {sorted(spelled - contract.NAMES)}"
