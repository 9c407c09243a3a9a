"""Airflow does not authenticate a plugin's FastAPI app: every route of the platform page must declare the
auth manager's checks itself. Walks every route the app has (so a new one is covered without editing
this test) and asks it without a token, as a stranger would."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from airkube.plugin import PAGE_URL_PREFIX, AirkubePlugin


@pytest.fixture(scope="module")
def page_app():
    """The app exactly as the plugin hands it to the api-server."""
    (entry,) = AirkubePlugin().fastapi_apps
    assert entry["url_prefix"] == PAGE_URL_PREFIX
    return entry["app"]


def _requests(app) -> list[tuple[str, str]]:
    """(method, path) for every method of every route; path parameters filled with a DAG id."""
    found = []
    for route in app.routes:
        path = re.sub(r"\{[^}]+\}", "high_priorities", route.path)
        if isinstance(route, Mount):  # static files or a sub-app: anything below it
            found.append(("GET", f"{path.rstrip('/')}/index.html"))
        elif isinstance(route, Route):
            found.extend((method, path) for method in sorted(route.methods or {"GET"}) if method != "HEAD")
        else:  # a websocket or a route kind this test does not know: make it known here
            found.append(("?", route.path))
    return found


def test_every_route_refuses_a_request_without_a_token(page_app):
    requests = _requests(page_app)
    # Not vacuous: the page, its script and style, and the JSON it reads are all among them.
    assert {("GET", "/"), ("GET", "/page.js"), ("GET", "/api/dags"), ("GET", "/api/teams")} <= set(requests)
    client = TestClient(page_app)
    answers = {(method, path): client.request(method, path).status_code for method, path in requests}
    assert answers == dict.fromkeys(answers, 401), "every route must answer 401 without a token"


def test_fastapis_own_documentation_routes_are_off(page_app):
    """/docs, /redoc and /openapi.json would be routes without checks: the app has none of them."""
    assert not {"/docs", "/redoc", "/openapi.json"} & {route.path for route in page_app.routes}


def test_importing_the_plugin_leaves_the_page_unimported():
    """plugin.py is loaded by every Airflow process; only the api-server asks for the app."""
    code = (
        "import sys, airkube.plugin as p\n"
        "assert 'airkube.page.app' not in sys.modules and 'airkube.page.figures' not in sys.modules\n"
        "p.AirkubePlugin().fastapi_apps\n"
        "assert 'airkube.page.app' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)
