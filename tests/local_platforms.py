"""One local platform for an end-to-end test module: its own temporary root, DAG files, alert
receivers and free ports, stopped and deleted afterwards. Every end-to-end module on the local
platform (tests/e2e, tests/faults) starts its platform here."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from airkube_dev.api import AirflowApi
from airkube_dev.layout import Layout, Ports
from airkube_dev.platform import Platform
from airkube_dev.processes import free_port
from receivers import HttpReceiver, StatsdReceiver, alert_env, alert_receivers

AlertEnv = Callable[[HttpReceiver, HttpReceiver, StatsdReceiver], dict[str, str]]


@dataclass
class StartedPlatform:
    platform: Platform
    api: AirflowApi
    slack: HttpReceiver
    datadog: HttpReceiver
    statsd: StatsdReceiver


@contextmanager
def started_platform(
    prefix: str,
    dag_files: Mapping[str, str],
    *,
    schedules: bool = False,
    env: AlertEnv = alert_env,
) -> Iterator[StartedPlatform]:
    """A running platform serving `dag_files` (file name -> source); `schedules` as Platform's
    (False: only the runs a test triggers); `env` wires the alert receivers into every component."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)  # PostgreSQL runs as an unprivileged user when the tests run as root
    dags = root / "dags"
    dags.mkdir()
    for name, source in dag_files.items():
        (dags / name).write_text(source)
    try:
        with alert_receivers() as (slack, datadog, statsd):
            platform = Platform(
                Layout(root / "state"),
                dags_folder=dags,
                extra_env=env(slack, datadog, statsd),
                schedules=schedules,
            )
            try:
                platform.up(Ports(postgres=free_port(), pgbouncer=free_port(), api=free_port()))
                api = AirflowApi(platform.api_url(), *platform.login())
                yield StartedPlatform(platform, api, slack, datadog, statsd)
            finally:
                platform.down()
    finally:
        shutil.rmtree(root, ignore_errors=True)
