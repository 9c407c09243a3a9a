"""sources_fanout: the small dynamically mapped pipeline.

Extracts a list of sources with one mapped task (one instance per source, listed here; in real use
often the XCom of an upstream task), then validates, cleans, enriches, publishes and summarizes
all instances' output together.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable

from airkube import TaskTemplate

SOURCES = ("orders", "payments", "refunds")

pipeline = TaskTemplate(image="pipeline", command=["airkube-pipeline"])

with DAG(
    dag_id="sources_fanout",
    description="Dynamic task mapping over sources: one extract instance per source, one summary.",
    # Data intervals, not bare trigger times: the run at midnight processes the day that just ended.
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "mapping", "team:data-eng"],
    default_args={"owner": "data-eng"},
) as dag:
    extracted = pipeline.map(
        "extract", expand={"arguments": [["extract", "--source", source] for source in SOURCES]}
    )
    # Every later step reads all instances' partitions of the mapped extract as one dataset.
    steps = [(step, [step]) for step in ("validate", "clean", "enrich", "publish", "summarize")]
    pipeline.chain(steps, inputs=[extracted])
