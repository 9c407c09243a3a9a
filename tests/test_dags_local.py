"""The repository's own mapped DAG, run end to end in local mode with the real task code."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

from dag_runs import run_dag_source
from paths import REPO


def test_sources_fanout_runs_end_to_end_and_summarizes_every_mapped_source(runner_mode, airflow_db: Path):
    runner_mode("local")
    result = run_dag_source(airflow_db / "dags", (REPO / "dags" / "sources_fanout.py").read_text())
    assert result.state == "success", result.task_states
    assert result.task_states == {
        **{f"extract[{i}]": "success" for i in range(3)},
        **{step: "success" for step in ("validate", "clean", "enrich", "publish", "summarize")},
    }
    interval = result.data_interval_start.strftime("%Y%m%dT%H%M%S")
    root = Path(urlparse(os.environ["AIRKUBE_DATA_URL"]).path) / "sources_fanout"
    extract_parts = sorted(
        p.relative_to(root).as_posix() for p in (root / "extract").rglob("*") if p.is_file()
    )
    assert extract_parts == [f"extract/{interval}/map_index={i}/data.jsonl" for i in range(3)]
    summary = [
        json.loads(line) for line in (root / "summarize" / interval / "data.jsonl").read_text().splitlines()
    ]
    sources = {row["key"] for row in summary if row["group_by"] == "source"}
    assert sources == {"orders", "payments", "refunds"}
