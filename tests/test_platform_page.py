"""The platform page's figures, through the api-server Airflow builds (`create_app`, in this process) with
production's auth manager (FAB), from DAG runs and task instances made with Airflow's own models in a
real metadata database, and from alert and plan records in a data root of this module's own.

Users log in through FAB's /auth/token as a script would; the browser's cookie is tried on the page.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from airkube import records

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
RUNS_START = timedelta(days=3)
"""The first run started this long before the fixture made the runs; they are 30 minutes apart."""
QUEUED_FOR = timedelta(minutes=1)
"""Every run waits this long in the queue before it starts: the overrun deadline counts from queueing."""
PASSWORD = "page-test-password"

DAG_FILES = {
    # Expected 10 minutes, an overrun alert at 15 after queueing; escalates after 2 failed runs in a row.
    # Two teams: extract is the owner's (data-eng), clean and the mapped fanout are growth's.
    "page_nightly": """
        from datetime import timedelta
        import pendulum
        from airflow.sdk import DAG
        from airkube import TaskFamily, alert_params, overrun_deadline

        tpl = TaskFamily(image="pipeline", command=["airkube-pipeline"])
        with DAG("page_nightly", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
                 default_args={"owner": "data-eng"}, deadline=overrun_deadline(timedelta(minutes=10)),
                 params=alert_params(escalate_after=2)):
            tpl.task("extract", arguments=["extract"])
            tpl.task("clean", arguments=["clean"], team="growth")
            tpl.map("fanout", expand={"arguments": [["a"], ["b"]]}, team="growth")  # a mapped task's team
    """,
    # No expectation declared; escalates after AIRKUBE_ALERT_ESCALATE_AFTER runs (4, set below).
    "page_plain": """
        import pendulum
        from airflow.sdk import DAG
        from airkube import TaskFamily

        with DAG("page_plain", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
                 default_args={"owner": "ops"}):
            TaskFamily(image="pipeline", command=["airkube-pipeline"]).task("load", arguments=["load"])
    """,
    # A DAG the limited user may not read.
    "page_hidden": """
        import pendulum
        from airflow.sdk import DAG
        from airkube import TaskFamily

        with DAG("page_hidden", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
                 default_args={"owner": "secret-team"}):
            TaskFamily(image="pipeline", command=["airkube-pipeline"]).task("x", arguments=["x"])
    """,
}


@dataclass(frozen=True)
class Run:
    state: str
    minutes: float | None
    """How long it ran; None: still running."""
    task_states: dict[str, str] | None = None


# page_nightly, oldest first (run 000 to 031): 2 failed, older than the 30-run window; 28 of which one
# failed (run 012) and 27 succeeded, in 8 minutes but for 3 of them: 16 (past the 15-minute deadline),
# 14.5 (past it too: the deadline counts from queueing, a minute earlier) and 12 minutes (within it);
# then 2 failed: the streak that escalates.
LONG_RUNS = {27: 16, 28: 14.5, 29: 12}
NIGHTLY = [
    Run("failed", 2),
    Run("failed", 2),
    *[Run("failed", 2) if i == 12 else Run("success", LONG_RUNS.get(i, 8)) for i in range(2, 30)],
    Run("failed", 2),
    Run("failed", 2, {"extract": "failed", "clean": "up_for_retry", "fanout": "failed"}),
]
PLAIN = [Run("success", 5), Run("failed", 1), Run("failed", 1), Run("running", None)]
HIDDEN = [Run("failed", 1, {"x": "failed"})]


def _sync_dag_files() -> None:
    """What the dag-processor does with the dags folder, as `dag.test()` does it: parse, serialize, store."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.utils.session import create_session

    manager = DagBundlesManager()
    with create_session() as session:
        manager.sync_bundles_to_db(session=session)
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        assert not bag.import_errors, bag.import_errors
        sync_bag_to_db(bag, bundle.name, bundle.version)


def _make_runs(dag_id: str, runs: list[Run], now: datetime) -> None:
    """DAG runs and their task instances, made by Airflow's own create_dagrun, with the given outcome."""
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        for index, spec in enumerate(runs):
            started = now - RUNS_START + timedelta(minutes=30 * index)
            if spec.minutes is None:  # still running: started 10 minutes ago
                started = now - timedelta(minutes=10)
            run = dag.create_dagrun(
                run_id=f"manual__{dag_id}_{index:03d}",
                run_after=started,
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.TEST,
                state=DagRunState.RUNNING,
                start_date=started,
                session=session,
            )
            run.state = spec.state
            run.queued_at = started - QUEUED_FOR
            run.start_date = started
            run.end_date = None if spec.minutes is None else started + timedelta(minutes=spec.minutes)
            for ti in run.get_task_instances(session=session):
                ti.state = (spec.task_states or {}).get(ti.task_id, spec.state if spec.minutes else None)
                ti.try_number = 1
                ti.end_date = run.end_date
            session.flush()


def _write_records(data_url: str, now: datetime) -> None:
    def alert(
        dag_id: str, minutes_ago: float, kind: str, task_id: str | None = None, team: str | None = None
    ):
        records.write_alert(
            records.AlertRecord(
                kind=kind, dag_id=dag_id, task_id=task_id, team=team, title=f"{dag_id} {kind}", text="-",
                delivered={"slack": True, "datadog": True},
                sent_at=(now - timedelta(minutes=minutes_ago)).isoformat(),
            ),
            data_url=data_url,
        )  # fmt: skip

    alert("page_nightly", 10, "task_failed", "extract", "data-eng")
    alert("page_nightly", 5, "escalation")  # DAG-level: both teams of page_nightly
    alert("page_hidden", 1, "task_failed", "x", "secret-team")
    alert("page_nightly", 60 * 24 * 8, "task_failed", "clean", "growth")  # older than the page's week
    for env, made, makespan in (("prod", 2, 1000.0), ("prod", 1, 1200.0), ("staging", 3, 900.0)):
        plan = {"makespan_seconds": makespan, "peak_nodes": 3, "cost_usd": 1.5, "node_hours": 2.0}
        records.write_plan(
            plan, data_url=data_url, dag_id="page_nightly", env=env, made_at=now - timedelta(days=made)
        )
    records.write_plan({"makespan_seconds": 1.0}, data_url=data_url, dag_id="page_hidden", env="prod")


def _add_users() -> None:
    """An admin, and a user whose role reads page_nightly only (FAB's own security manager)."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        role = sm.find_role("page_reader") or sm.add_role("page_reader")
        for action, resource in (("can_read", "DAG:page_nightly"), ("can_read", "DAG Runs"),
                                 ("can_read", "Task Instances"), ("can_read", "Website")):  # fmt: skip
            sm.add_permission_to_role(role, sm.create_permission(action, resource))
        for username, user_role in (("page_admin", sm.find_role("Admin")), ("page_reader", role)):
            if not sm.find_user(username=username):
                sm.add_user(
                    username, username, "test", f"{username}@airkube.invalid", user_role, password=PASSWORD
                )


class Api:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    def login(self, username: str) -> str:
        """FAB's token endpoint, as a script logs in."""
        if username not in self.tokens:
            response = self.client.post("/auth/token", json={"username": username, "password": PASSWORD})
            assert response.status_code == 201, response.text
            self.tokens[username] = response.json()["access_token"]
        return self.tokens[username]

    def get(self, path: str, user: str = "page_admin", status: int = 200) -> Any:
        response = self.client.get(path, headers={"Authorization": f"Bearer {self.login(user)}"})
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture(scope="module")
def api(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from fastapi.testclient import TestClient

    from airkube.settings import platform_settings

    data_url = f"file://{tmp_path_factory.mktemp('page-data')}"
    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW__CORE__AUTH_MANAGER", FAB_AUTH_MANAGER)
    patch.setenv("AIRKUBE_DATA_URL", data_url)
    patch.setenv("AIRKUBE_ALERT_ESCALATE_AFTER", "4")
    patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "page-test-" + "0" * 54)  # the api-server signs with it
    platform_settings.cache_clear()
    # FAB's tables (users, roles), made by Airflow's own migration with FAB as the auth manager.
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    files = [airflow_db / "dags" / f"{dag_id}.py" for dag_id in DAG_FILES]
    try:
        for path, source in zip(files, DAG_FILES.values(), strict=True):
            path.write_text(textwrap.dedent(source))
        _sync_dag_files()
        now = datetime.now(UTC)  # when the module's tests run, not when it was collected
        for dag_id, runs in (("page_nightly", NIGHTLY), ("page_plain", PLAIN), ("page_hidden", HIDDEN)):
            _make_runs(dag_id, runs, now)
        _write_records(data_url, now)
        app = create_app()
        _add_users()
        with TestClient(app) as client:
            yield Api(client)
    finally:
        for path in files:
            path.unlink(missing_ok=True)
        purge_cached_app()
        patch.undo()
        platform_settings.cache_clear()


def _dag(api: Api, dag_id: str, user: str = "page_admin") -> dict[str, Any]:
    (found,) = [dag for dag in api.get("/airkube/api/dags", user)["dags"] if dag["dag_id"] == dag_id]
    return found


def _team(api: Api, name: str, user: str = "page_admin") -> dict[str, Any]:
    """The team's figures for this module's DAGs (other tests' DAGs share the database)."""
    (found,) = [team for team in api.get("/airkube/api/teams", user)["teams"] if team["team"] == name]
    return {
        "dags": [dag_id for dag_id in found["dags"] if dag_id in DAG_FILES],
        "failing_tasks": [ti for ti in found["failing_tasks"] if ti["dag_id"] in DAG_FILES],
        "alerts": found["alerts"],  # this module's data root holds only its own records
    }


def test_the_success_rate_counts_the_last_30_finished_runs(api):
    rate = _dag(api, "page_nightly")["success_rate"]
    assert rate == {"window": 30, "finished_runs": 30, "succeeded": 27, "rate": round(27 / 30, 4)}
    plain = _dag(api, "page_plain")["success_rate"]  # the running run is not counted
    assert (plain["finished_runs"], plain["succeeded"]) == (3, 1)


def test_the_latest_runs_against_the_expected_duration_and_the_overrun_deadline(api):
    nightly = _dag(api, "page_nightly")
    assert nightly["expected"] == {"expected_seconds": 600.0, "factor": 1.5, "deadline_seconds": 900.0}
    runs = nightly["runs"]
    assert [run["run_id"] for run in runs] == [f"manual__page_nightly_{i:03d}" for i in range(31, 21, -1)]
    by_id = {run["run_id"][-3:]: run for run in runs}
    figures = {
        key: (run["duration_seconds"], run["vs_expected"], run["overran"]) for key, run in by_id.items()
    }
    assert figures["031"] == (120.0, 0.2, False)
    assert figures["027"] == (960.0, 1.6, True)  # 16 min: 17 after queueing > 15
    assert figures["028"] == (870.0, 1.45, True)  # 14.5 min: 15.5 after queueing > 15
    assert figures["029"] == (720.0, 1.2, False)  # 12 min: 13 after queueing, within the deadline
    assert figures["026"] == (480.0, 0.8, False) and by_id["026"]["finished"] is True
    assert by_id["031"]["state"] == "failed" and by_id["026"]["state"] == "success"
    assert nightly["median_success_seconds"] == 480.0
    plain = _dag(api, "page_plain")
    assert plain["expected"] is None
    running = plain["runs"][0]
    assert running["state"] == "running" and running["finished"] is False and running["overran"] is None
    assert 590 <= running["duration_seconds"] <= 700  # started 10 minutes ago, still counting


def test_the_failure_streak_and_the_escalation_state(api):
    # page_nightly escalates after 2 (its DAG param): 2 failed in a row is escalated (3 failed of the
    # last 30, but only 2 in a row).
    assert _dag(api, "page_nightly")["streak"] == {"failures": 2, "escalate_after": 2, "state": "escalated"}
    # page_plain has no param: AIRKUBE_ALERT_ESCALATE_AFTER (4); the running run does not end the streak.
    assert _dag(api, "page_plain")["streak"] == {"failures": 2, "escalate_after": 4, "state": "failing"}


def test_tasks_are_grouped_by_their_team(api):
    assert _dag(api, "page_nightly")["teams"] == ["data-eng", "growth"]
    data_eng, growth, ops = _team(api, "data-eng"), _team(api, "growth"), _team(api, "ops")
    assert [(ti["task_id"], ti["state"]) for ti in data_eng["failing_tasks"]] == [("extract", "failed")]
    assert [(ti["task_id"], ti["map_index"], ti["state"]) for ti in growth["failing_tasks"]] == [
        ("clean", -1, "up_for_retry"), ("fanout", 0, "failed"), ("fanout", 1, "failed")]  # fmt: skip
    assert data_eng["failing_tasks"][0]["run_id"] == "manual__page_nightly_031"
    assert ops["dags"] == ["page_plain"] and ops["failing_tasks"] == []


def test_alerts_sent_are_read_back_per_team_newest_first(api):
    data_eng = [(a["kind"], a["task_id"]) for a in _team(api, "data-eng")["alerts"]]
    assert data_eng == [("escalation", None), ("task_failed", "extract")]  # the 8-day-old one is not shown
    assert [(a["kind"], a["task_id"]) for a in _team(api, "growth")["alerts"]] == [("escalation", None)]
    assert [a["dag_id"] for a in _team(api, "secret-team")["alerts"]] == ["page_hidden"]


def test_the_latest_plan_per_environment_is_shown_beside_the_measured_durations(api):
    nightly = _dag(api, "page_nightly")
    plans = {plan["env"]: plan for plan in nightly["plans"]}
    assert set(plans) == {"prod", "staging"}
    assert plans["prod"]["makespan_seconds"] == 1200.0  # the newer of the two prod plans
    assert (plans["prod"]["peak_nodes"], plans["prod"]["cost_usd"]) == (3, 1.5)
    assert plans["staging"]["makespan_seconds"] == 900.0


def test_a_user_sees_only_the_dags_they_may_read(api):
    assert [dag["dag_id"] for dag in api.get("/airkube/api/dags", "page_reader")["dags"]] == ["page_nightly"]
    teams = api.get("/airkube/api/teams", "page_reader")["teams"]
    assert [team["team"] for team in teams] == ["data-eng", "growth"]
    assert all(alert["dag_id"] == "page_nightly" for team in teams for alert in team["alerts"])
    assert api.get("/airkube/api/dags/page_nightly", "page_reader")["dag_id"] == "page_nightly"
    api.get("/airkube/api/dags/page_hidden", "page_reader", status=403)
    assert api.get("/airkube/api/dags/page_hidden")["dag_id"] == "page_hidden"  # the admin may
    api.get("/airkube/api/dags/no_such_dag", status=404)


def test_the_page_loads_with_the_ui_session_cookie_and_refuses_without(api):
    client = api.client
    assert client.get("/airkube/api/dags").status_code == 401  # mounted by the api-server: still checked
    client.cookies.set("_token", api.login("page_reader"))  # what the UI's login leaves in the browser
    try:
        page = client.get("/airkube/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
        assert '<script src="page.js"' in page.text
        script = client.get("/airkube/page.js")
        assert script.status_code == 200 and "api/dags" in script.text
        assert client.get("/airkube/api/dags").status_code == 200
    finally:
        client.cookies.clear()


def test_the_navigation_links_to_the_page(api):
    (plugin,) = [p for p in api.get("/api/v2/plugins")["plugins"] if p["name"] == "airkube"]
    (view,) = plugin["external_views"]
    assert (view["href"], view["destination"], view["url_route"]) == ("airkube/", "nav", "airkube")
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/airkube"
