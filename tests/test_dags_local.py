"""The repository's own mapped DAG, run end to end in local mode with the real task code."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

from airkube_pipeline.sources import register_source, remove_source, sources_for
from dag_runs import LOGICAL_DATE, run_dag_source
from paths import REPO


def _registry(sources: tuple[str, ...]) -> None:
    """The test data root's source registry holds exactly `sources`, from sources_fanout's start."""
    data_url = os.environ["AIRKUBE_DATA_URL"]
    for entry in sources_for(data_url, LOGICAL_DATE.date()):
        remove_source(data_url, entry["name"])
    for name in sources:
        register_source(data_url, name, "2026-01-01")


def test_sources_fanout_maps_one_extract_per_registered_source_and_follows_the_registry(
    runner_mode, airflow_db: Path
):
    """Runtime mapping with the real DAG file and task code: discover's result decides how many
    extract instances run; the same interval rerun after the registry changed (3 sources, then 2,
    then 4) has as many instances as sources found now, and its partitions replace the old ones."""
    runner_mode("local")
    root = Path(urlparse(os.environ["AIRKUBE_DATA_URL"]).path) / "sources_fanout"
    for sources in (("orders", "payments", "refunds"), ("orders", "payments"), ("a1", "b2", "orders", "z9")):
        _registry(sources)
        result = run_dag_source(airflow_db / "dags", (REPO / "dags" / "sources_fanout.py").read_text())
        assert result.state == "success", result.task_states
        assert result.results["discover"] == list(sources)
        assert result.task_states == {
            "discover": "success",
            **{f"extract[{i}]": "success" for i in range(len(sources))},
            **{step: "success" for step in ("validate", "clean", "enrich", "publish", "summarize")},
        }
        interval = result.data_interval_start.strftime("%Y%m%dT%H%M%S")
        extract = root / "extract" / interval
        assert sorted(p.relative_to(extract).as_posix() for p in extract.rglob("*.jsonl")) == [
            f"map_index={i}/data.jsonl" for i in range(len(sources))
        ]
        summary = (root / "summarize" / interval / "data.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in summary]
        assert sorted(row["key"] for row in rows if row["group_by"] == "source") == list(sources)


SHRINKING = """
    from datetime import timedelta

    import pendulum
    from airflow.sdk import DAG
    from airkube import TaskFamily

    # No wait between tries, so a failure shows at once; the platform minimum of 2 retries stays.
    fast = {{"owner": "data-eng", "retry_delay": timedelta(seconds=0), "retry_exponential_backoff": 0}}
    pipeline = TaskFamily(image="pipeline", command=["airkube-pipeline"], operator_kwargs=fast)
    start = pendulum.datetime(2026, 1, 1)
    with DAG("shrinking_fanout", schedule="@daily", start_date=start, catchup=False) as dag:
        extracted = pipeline.map(
            "extract", expand={{"arguments": [["extract", "--source", s] for s in {sources!r}]}}
        )
        pipeline.task("validate", arguments=["validate", "--max-invalid-ratio", "1"], inputs=[extracted])
"""


def test_a_rerun_with_fewer_mapped_instances_replaces_the_mapped_partition(
    runner_mode, airflow_db: Path, capfd
):
    """Issue 12: the same interval mapped over 3 sources, then over 2 (`dag.test()` replaces the
    interval's run): the rerun replaces the mapped partition, so the downstream task reads the 2
    instances of the rerun and not the third of the run before."""
    runner_mode("local")
    root = Path(urlparse(os.environ["AIRKUBE_DATA_URL"]).path) / "shrinking_fanout"
    logs = []
    for sources in (("orders", "payments", "refunds"), ("orders", "payments")):
        result = run_dag_source(airflow_db / "dags", SHRINKING.format(sources=sources))
        assert result.state == "success", result.task_states
        assert result.task_states == {
            **{f"extract[{i}]": "success" for i in range(len(sources))},
            "validate": "success",
        }
        logs.append(capfd.readouterr().out)
    interval = result.data_interval_start.strftime("%Y%m%dT%H%M%S")
    extract = root / "extract" / interval
    url = f"{os.environ['AIRKUBE_DATA_URL']}/shrinking_fanout/extract/{interval}"

    def reads(log: str) -> list[str]:
        return [
            line.split("validate: ", 1)[1].split(" [")[0]
            for line in log.splitlines()
            if "validate: read " in line
        ]

    (first_read,) = reads(logs[0])
    assert " from 3 object(s) " in first_read
    kept = [len((extract / f"map_index={i}" / "data.jsonl").read_text().splitlines()) for i in range(2)]
    assert reads(logs[1]) == [f"read {sum(kept)} records from 2 object(s) under {url}"]
    assert "map_length=2" in logs[1]
    assert f"removed stale object {url}/map_index=2/data.jsonl" in logs[1]
    validated = [
        json.loads(line) for line in (root / "validate" / interval / "data.jsonl").read_text().splitlines()
    ]
    assert {r["source"] for r in validated} == {"orders", "payments"}
    assert sorted(p.relative_to(extract).as_posix() for p in extract.rglob("*") if p.is_file()) == [
        "_map.json",
        "map_index=0/data.jsonl",
        "map_index=1/data.jsonl",
    ]
    assert json.loads((extract / "_map.json").read_text()) == {"map_length": 2}
