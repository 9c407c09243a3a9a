"""One local platform and one headless Chromium for the browser tests (`pytest -m browser`).

The browser is Debian's chromium (`apt-get install chromium`; .ci/run installs it), driven by
Playwright from PyPI through `executable_path`: Playwright's own browser download cannot work here.
Each step's screenshot is saved under .local/artifacts/browser/ (the test artifacts; the README shows
a few of them, copied to docs/screenshots/).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from browser_support import Screenshots, log_in
from local_platforms import StartedPlatform, started_platform
from paths import REPO

# Small DAGs, so the suite stays fast: two quick tasks, and one whose container fails (its error line
# is computed at run time, so finding it in the log proves the container's output, not the command, is
# shown).
BROWSER_DAGS = """
from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airkube import TaskFamily

shell = TaskFamily(image="pipeline", command=["sh", "-c"])
quick = {"owner": "data-eng", "retry_delay": timedelta(seconds=1), "retry_exponential_backoff": 0}

with DAG(
    "browser_small",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["test"],
    default_args=quick,
    doc_md="Two quick tasks, for the browser tests.",
):
    shell.task("first", arguments=["echo first"]) >> shell.task("second", arguments=["echo second"])

with DAG(
    "browser_failing",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["test"],
    default_args=quick,
    doc_md="One task whose container fails, for the browser tests.",
):
    shell.task("fails", arguments=["echo \\"airkube-browser: source $((6 * 7)) unreachable\\" >&2; exit 3"])
"""


@pytest.fixture(scope="module")
def ui_platform() -> Iterator[StartedPlatform]:
    """The local platform serving the repository's DAGs and the small browser-test DAGs. Module scope, and one
    module (test_web_ui.py): a "package" fixture in a folder without __init__.py lives for the whole
    session, and Playwright's sync API, while running, leaves an event loop set in the main thread that
    breaks every later asyncio.run() (the S3 filesystem's, for one)."""
    dag_files = {path.name: path.read_text() for path in sorted((REPO / "dags").glob("*.py"))}
    dag_files["browser_dags.py"] = BROWSER_DAGS
    with started_platform("airkube-browser-", dag_files) as started:
        for dag_id in ("browser_small", "browser_failing", "high_priorities"):
            started.api.wait_for_dag(dag_id)
        yield started


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium not found: apt-get install chromium")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def signed_in(chromium: Browser, ui_platform: StartedPlatform) -> Iterator[BrowserContext]:
    """A browser context that has logged in once; each test opens its own page in it."""
    context = chromium.new_context(
        viewport={"width": 1400, "height": 900}, base_url=ui_platform.platform.api_url()
    )
    page = context.new_page()
    log_in(page, ui_platform)
    page.close()
    yield context
    context.close()


@pytest.fixture
def page(signed_in: BrowserContext) -> Iterator[Page]:
    page = signed_in.new_page()
    page.set_default_timeout(30_000)
    yield page
    page.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Screenshots:
    return Screenshots(request.node.name)
