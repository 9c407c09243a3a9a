"""The platform page (airkube.page), opened from the UI's navigation in a real browser.

It must load inside the Airflow UI, show the run this test just made, and agree with the REST API on
every figure it shows for that DAG: its success rate, its failure streak, the run's duration; and the
failed task and its failure alert in the owning team's card.
"""

from __future__ import annotations

import pendulum
import pytest
from playwright.sync_api import Page, expect

from browser_support import Screenshots
from local_platforms import StartedPlatform

pytestmark = [pytest.mark.slow, pytest.mark.browser]

RUN_TIMEOUT = 180
DAG_ID = "browser_failing"
TEAM = "data-eng"  # the DAG's owner: the team its tasks' airkube.io/team label names


def _rest_figures(platform: StartedPlatform) -> tuple[float, int, dict[str, float]]:
    """(success rate, failures in a row, duration by run id) of DAG_ID, from the REST API alone."""
    runs = sorted(platform.api.runs(DAG_ID), key=lambda run: run["run_after"], reverse=True)
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
    run_id = ui_platform.api.trigger(DAG_ID, night, night.add(days=1))
    assert ui_platform.api.wait_for_run(DAG_ID, run_id, RUN_TIMEOUT).state == "failed"
    rate, streak, durations = _rest_figures(ui_platform)

    page.goto("/")
    page.get_by_role("link", name="Platform").click()  # the plugin's entry in the navigation
    page.wait_for_url("**/plugin/airkube")
    frame = page.frame_locator("iframe")
    expect(frame.locator("body[data-loaded=true]")).to_have_count(1)
    expect(frame.locator("#error")).to_be_empty()
    row = frame.locator(f'tr[data-dag-id="{DAG_ID}"]:has(td[data-field="success-rate"])')  # the DAG's row
    expect(row).to_be_visible()
    assert float(row.locator('td[data-field="success-rate"]').get_attribute("data-value")) == rate
    streak_cell = row.locator('td[data-field="streak"]')
    assert int(streak_cell.get_attribute("data-value")) == streak >= 1
    bar = row.locator(f'rect[data-run-id="{run_id}"]')
    expect(bar).to_have_count(1)
    assert float(bar.get_attribute("data-duration")) == durations[run_id]

    team = frame.locator(f'div[data-team="{TEAM}"]')
    failing = team.locator(
        f'table[data-field="failing-tasks"] tr[data-dag-id="{DAG_ID}"][data-task-id="fails"]'
    )
    expect(failing.filter(has_text=run_id)).to_have_count(1)
    alerts = team.locator(f'table[data-field="alerts"] tr[data-dag-id="{DAG_ID}"]')
    expect(alerts.first).to_be_visible()  # the failure alert the task sent, recorded where the page reads
    shot(page, "platform-page")
