"""sources_fanout: one extract per source that has data, found at run time.

`discover` reads the source registry (`<data root>/_registry/sources/`, written with
`airkube-pipeline register`) and returns the sources registered for the run's data interval; `extract`
is mapped over that result, one instance per source; validate, clean, enrich, publish and summarize
then read every instance's output as one dataset. A rerun of the same interval after the registry
changed has as many extract instances as sources found now, and replaces the partitions, never adds
to them. Each task publishes its output as an Airflow asset (see the UI's Assets view).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable

from airkube import TaskFamily

pipeline = TaskFamily(image="pipeline", command=["airkube-pipeline"])

with DAG(
    dag_id="sources_fanout",
    description="Runtime mapping: one extract per source found in the registry, then one dataset.",
    # Data intervals, not bare trigger times: the run at 06:00 processes the day that just ended.
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "mapping", "team:data-eng"],
    default_args={"owner": "data-eng"},
    doc_md=__doc__,
) as dag:
    discover = pipeline.task("discover", arguments=["discover"])
    extracted = pipeline.map(
        "extract", expand_from=discover, arguments=lambda source: ["extract", "--source", source]
    )
    # Every later step reads all instances' partitions of the mapped extract as one dataset.
    steps = [(step, [step]) for step in ("validate", "clean", "enrich", "publish", "summarize")]
    pipeline.chain(steps, inputs=[extracted])
