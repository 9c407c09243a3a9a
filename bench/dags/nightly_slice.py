"""nightly_slice: 20 tasks of dags/high_priorities.py, for bench/k8s_overhead.py.

Its first 4 sources, each extract -> validate -> clean -> enrich -> publish, built with the same
TaskFamily and the same commands; no summary. Small enough that one run on the Kubernetes platform
(two pods per task) takes minutes, not an hour. Sources and steps are high_priorities' own, read by
nightly_shape (beside this file, as for the other benchmark twins), so the slice cannot drift.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, TaskGroup
from nightly_shape import nightly_shape

from airkube import TaskFamily

SLICE_SOURCES = 4
NIGHTLY_SOURCES, STEPS = nightly_shape()
SOURCES = NIGHTLY_SOURCES[:SLICE_SOURCES]

pipeline = TaskFamily(image="pipeline", command=["airkube-pipeline"], size="small")

with DAG(
    dag_id="nightly_slice",
    description="Benchmark: 4 sources of high_priorities, extract to publish (20 tasks).",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["benchmark"],
    default_args={"owner": "data-eng"},
) as dag:
    for source in SOURCES:
        with TaskGroup(group_id=source):
            steps = [(step, [step, "--source", source] if step == "extract" else [step]) for step in STEPS]
            pipeline.chain(steps)
