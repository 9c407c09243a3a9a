"""What people do in Airflow's web UI on the local platform, done in a real browser.

Headless Chromium through Playwright (tests/browser/conftest.py); every step's screenshot is a test
artifact under .local/artifacts/browser/. What the browser shows is checked against the REST API, so a
page that renders but shows something else fails.
"""

from __future__ import annotations

import re

import pendulum
import pytest
from playwright.sync_api import Browser, Page, expect

from browser_support import Screenshots, log_in
from local_platforms import StartedPlatform

pytestmark = [pytest.mark.slow, pytest.mark.browser]

RUN_TIMEOUT = 180


def test_log_in(chromium: Browser, ui_platform: StartedPlatform, shot: Screenshots) -> None:
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(ui_platform.platform.api_url() + "/dags")
        expect(page.locator("#username")).to_be_visible()  # not signed in: the login form, not the DAGs
        shot(page, "login-form")
        log_in(page, ui_platform)
        expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
        shot(page, "home")
    finally:
        context.close()


def test_the_dag_list_shows_every_dag_and_no_import_error(
    page: Page, ui_platform: StartedPlatform, shot: Screenshots
) -> None:
    dag_ids = sorted(dag["dag_id"] for dag in ui_platform.api.dags())
    assert {"high_priorities", "sources_fanout", "browser_small", "browser_failing"} <= set(dag_ids)
    page.goto("/dags")
    expect(page.get_by_text(f"{len(dag_ids)} Dags", exact=True)).to_be_visible()
    for dag_id in dag_ids:
        expect(page.get_by_role("link", name=dag_id, exact=True)).to_be_visible()
    shot(page, "dags")
    assert ui_platform.api.import_errors() == []
    page.goto("/")
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    expect(page.get_by_text("Dag Import Errors")).to_have_count(0)


def test_high_priorities_opens_with_its_graph(
    page: Page, ui_platform: StartedPlatform, shot: Screenshots
) -> None:
    tasks = ui_platform.api.tasks("high_priorities")
    # The graph starts with task groups collapsed: one node per group or ungrouped task.
    top_level = {task["task_id"].split(".", 1)[0] for task in tasks}
    page.goto("/dags/high_priorities")
    expect(page.get_by_role("heading", name="high_priorities")).to_be_visible()
    page.get_by_role("button", name="Show Graph (Press g)").click()
    nodes = page.locator(".react-flow__node")
    expect(nodes).to_have_count(len(top_level), timeout=60_000)
    for name in ("orders", "payments"):
        assert name in top_level
        expect(nodes.filter(has_text=name).first).to_be_visible()
    shot(page, "graph")


def test_a_run_triggered_from_the_dialog_succeeds(
    page: Page, ui_platform: StartedPlatform, shot: Screenshots
) -> None:
    page.goto("/dags/browser_small")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Single Run", exact=True)).to_be_visible()
    shot(page, "dialog")
    dialog.get_by_role("button", name="Trigger").click()
    page.wait_for_url(re.compile(r"/dags/browser_small/runs/manual__"))  # the UI opens the new run
    [run] = ui_platform.api.wait_for_runs("browser_small", "manual", 1, RUN_TIMEOUT)
    assert run["state"] == "success"
    page.reload()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    shot(page, "succeeded")


def test_a_three_date_backfill_from_the_dialog_runs_three_dates(
    page: Page, ui_platform: StartedPlatform, shot: Screenshots
) -> None:
    page.goto("/dags/browser_small")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Backfill", exact=True).click()
    for day in ("2026/11/01", "2026/11/03"):  # From, then To: each typed after opening its picker
        dialog.get_by_text("Select date and time").first.click()
        page.keyboard.type(day)
    dialog.get_by_role("heading").first.click()  # closes the date picker
    expect(dialog.get_by_text("3 runs will be triggered.")).to_be_visible()
    page.wait_for_timeout(500)  # only for the screenshot: the picker's fade-out
    shot(page, "dialog")
    dialog.get_by_role("button", name="Run Backfill").click()
    runs = ui_platform.api.wait_for_runs("browser_small", "backfill", 3, RUN_TIMEOUT)
    starts = sorted(pendulum.parse(run["data_interval_start"]).date().isoformat() for run in runs)
    assert starts == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert {run["state"] for run in runs} == {"success"}
    page.goto("/dags/browser_small/runs")
    for run in runs:
        expect(page.get_by_role("link", name=run["dag_run_id"])).to_be_visible()
    shot(page, "runs")


def test_a_failed_tasks_log_shows_the_containers_error(
    page: Page, ui_platform: StartedPlatform, shot: Screenshots
) -> None:
    night = pendulum.datetime(2026, 11, 22, tz="UTC")
    run_id = ui_platform.api.trigger("browser_failing", night, night.add(days=1))
    assert ui_platform.api.wait_for_run("browser_failing", run_id, RUN_TIMEOUT).state == "failed"
    page.goto("/dags/browser_failing/runs")
    page.get_by_role("link", name=run_id).click()
    page.get_by_role("row").get_by_role("link", name="fails").click()  # the run's task instance
    expect(page.get_by_role("link", name="Logs", exact=True)).to_be_visible()
    # The command holds "$((6 * 7))"; only the container's own output holds "42".
    expect(page.get_by_text("airkube-browser: source 42 unreachable").first).to_be_visible()
    shot(page, "log")


# The platform page (airkube.page), opened from the UI's navigation: it must load inside the UI, show the
# run this test just made, and agree with the REST API on every figure it shows for that DAG; and show
# the failed task and its failure alert in the owning team's card.
PAGE_DAG_ID = "browser_failing"
PAGE_TEAM = "data-eng"  # the DAG's owner: the team its tasks' airkube.io/team label names


def _rest_figures(platform: StartedPlatform) -> tuple[float, int, dict[str, float]]:
    """(success rate, failures in a row, duration by run id) of PAGE_DAG_ID, from the REST API alone."""
    runs = sorted(platform.api.runs(PAGE_DAG_ID), key=lambda run: run["run_after"], reverse=True)
    finished = [run for run in runs if run["state"] in ("success", "failed")]
    assert 0 < len(finished) <= 30, "the figures below assume the page's 30-run window holds every run"
    rate = round(sum(run["state"] == "success" for run in finished) / len(finished), 4)
    streak = next((n for n, run in enumerate(finished) if run["state"] == "success"), len(finished))
    durations = {
        run["dag_run_id"]: round(
            (pendulum.parse(run["end_date"]) - pendulum.parse(run["start_date"])).total_seconds(), 1
        )
        for run in finished
    }
    return rate, streak, durations


def test_the_platform_page_shows_a_run_just_made_as_the_rest_api_does(
    page: Page, ui_platform: StartedPlatform, shot: Screenshots
) -> None:
    night = pendulum.datetime(2026, 11, 20, tz="UTC")
    run_id = ui_platform.api.trigger(PAGE_DAG_ID, night, night.add(days=1))
    assert ui_platform.api.wait_for_run(PAGE_DAG_ID, run_id, RUN_TIMEOUT).state == "failed"
    rate, streak, durations = _rest_figures(ui_platform)

    page.goto("/")
    page.get_by_role("link", name="Platform").click()  # the plugin's entry in the navigation
    page.wait_for_url("**/plugin/airkube")
    frame = page.frame_locator("iframe")
    expect(frame.locator("body[data-loaded=true]")).to_have_count(1)
    expect(frame.locator("#error")).to_be_empty()
    row = frame.locator(f'tr[data-dag-id="{PAGE_DAG_ID}"]:has(td[data-field="success-rate"])')
    expect(row).to_be_visible()
    assert float(row.locator('td[data-field="success-rate"]').get_attribute("data-value")) == rate
    streak_cell = row.locator('td[data-field="streak"]')
    assert int(streak_cell.get_attribute("data-value")) == streak >= 1
    bar = row.locator(f'rect[data-run-id="{run_id}"]')
    expect(bar).to_have_count(1)
    assert float(bar.get_attribute("data-duration")) == durations[run_id]

    team = frame.locator(f'div[data-team="{PAGE_TEAM}"]')
    failing = team.locator(
        f'table[data-field="failing-tasks"] tr[data-dag-id="{PAGE_DAG_ID}"][data-task-id="fails"]'
    )
    expect(failing.filter(has_text=run_id)).to_have_count(1)
    alerts = team.locator(f'table[data-field="alerts"] tr[data-dag-id="{PAGE_DAG_ID}"]')
    expect(alerts.first).to_be_visible()  # the failure alert the task sent, recorded where the page reads
    shot(page, "platform-page")
