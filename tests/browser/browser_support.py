"""What the browser tests share: signing in, and numbered screenshots saved as test artifacts."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page

from local_platforms import StartedPlatform
from paths import REPO

ARTIFACTS = REPO / ".local" / "artifacts" / "browser"


def log_in(page: Page, platform: StartedPlatform) -> None:
    """Airflow's login form (the FAB auth manager's, as in production)."""
    user, password = platform.platform.login()
    page.goto(platform.platform.api_url() + "/")
    page.wait_for_url(re.compile(r"/auth/login/"))
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("input[type=submit]")
    page.wait_for_url(platform.platform.api_url() + "/")


class Screenshots:
    """Saves numbered screenshots of one test's steps under ARTIFACTS."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"^test_", "", test_name)
        self.count = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Page, step: str) -> Path:
        self.count += 1
        path = ARTIFACTS / f"{self.prefix}-{self.count}-{step}.png"
        page.screenshot(path=str(path))
        return path
