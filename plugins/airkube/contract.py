"""The contract between a DAG and its task's container: environment variables only.

Task code never imports Airflow. It learns its data interval and where to read and write from these
variables, so the same image can be run by hand with a few `export`s. The output location depends
only on (dag_id, task_id, data_interval_start) -- plus the map index of a mapped task -- so a rerun
of the same interval overwrites the same partition instead of adding a new one.

A mapped task's partition holds one sub-partition per instance (`map_index=N`). A rerun may have
fewer instances than the run before it (its expansion shrank), so each instance is also told how
many instances its run has (`AIRKUBE_MAP_LENGTH`): the task code's partition layer then records
that number in the partition and deletes the sub-partitions of instances that no longer exist, and
a reader reads exactly the instances recorded. A rerun replaces the whole partition, never adds to
it (see images/pipeline's storage module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk.types import RuntimeTaskInstanceProtocol

# Jinja, rendered by Airflow in the task's own run context. `ts_nodash` gives a key without
# colons (20261122T000000); Airflow keeps every data interval in UTC.
INTERVAL_KEY = "{{ data_interval_start | ts_nodash }}"
MAP_INDEX_SUFFIX = (
    "{% if ti.map_index is not none and ti.map_index >= 0 %}/map_index={{ ti.map_index }}{% endif %}"
)

# The variables' names. The task code (images/pipeline) must not import this library, so it spells them
# again; tests/test_contract_names.py fails when the two lists differ.
DAG_ID = "AIRKUBE_DAG_ID"
TASK_ID = "AIRKUBE_TASK_ID"
RUN_ID = "AIRKUBE_RUN_ID"
DATA_INTERVAL_START = "AIRKUBE_DATA_INTERVAL_START"
DATA_INTERVAL_END = "AIRKUBE_DATA_INTERVAL_END"
DATA_URL = "AIRKUBE_DATA_URL"
OUTPUT_URL = "AIRKUBE_OUTPUT_URL"
INPUT_URLS = "AIRKUBE_INPUT_URLS"
MAP_LENGTH = "AIRKUBE_MAP_LENGTH"
"""Set when a mapped instance starts (its run's instance count is not known at parse time)."""
RESULT_URL = "AIRKUBE_RESULT_URL"
NAMES = frozenset(
    {DAG_ID, TASK_ID, RUN_ID, DATA_INTERVAL_START, DATA_INTERVAL_END}
    | {DATA_URL, OUTPUT_URL, INPUT_URLS, MAP_LENGTH, RESULT_URL}
)
"""Every variable a task container may receive from the platform."""
# A try's own result object: a try never reads one an earlier try (or a zombie of it) left behind.
RESULT_DIR = "_result"
RESULT_FILE = "try={{ ti.try_number }}.json"


def partition_url(data_url: str, dag_id: str, task_id: str) -> str:
    """The (templated) output partition of a task for the run's data interval.

    A mapped task writes one sub-partition per map index below it; a downstream task that reads
    this URL reads those of the mapped task's latest run, all of them and no others.
    """
    return f"{data_url}/{dag_id}/{task_id}/{INTERVAL_KEY}"


def contract_env(*, data_url: str, dag_id: str, task_id: str, input_urls: list[str]) -> dict[str, str]:
    """Every environment variable a task container receives from the platform when the DAG is parsed
    (all of NAMES but MAP_LENGTH, which a mapped instance gets when it starts)."""
    return {
        DAG_ID: dag_id,
        TASK_ID: task_id,
        RUN_ID: "{{ run_id }}",
        DATA_INTERVAL_START: "{{ data_interval_start | ts }}",
        DATA_INTERVAL_END: "{{ data_interval_end | ts }}",
        DATA_URL: data_url,
        OUTPUT_URL: partition_url(data_url, dag_id, task_id) + MAP_INDEX_SUFFIX,
        INPUT_URLS: "\n".join(input_urls),
        RESULT_URL: f"{result_dir_url(data_url, dag_id, task_id)}/{RESULT_FILE}",
    }


def result_dir_url(data_url: str, dag_id: str, task_id: str) -> str:
    """The (templated) folder of a task instance's results, one object per try, inside its output
    partition: a rewrite of the partition keeps it (sub-folders are not the partition's data), and a
    reader of the partition never sees it (readers read data.jsonl objects only)."""
    return f"{partition_url(data_url, dag_id, task_id)}{MAP_INDEX_SUFFIX}/{RESULT_DIR}"


def map_length(ti: RuntimeTaskInstanceProtocol) -> int | None:
    """How many instances the mapped task of `ti` has in its run (None when `ti` is not mapped).

    Airflow 3 puts no map length in a task's context, so it is counted: the task's instances in
    the run, less those the scheduler marked `removed` when a re-expansion shrank the task (they
    keep their rows, and their map indexes, in the run).
    """
    if ti.map_index is None or ti.map_index < 0:
        return None
    query = {"dag_id": ti.dag_id, "task_ids": [ti.task_id], "run_ids": [ti.run_id]}
    return ti.get_ti_count(**query) - ti.get_ti_count(**query, states=["removed"])
