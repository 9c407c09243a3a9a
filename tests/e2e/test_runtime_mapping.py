"""Runtime mapping and assets end to end, on a local platform scheduling as `make dev` does.

The platform runs with production's scheduling (DAGs arrive paused; an unpaused DAG runs by its
timetable and by the assets it is scheduled on). sources_fanout (the repository's DAG file) maps
extract over what discover finds in the source registry; a test DAG is scheduled on its publish
asset. Everything is real: PostgreSQL, PgBouncer, two schedulers, the task code as local processes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pendulum
import pytest

from airkube_pipeline.sources import register_source, remove_source, sources_for
from local_platforms import StartedPlatform, started_platform
from paths import REPO

pytestmark = pytest.mark.slow

RUN_TIMEOUT = 600
STEPS = ("validate", "clean", "enrich", "publish", "summarize")
CONSUMER = """
import pendulum
from airflow.sdk import DAG

from airkube import TaskFamily, output_asset

shell = TaskFamily(image="pipeline", command=["sh", "-c"])
with DAG(
    dag_id="e2e_on_publish",
    description="Runs when sources_fanout publishes, on the interval it published.",
    schedule=[output_asset("sources_fanout", "publish")],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["test"],
    default_args={"owner": "data-eng"},
    doc_md="Records the data interval an asset-triggered run processes.",
):
    record = ['o="${AIRKUBE_OUTPUT_URL#file://}"; mkdir -p "$o"; '
              'echo "$AIRKUBE_DATA_INTERVAL_START" > "$o/interval"']
    shell.task("report", arguments=record)
    shell.map("report_each", expand={"arguments": [record, record]})  # mapped tasks render another way
"""


@pytest.fixture(scope="module")
def mapping_platform() -> Iterator[StartedPlatform]:
    dag_files = {
        "sources_fanout.py": (REPO / "dags" / "sources_fanout.py").read_text(),
        "e2e_on_publish.py": CONSUMER,
    }
    with started_platform("airkube-mapping-", dag_files, schedules=True) as started:
        for dag_id in ("sources_fanout", "e2e_on_publish"):
            started.api.wait_for_dag(dag_id)
        yield started


def set_registry(started: StartedPlatform, sources: tuple[str, ...]) -> None:
    """The platform's source registry holds exactly `sources`, as `airkube-pipeline register` leaves it."""
    data_url = f"file://{started.platform.layout.data_dir}"
    for entry in sources_for(data_url, pendulum.datetime(2026, 1, 1).date()):
        remove_source(data_url, entry["name"])
    for name in sources:
        register_source(data_url, name, "2026-01-01")


@pytest.fixture(scope="module")
def night(mapping_platform: StartedPlatform) -> pendulum.DateTime:
    """The interval the scheduler would run next: the test's run takes it, so unpausing the DAG
    starts no second, scheduled run beside it (the scheduler skips an interval that has a run)."""
    dag = mapping_platform.api.dag("sources_fanout")
    return pendulum.parse(dag["next_dagrun_data_interval_start"])


@pytest.fixture(scope="module")
def fanout_run(mapping_platform: StartedPlatform, night: pendulum.DateTime) -> str:
    api = mapping_platform.api
    set_registry(mapping_platform, ("orders", "payments", "refunds"))
    api.unpause("e2e_on_publish")
    run_id = api.trigger("sources_fanout", night, night.add(days=1))
    api.unpause("sources_fanout")  # after the trigger, as `make demo` does
    progress = api.wait_for_run("sources_fanout", run_id, RUN_TIMEOUT)
    assert progress.state == "success", progress
    return run_id


def extract_instances(started: StartedPlatform, run_id: str) -> dict[int, dict]:
    return {
        ti["map_index"]: ti
        for ti in started.api.task_instances("sources_fanout", run_id)
        if ti["task_id"] == "extract"
    }


def summarized_sources(started: StartedPlatform, night: pendulum.DateTime) -> list[str]:
    partition = (
        started.platform.layout.data_dir / "sources_fanout" / "summarize" / night.format("YYYYMMDDTHHmmss")
    )
    rows = [json.loads(line) for line in (partition / "data.jsonl").read_text().splitlines()]
    return sorted(row["key"] for row in rows if row["group_by"] == "source")


def test_dags_arrive_paused_as_in_production(mapping_platform: StartedPlatform):
    for dag_id in ("sources_fanout", "e2e_on_publish"):
        assert mapping_platform.api.dag(dag_id)["is_paused"] is True


def test_one_extract_runs_per_source_discover_found(
    mapping_platform: StartedPlatform, fanout_run: str, night
):
    assert mapping_platform.api.result("sources_fanout", fanout_run, "discover") == [
        "orders",
        "payments",
        "refunds",
    ]
    instances = extract_instances(mapping_platform, fanout_run)
    assert {i: ti["state"] for i, ti in instances.items()} == {0: "success", 1: "success", 2: "success"}
    # The UI lists each instance by what it ran, not by a bare index.
    assert instances[1]["rendered_map_index"] == "extract --source payments"
    assert summarized_sources(mapping_platform, night) == ["orders", "payments", "refunds"]


def test_a_rerun_follows_the_registry_and_replaces_never_appends(
    mapping_platform: StartedPlatform, fanout_run: str, night: pendulum.DateTime
):
    """The same interval, cleared and rerun after the stored registry changed: first fewer sources,
    then more. Each time the instances, the mapped partition and the summary are the new set's only."""
    api = mapping_platform.api
    extract = (
        mapping_platform.platform.layout.data_dir
        / "sources_fanout"
        / "extract"
        / night.format("YYYYMMDDTHHmmss")
    )
    for sources in (("orders", "payments"), ("customers", "invoices", "orders", "payments")):
        set_registry(mapping_platform, sources)
        api.clear_run("sources_fanout", fanout_run)
        progress = api.wait_for_run("sources_fanout", fanout_run, RUN_TIMEOUT)
        assert progress.state == "success", progress
        states = {i: ti["state"] for i, ti in extract_instances(mapping_platform, fanout_run).items()}
        assert {i: s for i, s in states.items() if s != "removed"} == {
            i: "success" for i in range(len(sources))
        }
        assert json.loads((extract / "_map.json").read_text()) == {"map_length": len(sources)}
        assert sorted(p.relative_to(extract).as_posix() for p in extract.rglob("data.jsonl")) == [
            f"map_index={i}/data.jsonl" for i in range(len(sources))
        ]
        assert summarized_sources(mapping_platform, night) == list(sources)


def test_every_task_publishes_its_output_as_an_asset(
    mapping_platform: StartedPlatform, fanout_run: str, night: pendulum.DateTime
):
    api = mapping_platform.api
    assets = {asset["uri"].rsplit("/", 1)[-1]: asset for asset in api.assets("/sources_fanout/")}
    assert set(assets) == {"discover", "extract", *STEPS}
    publish = assets["publish"]
    assert [(t["dag_id"], t["task_id"]) for t in publish["producing_tasks"]] == [
        ("sources_fanout", "publish")
    ]
    assert [(t["dag_id"], t["task_id"]) for t in publish["consuming_tasks"]] == [
        ("sources_fanout", "summarize")
    ]
    assert [dag["dag_id"] for dag in publish["scheduled_dags"]] == ["e2e_on_publish"]
    events = api.asset_events(
        source_dag_id="sources_fanout", source_run_id=fanout_run, source_task_id="publish"
    )
    assert events, "the run published no asset event"
    assert {event["extra"]["partition"] for event in events} == {
        f"file://{mapping_platform.platform.layout.data_dir}/sources_fanout/publish/{night.format('YYYYMMDDTHHmmss')}"
    }


def test_publishing_triggers_the_dag_scheduled_on_the_asset_for_the_published_interval(
    mapping_platform: StartedPlatform, fanout_run: str, night: pendulum.DateTime
):
    api = mapping_platform.api
    deadline = time.monotonic() + RUN_TIMEOUT
    finished: list[dict] = []
    while time.monotonic() < deadline and not finished:
        for run in api.runs("e2e_on_publish"):
            events = api.upstream_asset_events("e2e_on_publish", run["dag_run_id"])
            if any(event["source_run_id"] == fanout_run for event in events) and run["state"] in (
                "success",
                "failed",
            ):
                finished.append(run)
        time.sleep(3)
    assert finished, "no run of e2e_on_publish consumed sources_fanout's publish event"
    assert {run["run_type"] for run in finished} == {"asset_triggered"}
    assert {run["state"] for run in finished} == {"success"}
    written = mapping_platform.platform.layout.data_dir / "e2e_on_publish"
    partition = night.format("YYYYMMDDTHHmmss")
    for partition_dir in (
        written / "report" / partition,
        written / "report_each" / partition / "map_index=0",
        written / "report_each" / partition / "map_index=1",
    ):
        assert pendulum.parse((partition_dir / "interval").read_text().strip()) == night, partition_dir
