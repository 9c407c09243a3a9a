"""The benchmark's baseline for a whole run: dags/high_priorities.py as BashOperators.

Same 201 tasks, same commands (`airkube-pipeline <step>`), same contract environment, so a run of
each on the local platform differs only by what the airkube local runner adds.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, CronDataIntervalTimetable
from nightly_shape import build_source_chains

DAG_ID = "high_priorities_bash"
DATA_URL = os.environ.get("AIRKUBE_DATA_URL", "file:///tmp/airkube-data")
INTERVAL = "{{ data_interval_start | ts_nodash }}"
BIN = str(Path(sys.executable).parent)


def bash_task(task_id: str, full_id: str, arguments: list[str], inputs: list[str]) -> BashOperator:
    return BashOperator(
        task_id=task_id,
        bash_command=" ".join(["airkube-pipeline", *arguments]),
        env={
            "PATH": f"{BIN}:/usr/bin:/bin",
            "AIRKUBE_DAG_ID": DAG_ID,
            "AIRKUBE_TASK_ID": full_id,
            "AIRKUBE_RUN_ID": "{{ run_id }}",
            "AIRKUBE_DATA_INTERVAL_START": "{{ data_interval_start | ts }}",
            "AIRKUBE_DATA_INTERVAL_END": "{{ data_interval_end | ts }}",
            "AIRKUBE_DATA_URL": DATA_URL,
            "AIRKUBE_OUTPUT_URL": f"{DATA_URL}/{DAG_ID}/{full_id}/{INTERVAL}",
            "AIRKUBE_INPUT_URLS": "\n".join(f"{DATA_URL}/{DAG_ID}/{i}/{INTERVAL}" for i in inputs),
        },
        retries=3,
        retry_delay=timedelta(minutes=1),
    )


with DAG(
    dag_id=DAG_ID,
    description="Benchmark baseline: high_priorities with BashOperator running the same commands.",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["benchmark"],
    default_args={"owner": "data-eng"},
) as dag:
    published = build_source_chains(bash_task)
    summary = bash_task("summarize", "summarize", ["summarize"], [t.task_id for t in published])
    published >> summary
