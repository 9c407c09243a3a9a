"""The four Airflow 3 components, started in the background and waited on until healthy."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from airkube_dev import processes
from airkube_dev.errors import PlatformError
from airkube_dev.layout import Layout

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HEALTH_KEYS = {"metadatabase", "scheduler", "triggerer", "dag_processor"}


def airflow_binary() -> str:
    return str(Path(sys.executable).parent / "airflow")


def migrate(env: Mapping[str, str]) -> None:
    """`airflow db migrate`: creates or upgrades the schema; safe to run on every start."""
    processes.run([airflow_binary(), "db", "migrate"], what="airflow db migrate", env=dict(env))


def ensure_admin(env: Mapping[str, str], username: str, password: str) -> None:
    """The UI login, made once per state folder with FAB's own CLI (as helm/README.md does in a cluster).

    A marker in AIRFLOW_HOME skips the 10 s CLI start on later runs; `users create` itself refuses
    nothing when the user exists, so a lost marker costs only time.
    """
    marker = Path(env["AIRFLOW_HOME"]) / ".admin-created"
    if marker.exists():
        return
    processes.run(
        [
            airflow_binary(),
            "users",
            "create",
            "--username",
            username,
            "--password",
            password,
            "--role",
            "Admin",
            "--email",
            "admin@airkube.invalid",
            "--firstname",
            "airkube",
            "--lastname",
            "admin",
        ],
        what="airflow users create (the local admin)",
        env=dict(env),
    )
    marker.write_text("")


def start_all(layout: Layout, envs: Mapping[str, Mapping[str, str]]) -> None:
    """Start each component that is not running, with its own environment (`envs[name]`)."""
    for name in COMPONENTS:
        pid_file = layout.pids / f"{name}.pid"
        if processes.read_pid(pid_file) is None:
            processes.start(
                [airflow_binary(), name],
                pid_file=pid_file,
                log_file=layout.logs / f"{name}.log",
                env=envs[name],
            )


def stop_all(layout: Layout) -> list[str]:
    """Stop the components by their pid files, api-server last so running tasks can report."""
    stopped = []
    for name in reversed(COMPONENTS):
        if processes.stop(layout.pids / f"{name}.pid"):
            stopped.append(name)
    return stopped


def running(layout: Layout) -> dict[str, int | None]:
    return {name: processes.read_pid(layout.pids / f"{name}.pid") for name in COMPONENTS}


def health(api_url: str) -> dict[str, str]:
    """The api-server's own health view of the metadata DB and every component."""
    with urllib.request.urlopen(f"{api_url}/api/v2/monitor/health", timeout=5) as response:
        document = json.load(response)
    return {key: document.get(key, {}).get("status", "unknown") for key in HEALTH_KEYS}


def wait_until_healthy(layout: Layout, api_url: str, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    last: dict[str, str] | str = "no answer yet"
    while time.monotonic() < deadline:
        dead = [name for name, pid in running(layout).items() if pid is None]
        if dead:
            raise PlatformError(
                f"{', '.join(dead)} exited during start-up; see {layout.logs}/<component>.log"
            )
        try:
            last = health(api_url)
            if all(status == "healthy" for status in last.values()):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError) as err:
            last = str(err)
        time.sleep(2)
    raise PlatformError(f"Airflow was not healthy after {timeout:.0f}s (last: {last}); logs in {layout.logs}")
