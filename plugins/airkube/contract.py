"""The contract between a DAG and its task's container: environment variables only.

Task code never imports Airflow. It learns its data interval and where to read and write from these
variables, so the same image can be run by hand with a few `export`s. The output location depends
only on (dag_id, task_id, data_interval_start) -- plus the map index of a mapped task -- so a rerun
of the same interval overwrites the same partition instead of adding a new one.
"""

from __future__ import annotations

# Jinja, rendered by Airflow in the task's own run context. `ts_nodash` gives a key without
# colons (20261122T000000); Airflow keeps every data interval in UTC.
INTERVAL_KEY = "{{ data_interval_start | ts_nodash }}"
MAP_INDEX_SUFFIX = (
    "{% if ti.map_index is not none and ti.map_index >= 0 %}/map_index={{ ti.map_index }}{% endif %}"
)

DATA_URL = "AIRKUBE_DATA_URL"
OUTPUT_URL = "AIRKUBE_OUTPUT_URL"
INPUT_URLS = "AIRKUBE_INPUT_URLS"


def partition_url(data_url: str, dag_id: str, task_id: str) -> str:
    """The (templated) output partition of a task for the run's data interval.

    A mapped task writes one sub-partition per map index below it; a downstream task that reads
    this URL reads them all.
    """
    return f"{data_url}/{dag_id}/{task_id}/{INTERVAL_KEY}"


def contract_env(*, data_url: str, dag_id: str, task_id: str, input_urls: list[str]) -> dict[str, str]:
    """Every environment variable a task container receives from the platform."""
    return {
        "AIRKUBE_DAG_ID": dag_id,
        "AIRKUBE_TASK_ID": task_id,
        "AIRKUBE_RUN_ID": "{{ run_id }}",
        "AIRKUBE_DATA_INTERVAL_START": "{{ data_interval_start | ts }}",
        "AIRKUBE_DATA_INTERVAL_END": "{{ data_interval_end | ts }}",
        DATA_URL: data_url,
        OUTPUT_URL: partition_url(data_url, dag_id, task_id) + MAP_INDEX_SUFFIX,
        INPUT_URLS: "\n".join(input_urls),
    }
