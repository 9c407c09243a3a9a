"""The platform page: a FastAPI app the api-server mounts at /airkube (AirkubePlugin.fastapi_apps), serving
one static page and the JSON it shows.

Airflow does not authenticate a plugin's app: every route here declares the auth manager's checks from
airflow.api_fastapi.core_api.security, so they hold under whichever auth manager runs (FAB in
production and locally). A browser calls the routes with the Airflow UI's own session: the httponly
`_token` cookie (the JWT the auth manager issued at login), which `get_user` accepts and the
api-server's JWTRefreshMiddleware renews; a script may send `Authorization: Bearer <token>` instead.
tests/test_platform_page_auth.py walks every route without a token and expects 401.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView, DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag, requires_access_view
from fastapi import APIRouter, Depends, FastAPI, HTTPException, status
from fastapi.responses import Response

from airkube import records
from airkube.page import figures
from airkube.settings import platform_settings

ALERT_DAYS = 7
ALERT_LIMIT = 200
STATIC = {"": ("index.html", "text/html"), "page.js": ("page.js", "text/javascript"),
          "page.css": ("page.css", "text/css")}  # fmt: skip
"""Route (under the prefix) -> file in airkube/page/static and its media type: the page has no build step."""
# The page may only be framed by the Airflow UI of the same origin, runs only its own script, and
# fetches only from its own origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def readable_dag_ids(user: GetUserDep) -> set[str]:
    """The DAGs the user may read, as the auth manager decides; what ReadableDagsFilterDep computes, but
    through the auth manager singleton: that dependency reads `request.app.state.auth_manager`, which
    the api-server sets on its own app, not on a mounted plugin app."""
    return get_auth_manager().get_authorized_dag_ids(user=user, method="GET")


ReadableDagIds = Annotated[set[str], Depends(readable_dag_ids)]


@functools.cache
def _dag_bag() -> Any:
    """The api-server's kind of DAG bag (serialized DAGs from the database, cached per version)."""
    from airflow.api_fastapi.common.dagbag import create_dag_bag

    return create_dag_bag()


def _static(name: str) -> Response:
    filename, media_type = STATIC[name]
    body = (resources.files("airkube.page") / "static" / filename).read_bytes()
    return Response(body, media_type=media_type, headers=SECURITY_HEADERS)


router = APIRouter()
page_access = [Depends(requires_access_view(AccessView.WEBSITE))]


@router.get("/", dependencies=page_access, include_in_schema=False)
def page() -> Response:
    return _static("")


@router.get("/page.js", dependencies=page_access, include_in_schema=False)
def page_script() -> Response:
    return _static("page.js")


@router.get("/page.css", dependencies=page_access, include_in_schema=False)
def page_style() -> Response:
    return _static("page.css")


def _dags_payload(session: Any, dag_ids: set[str]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    models = figures.readable_dags(session, dag_ids)
    plans = records.latest_plans([model.dag_id for model in models])
    bag = _dag_bag()
    return [
        figures.dag_figures(
            session, model, bag.get_latest_version_of_dag(model.dag_id, session=session), plans, now
        )
        for model in models
    ]


@router.get("/api/dags", dependencies=[Depends(requires_access_dag("GET", DagAccessEntity.RUN))])
def dags(session: SessionDep, readable: ReadableDagIds) -> dict[str, Any]:
    """Every readable DAG: success rate, latest runs against the expectation, streak, latest plans."""
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "environment": platform_settings().environment,
        "dags": _dags_payload(session, readable),
    }


@router.get("/api/dags/{dag_id}", dependencies=[Depends(requires_access_dag("GET", DagAccessEntity.RUN))])
def one_dag(dag_id: str, session: SessionDep, readable: ReadableDagIds) -> dict[str, Any]:
    """One DAG's figures (the check above is for this DAG; the filter below finds it)."""
    found = _dags_payload(session, {dag_id} & readable)
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"DAG {dag_id!r} not found")
    return found[0]


@router.get("/api/teams", dependencies=[Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE))])
def teams(session: SessionDep, readable: ReadableDagIds) -> dict[str, Any]:
    """Per team: its DAGs, the tasks failing in their latest runs, the alerts sent in the last week."""
    bag = _dag_bag()
    dag_teams: dict[str, list[str]] = {}
    failing: list[dict[str, Any]] = []
    for model in figures.readable_dags(session, readable):
        task_teams = figures.task_teams(bag.get_latest_version_of_dag(model.dag_id, session=session))
        dag_teams[model.dag_id] = sorted(set(task_teams.values())) or [figures.UNKNOWN_TEAM]
        failing.extend(figures.failing_tasks(session, model.dag_id, task_teams))
    alerts = records.recent_alerts(days=ALERT_DAYS, limit=ALERT_LIMIT)
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "alert_days": ALERT_DAYS,
        "teams": figures.team_figures(failing, alerts, dag_teams),
    }


def create_app() -> FastAPI:
    """The app, without FastAPI's /docs, /redoc and /openapi.json: they would be routes without checks."""
    app = FastAPI(title="airkube platform page", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    return app
