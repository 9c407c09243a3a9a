"""The local platform as one object: up (idempotent), down (by pid), clean, status."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from airkube_dev import components, processes
from airkube_dev.airflow_env import ADMIN_USER, DEFAULT_PARALLELISM, airflow_env
from airkube_dev.database import PgBouncer, Postgres, ServiceUser, find_binary
from airkube_dev.errors import PlatformError
from airkube_dev.layout import Layout, Ports, Secrets, State

REPO = Path(__file__).resolve().parents[2]
PORT_VARIABLES = {
    "postgres": "AIRKUBE_DEV_PG_PORT",
    "pgbouncer": "AIRKUBE_DEV_PGBOUNCER_PORT",
    "api": "AIRKUBE_DEV_API_PORT",
    "kube": "AIRKUBE_DEV_KUBE_PORT",
}
DEFAULT_PORTS = Ports(postgres=15432, pgbouncer=16432, api=8080)


@dataclass
class Platform:
    """One local airkube platform rooted at `layout.root`."""

    layout: Layout
    dags_folder: Path = REPO / "dags"
    plugins_folder: Path = REPO / "plugins"
    parallelism: int = DEFAULT_PARALLELISM
    """Task slots of the whole platform, shared out between the schedulers' LocalExecutors."""
    schedulers: int = 2
    """Airflow's active-active schedulers, as production runs them (the chart's scheduler replicas)."""
    schedules: bool = True
    """Production's scheduling: DAGs arrive paused; an unpaused DAG runs by its timetable, and a DAG
    scheduled on an asset runs when the asset is published. False: nothing runs by itself (DAGs arrive
    unpaused, runs start only from a trigger or a backfill): for tests and benchmarks that count runs."""
    via_pgbouncer: bool = True
    """False connects Airflow straight to PostgreSQL: only for the connection benchmark."""
    extra_env: dict[str, str] = field(default_factory=dict)
    """More variables for every component (e.g. AIRFLOW_CONN_* of alert receivers in the tests)."""

    def state(self) -> State:
        state = State.load(self.layout)
        if state is None:
            raise PlatformError(f"no local platform in {self.layout.root}: run `make dev` first")
        return state

    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.state().ports.api}"

    def env(self, state: State | None = None) -> dict[str, str]:
        state = state or self.state()
        user = ServiceUser.for_current_process()
        conn = (PgBouncer if self.via_pgbouncer else Postgres)(self.layout, state, user)
        url = conn.url() if self.via_pgbouncer else conn.direct_url()
        env = airflow_env(
            self.layout,
            state,
            sql_alchemy_conn=url,
            dags_folder=self.dags_folder,
            plugins_folder=self.plugins_folder,
            parallelism=max(1, self.parallelism // self.schedulers),
            schedules=self.schedules,
        )
        return {**env, **self.extra_env}

    def up(self, requested_ports: Ports = DEFAULT_PORTS) -> State:
        """Start whatever is not running yet; a second call changes nothing."""
        state = State.load(self.layout)  # refuses a damaged folder before touching anything
        for binary in ("initdb", "pg_ctl", "postgres"):
            find_binary(binary)
        _ensure_pgbouncer_installed()
        state = state or State(ports=requested_ports, secrets=Secrets.generate())
        user = ServiceUser.for_current_process()
        postgres = Postgres(self.layout, state, user)
        pgbouncer = PgBouncer(self.layout, state, user)
        self._check_ports(state, postgres.is_running(), pgbouncer.is_running())
        state.save(self.layout)
        for folder in (self.layout.logs, self.layout.pids, self.layout.data_dir, self.layout.airflow_home):
            folder.mkdir(parents=True, exist_ok=True)
        postgres.ensure_initialized()
        postgres.start()
        postgres.ensure_database()
        pgbouncer.start()
        self.prepare(state)
        env = self.env(state)
        components.migrate({**env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.direct_url()})
        components.ensure_admin(env, ADMIN_USER, state.secrets.admin_password)
        components.start_all(
            self.layout,
            {name: self.component_env(components.role(name), state) for name in self.component_names(state)},
        )
        components.wait_until_healthy(self.layout, f"http://127.0.0.1:{state.ports.api}")
        return state

    def prepare(self, state: State) -> None:
        """What must exist before the components start (LocalExecutor needs nothing more)."""

    def component_names(self, state: State) -> list[str]:
        """api-server, scheduler-1 ... scheduler-N, dag-processor, triggerer."""
        return components.names(self.schedulers)

    def component_env(self, component: str, state: State) -> dict[str, str]:
        """The environment of one component (by role: `scheduler` for each scheduler); the same for all
        with LocalExecutor."""
        return self.env(state)

    def _check_ports(self, state: State, postgres_running: bool, pgbouncer_running: bool) -> None:
        api_running = components.running(self.layout).get("api-server") is not None
        already = {
            "postgres": postgres_running,
            "pgbouncer": pgbouncer_running,
            "api": api_running,
            "kube": self.kube_running(),
        }
        for service, port in vars(state.ports).items():
            if port is not None and not already[service] and not processes.port_is_free(port):
                raise PlatformError(
                    f"port {port} ({service}) is already in use by another process. Stop that process, "
                    f"or pick a free port with {PORT_VARIABLES[service]}=<port> (a new state folder only; "
                    f"this one keeps its ports: {self.layout.state_file}), then run `make dev` again."
                )

    def kube_running(self) -> bool:
        """Whether the Kubernetes stand-in of this state folder runs (never, with LocalExecutor)."""
        return False

    def down(self) -> list[str]:
        """Stop exactly what `up` started, by pid; data stays."""
        state = State.load(self.layout)
        if state is None:
            return []
        stopped = components.stop_all(self.layout)
        user = ServiceUser.for_current_process()
        pgbouncer = PgBouncer(self.layout, state, user)
        if pgbouncer.is_running():
            pgbouncer.stop()
            stopped.append("pgbouncer")
        postgres = Postgres(self.layout, state, user)
        if postgres.is_running():
            postgres.stop()
            stopped.append("postgres")
        return stopped

    def clean(self) -> None:
        """Stop everything and remove the state folder: metadata database, logs and outputs."""
        with contextlib.suppress(PlatformError):  # a damaged folder is exactly what clean is for
            self.down()
        shutil.rmtree(self.layout.root, ignore_errors=True)

    def login(self) -> tuple[str, str]:
        return ADMIN_USER, self.state().secrets.admin_password


def ports_from_environment(defaults: Ports = DEFAULT_PORTS) -> Ports:
    values: dict[str, int | None] = {}
    for service, variable in PORT_VARIABLES.items():
        default = getattr(defaults, service)
        if default is None:
            values[service] = None
            continue
        raw = os.environ.get(variable, str(default))
        if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
            raise PlatformError(f"{variable}={raw!r} is not a port number between 1024 and 65535")
        values[service] = int(raw)
    return Ports(**values)


def _ensure_pgbouncer_installed() -> None:
    """Install Debian's pgbouncer when missing, if running as root and not told otherwise."""
    try:
        find_binary("pgbouncer")
        return
    except PlatformError:
        if os.geteuid() != 0 or os.environ.get("AIRKUBE_DEV_INSTALL_PACKAGES", "1") != "1":
            raise
    quiet = {"stdin": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    processes.run(["apt-get", "update", "-qq"], what="apt-get update", **quiet)
    processes.run(["apt-get", "install", "-y", "-qq", "pgbouncer"], what="apt-get install pgbouncer", **quiet)
    find_binary("pgbouncer")
