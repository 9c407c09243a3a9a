"""One local platform for the fault suite: two schedulers under the supervisor, PostgreSQL, PgBouncer,
alert receivers, a slice of the nightly DAG and the small DAGs some faults need."""

from __future__ import annotations

import importlib.util
import textwrap
from collections.abc import Iterator

import pytest

from fault_support import NIGHT, SLICE_DAG, FaultPlatform
from local_platforms import started_platform
from paths import REPO
from snapshots import snapshot

SLICE_SOURCES = 6  # 6 x 5 steps + the summary: 31 tasks, about 20 s a run


def nightly_shape() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """high_priorities' SOURCES and STEPS, read from its file as the benchmarks' twins read them."""
    path = REPO / "bench" / "dags" / "nightly_shape.py"
    spec = importlib.util.spec_from_file_location("nightly_shape", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.nightly_shape()


HEADER = """
    from datetime import timedelta

    import pendulum
    from airflow.sdk import DAG, CronDataIntervalTimetable, TaskGroup

    from airkube import TaskFamily

    # Retried at once, so a test sees every try; the library's default number of retries stays.
    quick = {"retry_delay": timedelta(seconds=1), "retry_exponential_backoff": 0}
    dag_args = dict(
        schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["test"],
        default_args={"owner": "data-eng"},
    )
"""

SLICE = """
    SOURCES = SOURCES_LITERAL
    STEPS = STEPS_LITERAL
    pipeline = TaskFamily(
        image="pipeline", command=["airkube-pipeline"], size="small", operator_kwargs=quick
    )

    with DAG(dag_id="faults_slice", description="The first sources of high_priorities.", **dag_args):
        published = []
        for source in SOURCES:
            with TaskGroup(group_id=source):
                steps = [(s, [s, "--source", source] if s == "extract" else [s]) for s in STEPS]
                published.append(pipeline.chain(steps)[-1])
        pipeline.task("summarize", arguments=["summarize"], inputs=published, size="medium")
"""

SMALL_DAGS = """
    shell = TaskFamily(image="pipeline", command=["sh", "-c"], operator_kwargs=quick)
    pipeline = TaskFamily(image="pipeline", command=["airkube-pipeline"], operator_kwargs=quick)

    with DAG(dag_id="faults_noisy", description="One task printing 100 MB of log lines.", **dag_args):
        # 100,000 lines of 1,000 bytes, then a marker the test finds at the log's end.
        shell.task("noisy", arguments=["yes $(printf 'x%.0s' $(seq 999)) | head -n 100000; echo noisy-done"])

    with DAG(dag_id="faults_disk", description="One partition, on a full or read-only mount.", **dag_args):
        pipeline.task("extract", arguments=["extract", "--source", "orders"])

    with DAG(dag_id="faults_sleeper", description="A task outliving an api-server restart.", **dag_args):
        shell.task("sleeps", arguments=["sleep 40; echo slept"])

    with DAG(dag_id="faults_failing", description="Fails on every try: its alerts go out.", **dag_args):
        shell.task("always_fails", arguments=["echo the container failed on purpose; exit 1"])
"""


def dag_sources() -> dict[str, str]:
    sources, steps = nightly_shape()
    slice_source = SLICE.replace("SOURCES_LITERAL", repr(sources[:SLICE_SOURCES]))
    slice_source = slice_source.replace("STEPS_LITERAL", repr(steps))
    return {
        "faults_slice.py": textwrap.dedent(HEADER) + textwrap.dedent(slice_source),
        "faults_small.py": textwrap.dedent(HEADER) + textwrap.dedent(SMALL_DAGS),
    }


@pytest.fixture(scope="module")
def fault_platform() -> Iterator[FaultPlatform]:
    with started_platform("airkube-faults-", dag_sources()) as started:
        api = started.api
        for dag_id in (SLICE_DAG, "faults_noisy", "faults_disk", "faults_sleeper", "faults_failing"):
            api.wait_for_dag(dag_id)
        run_id = api.trigger(SLICE_DAG, NIGHT, NIGHT.add(days=1))
        progress = api.wait_for_run(SLICE_DAG, run_id, 600)
        assert progress.state == "success", progress
        platform = started.platform
        yield FaultPlatform(
            platform,
            api,
            started.slack,
            started.datadog,
            started.statsd,
            run_id,
            snapshot(platform.layout.data_dir / SLICE_DAG),
        )
