"""`airkube-plan` as people run it (`make capacity`): the console script in a subprocess, its text and JSON,
its plot, and its errors naming the DAG, the task and the field."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from airkube import records
from airkube_dev.chart import environment_values
from airkube_plan.limits import limits_from_chart
from paths import REPO

PLAN = REPO / ".venv" / "bin" / "airkube-plan"
DAG = ["--dag-file", str(REPO / "dags" / "high_priorities.py"), "--dag-id", "high_priorities"]
DURATIONS = ["--durations", str(REPO / "bench" / "durations" / "high_priorities.json")]
JSON_KEYS = {"makespan_seconds", "critical_path_seconds", "peak_running_tasks", "peak_nodes", "node_hours",
             "cost_usd", "limited_by"}  # fmt: skip


def airkube_plan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PLAN), *args], capture_output=True, text=True, timeout=300, cwd=REPO)


@pytest.fixture(scope="module")
def json_plan(tmp_path_factory) -> tuple[dict, Path]:
    picture = tmp_path_factory.mktemp("plot") / "night.png"
    proc = airkube_plan(*DAG, "--env", "prod", *DURATIONS, "--json", "--plot", str(picture))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), picture


def test_json_gives_the_plan_as_one_object_with_the_documented_keys(json_plan):
    plan, _ = json_plan
    assert plan.keys() >= JSON_KEYS
    assert plan["makespan_seconds"] >= plan["critical_path_seconds"] > 0
    assert plan["cost_usd"] == pytest.approx(
        plan["node_hours"] * plan["worker_pool"]["usd_per_hour"], abs=0.01
    )
    assert plan["limited_by"] and all({"factor", "seconds"} == item.keys() for item in plan["limited_by"])
    assert plan["durations_from"] == {"durations file": 201}


def test_the_plot_is_a_png_drawn_from_the_plan(json_plan):
    _, picture = json_plan
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(picture.parent.glob(".*partial*")), "no half-written file left behind"


def test_the_text_plan_names_its_limit_its_sources_and_its_assumptions():
    proc = airkube_plan(*DAG, "--env", "staging", *DURATIONS, "--set", "node_provision_seconds=300")
    assert proc.returncode == 0, proc.stderr[-3000:]
    parallelism = limits_from_chart(environment_values("staging")).parallelism  # as the chart renders it
    for expected in ("makespan", "peak nodes", "Limited by", "Critical path:",
                     f"[core] parallelism: {parallelism}, the rendered airflow.cfg",
                     "node_provision_seconds = 300.0"):  # fmt: skip
        assert expected in proc.stdout


def test_an_assumption_override_changes_the_plan(json_plan):
    """Slower nodes: the night's first tasks wait longer for the nodes the autoscaler adds."""
    proc = airkube_plan(*DAG, "--env", "prod", *DURATIONS, "--json", "--set", "node_provision_seconds=600")
    assert proc.returncode == 0, proc.stderr[-3000:]
    slow = json.loads(proc.stdout)
    assert slow["makespan_seconds"] > json_plan[0]["makespan_seconds"]
    assert slow["assumptions"]["node_provision_seconds"] == "600.0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "prod"], "DAG 'high_priorities': no duration for task(s) ads_clicks.clean"),
        (["--env", "qa", *DURATIONS], "no Terraform environment 'qa'"),
        (["--env", "prod", *DURATIONS, "--set", "warp_speed=1"], "no assumption 'warp_speed'"),
        (
            ["--env", "prod", "--durations", "{bad}"],
            "DAG 'high_priorities', task 'orders.extract': duration -5",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_what_is_wrong(tmp_path, args, message):
    if "{bad}" in args:
        bad = tmp_path / "durations.json"
        bad.write_text(json.dumps({"orders.extract": -5}))
        args = [str(bad) if arg == "{bad}" else arg for arg in args]
    proc = airkube_plan(*DAG, *args)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_record_leaves_the_plan_where_the_platform_page_reads_it(tmp_path):
    """`--record URL` writes the printed plan under URL/_airkube/plans/ (airkube.records), newest first."""
    data_url = f"file://{tmp_path}"
    proc = airkube_plan(*DAG, "--env", "staging", *DURATIONS, "--json", "--record", data_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = records.latest_plans(["high_priorities"], data_url=data_url)["high_priorities"]["staging"]
    assert record["plan"] == json.loads(proc.stdout)
    assert record["dag_id"] == "high_priorities" and record["env"] == "staging"
    assert f"plan recorded at {data_url}/_airkube/plans/high_priorities/staging/" in proc.stderr
