"""Airflow 3's components (api-server, schedulers, dag-processor, triggerer), run by the supervisor
(airkube_dev.supervisor) in the background and waited on until healthy."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from airkube_dev import processes, supervisor
from airkube_dev.errors import PlatformError
from airkube_dev.layout import Layout

ROLES = ("api-server", "scheduler", "dag-processor", "triggerer")
"""What each component runs: `airflow <role>`."""
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
            f"--password={password}",  # one argument: a password may start with "-" (token_urlsafe)
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


def names(schedulers: int) -> list[str]:
    """The components of a platform with `schedulers` schedulers (scheduler-1, scheduler-2, ...)."""
    return ["api-server", *(f"scheduler-{n}" for n in range(1, schedulers + 1)), "dag-processor", "triggerer"]


def role(name: str) -> str:
    """The Airflow command a component runs: scheduler-2 runs `airflow scheduler`."""
    return "scheduler" if name.startswith("scheduler-") else name


def start_all(layout: Layout, envs: Mapping[str, Mapping[str, str]]) -> None:
    """Hand the components (`envs`: name -> environment) to the supervisor, started if it is not
    running, and have it start at once whatever is down."""
    specs = [
        supervisor.ComponentSpec(name, [airflow_binary(), role(name)], dict(env))
        for name, env in envs.items()
    ]
    supervisor.write_specs(layout, specs)
    pid = processes.read_pid(supervisor.pid_file(layout))
    if pid is not None:
        os.kill(pid, signal.SIGUSR1)
        return
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
    processes.start(
        [sys.executable, "-m", "airkube_dev", "supervise", str(layout.root)],
        pid_file=supervisor.pid_file(layout),
        log_file=layout.logs / "supervisor.log",
        env={k: v for k, v in os.environ.items() if k in keep},
    )


def stop_all(layout: Layout) -> list[str]:
    """Stop the supervisor, then the components by their pid files, api-server last so running tasks
    can report; the restart counts go with them."""
    stopped = ["supervisor"] if processes.stop(supervisor.pid_file(layout)) else []
    for name in reversed(list(running(layout))):
        if processes.stop(layout.pids / f"{name}.pid"):
            stopped.append(name)
    supervisor.status_file(layout).unlink(missing_ok=True)
    return stopped


def running(layout: Layout) -> dict[str, int | None]:
    """Each component the supervisor was given -> its pid, None when it is not running."""
    return {
        spec.name: processes.read_pid(layout.pids / f"{spec.name}.pid")
        for spec in supervisor.read_specs(layout)
    }


def health(api_url: str) -> dict[str, str]:
    """The api-server's own health view of the metadata DB and every component."""
    with urllib.request.urlopen(f"{api_url}/api/v2/monitor/health", timeout=5) as response:
        document = json.load(response)
    return {key: document.get(key, {}).get("status", "unknown") for key in HEALTH_KEYS}


def wait_until_healthy(layout: Layout, api_url: str, timeout: float = 240.0) -> None:
    """Until every component runs and the api-server reports all healthy. A component that keeps
    exiting meanwhile (restarted twice: once may be the supervisor finding it dead from before) fails
    the start with how it exited."""
    restarts = {name: entry.restarts for name, entry in supervisor.read_status(layout).items()}
    deadline = time.monotonic() + timeout
    last: dict[str, str] | str = "no answer yet"
    while time.monotonic() < deadline:
        if processes.read_pid(supervisor.pid_file(layout)) is None:
            raise PlatformError(f"the supervisor exited during start-up; see {layout.logs}/supervisor.log")
        crashing = {
            name: entry.last_exit
            for name, entry in supervisor.read_status(layout).items()
            if entry.restarts >= restarts.get(name, 0) + 2
        }
        if crashing:
            details = "; ".join(f"{name} keeps exiting ({how})" for name, how in crashing.items())
            raise PlatformError(f"{details} during start-up; see {layout.logs}/<component>.log")
        try:
            last = health(api_url)
            started = all(pid is not None for pid in running(layout).values())
            if started and all(status == "healthy" for status in last.values()):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError) as err:
            last = str(err)
        time.sleep(2)
    raise PlatformError(f"Airflow was not healthy after {timeout:.0f}s (last: {last}); logs in {layout.logs}")
