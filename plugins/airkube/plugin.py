"""Registers airkube with Airflow, through the package's `airflow.plugins` entry point (pyproject.toml),
so the plugin comes with the installed library: in the Airflow image as in the dev venv.

Loading it makes every Airflow process that loads plugins import the library once: with
`[core] lazy_load_plugins = False` the scheduler does so at start-up, and the LocalExecutor's
workers and their task processes, forked from it, inherit KubernetesPodOperator and airkube instead
of importing them again for every task (about 0.85 s of CPU each; see bench/platform_run.py).

The platform page (airkube.page) is a FastAPI app only the api-server mounts: `fastapi_apps` builds it
when first asked (by the api-server, or `airflow plugins`), so the scheduler, the dag-processor, the
triggerer and task processes never import it.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

import airkube
from airkube.alerts import drainer, metrics, streaks

PAGE_URL_PREFIX = "/airkube"


@functools.cache
def _page_app() -> Any:
    from airkube.page.app import create_app

    return create_app()


class AirkubePlugin(AirflowPlugin):
    """The platform's plugin: per-task DogStatsD metrics, failure streaks and recoveries (queued in the
    alert outbox, sent by the scheduler's outbox drainer), the platform page and its entry in the UI's
    navigation."""

    name = "airkube"
    version = airkube.__version__
    listeners: ClassVar[list] = [metrics, streaks, drainer]
    # In the navigation, shown in an iframe inside the UI at /plugin/airkube. The href is relative (no
    # leading slash): the UI resolves it against its base URL, so it works under a path prefix too.
    external_views: ClassVar[list] = [
        {
            "name": "Platform",
            "href": f"{PAGE_URL_PREFIX.lstrip('/')}/",
            "destination": "nav",
            "url_route": "airkube",
        }
    ]

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """Built on first access, once per process (the plugins manager reads it from the instance)."""
        return [{"name": "airkube platform page", "app": _page_app(), "url_prefix": PAGE_URL_PREFIX}]
