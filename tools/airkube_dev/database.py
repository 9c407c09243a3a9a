"""A project-local PostgreSQL cluster and PgBouncer in front of it, in transaction pooling mode.

PostgreSQL and PgBouncer both refuse to run as root; when `make dev` runs as root, they run as an
unprivileged user (`postgres` if the machine has one, else `nobody`) that owns only their folder.
Airflow connects through PgBouncer, as the chart does in production; migrations connect directly,
because they take session-level advisory locks that transaction pooling cannot hold.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from airkube_dev import processes, production_guards
from airkube_dev.errors import PlatformError
from airkube_dev.layout import Layout, State

DB_NAME = "airflow"
DB_USER = "airflow"
SUPERUSER = "postgres"
# Server-side connections PgBouncer opens to the metadata database, at most.
POOL_SIZE = 20
MAX_CLIENT_CONNECTIONS = 500
INSTALL_HINT = {
    "postgres": "install PostgreSQL's server (Debian: `apt-get install postgresql`) or put its bin/ on PATH",
    "pgbouncer": "install PgBouncer (Debian: `apt-get install pgbouncer`)",
}


def find_binary(name: str) -> str:
    """The path of `name`, or a refusal that says how to install it."""
    # Debian keeps the server binaries off PATH, in /usr/lib/postgresql/<major>/bin.
    versioned = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", *map(str, reversed(versioned))):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    package = "pgbouncer" if name == "pgbouncer" else "postgres"
    raise PlatformError(f"`{name}` was not found: {INSTALL_HINT[package]}")


@dataclass(frozen=True)
class ServiceUser:
    """The OS user PostgreSQL and PgBouncer run as (None: the current, non-root user)."""

    name: str | None

    @classmethod
    def for_current_process(cls) -> ServiceUser:
        if os.geteuid() != 0:
            return cls(None)
        for candidate in ("postgres", "nobody"):
            try:
                pwd.getpwnam(candidate)
            except KeyError:
                continue
            return cls(candidate)
        raise PlatformError("running as root, and no `postgres` or `nobody` user exists to run PostgreSQL as")

    def popen_kwargs(self) -> dict:
        if self.name is None:
            return {}
        entry = pwd.getpwnam(self.name)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        """Give `path` (recursively) to the service user, and let it traverse the state folder."""
        if self.name is None:
            return
        entry = pwd.getpwnam(self.name)
        for folder in [path, *path.rglob("*")]:
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        for parent in path.parents:
            if parent.stat().st_mode & 0o001 == 0 and parent.stat().st_uid == os.geteuid():
                parent.chmod(parent.stat().st_mode | 0o011)
            if parent == Path(parent.anchor):
                break


class Postgres:
    """initdb once, then pg_ctl start/stop, on 127.0.0.1 and a project-local socket folder."""

    def __init__(self, layout: Layout, state: State, user: ServiceUser) -> None:
        self.layout = layout
        self.state = state
        self.user = user

    def _pg(self, binary: str, *args: str, what: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        return processes.run(
            [find_binary(binary), *args], what=what, env=env, cwd="/", **self.user.popen_kwargs()
        )

    def is_running(self) -> bool:
        return processes.read_pid(self.layout.pgdata / "postmaster.pid") is not None

    def ensure_initialized(self) -> None:
        if (self.layout.pgdata / "PG_VERSION").exists():
            return
        self.layout.postgres_dir.mkdir(parents=True, exist_ok=True)
        self.layout.socket_dir.mkdir(exist_ok=True)
        self.user.own(self.layout.postgres_dir)
        self._pg(
            "initdb",
            "-D", str(self.layout.pgdata),
            "-U", SUPERUSER,
            "--auth-local=trust",  # the socket folder is private to the service user and root
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            what="initdb of the local PostgreSQL cluster",
        )  # fmt: skip

    def start(self) -> None:
        if self.is_running():
            return
        idle_in_transaction_ms = production_guards.postgres_idle_in_transaction_session_timeout()
        options = (
            f"-p {self.state.ports.postgres} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.layout.socket_dir} -c max_connections=200 "
            f"-c idle_in_transaction_session_timeout={idle_in_transaction_ms}"
        )
        log = self.layout.postgres_dir / "postgres.log"
        self._pg(
            "pg_ctl", "-D", str(self.layout.pgdata), "-l", str(log), "-o", options, "-w", "-t", "60", "start",
            what=f"starting PostgreSQL on port {self.state.ports.postgres} (log: {log})",
        )  # fmt: skip

    def stop(self) -> None:
        if self.is_running():
            self._pg(
                "pg_ctl",
                "-D",
                str(self.layout.pgdata),
                "-m",
                "fast",
                "-w",
                "stop",
                what="stopping PostgreSQL",
            )

    def ensure_database(self) -> None:
        """The airflow role and database, made idempotently over the private socket."""
        connection = psycopg2.connect(
            host=str(self.layout.socket_dir),
            port=self.state.ports.postgres,
            user=SUPERUSER,
            dbname="postgres",
        )
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DB_USER,))
                verb = "ALTER" if cursor.fetchone() else "CREATE"
                cursor.execute(f"{verb} ROLE {DB_USER} LOGIN PASSWORD %s", (self.state.secrets.db_password,))
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
                if not cursor.fetchone():
                    cursor.execute(f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}")
        finally:
            connection.close()

    def direct_url(self) -> str:
        return (
            f"postgresql+psycopg2://{DB_USER}:{self.state.secrets.db_password}"
            f"@127.0.0.1:{self.state.ports.postgres}/{DB_NAME}"
        )


class PgBouncer:
    """PgBouncer in transaction mode: many Airflow connections share a small server-side pool."""

    def __init__(self, layout: Layout, state: State, user: ServiceUser) -> None:
        self.layout = layout
        self.state = state
        self.user = user
        self.folder = layout.postgres_dir / "pgbouncer"

    @property
    def pid_file(self) -> Path:
        return self.folder / "pgbouncer.pid"

    def is_running(self) -> bool:
        return processes.read_pid(self.pid_file) is not None

    def write_config(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        userlist = self.folder / "userlist.txt"
        userlist.write_text(f'"{DB_USER}" "{self.state.secrets.db_password}"\n')
        userlist.chmod(0o600)
        config = self.folder / "pgbouncer.ini"
        config.write_text(
            "\n".join(
                [
                    "[databases]",
                    f"{DB_NAME} = host=127.0.0.1 port={self.state.ports.postgres} dbname={DB_NAME}",
                    "",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.state.ports.pgbouncer}",
                    "unix_socket_dir =",
                    "auth_type = scram-sha-256",
                    f"auth_file = {userlist}",
                    "pool_mode = transaction",
                    f"max_client_conn = {MAX_CLIENT_CONNECTIONS}",
                    f"default_pool_size = {POOL_SIZE}",
                    f"max_db_connections = {POOL_SIZE}",
                    "reserve_pool_size = 0",
                    "ignore_startup_parameters = extra_float_digits",
                    f"idle_transaction_timeout = {production_guards.pgbouncer_idle_transaction_timeout()}",
                    f"logfile = {self.folder / 'pgbouncer.log'}",
                    f"pidfile = {self.pid_file}",
                    "",
                ]
            )
        )
        self.user.own(self.folder)
        return config

    def start(self) -> None:
        if self.is_running():
            return
        config = self.write_config()
        processes.run(
            [find_binary("pgbouncer"), "-d", "-q", str(config)],
            what=f"starting PgBouncer on port {self.state.ports.pgbouncer} (log in {self.folder})",
            cwd="/",
            **self.user.popen_kwargs(),
        )

    def stop(self) -> None:
        processes.stop(self.pid_file)

    def url(self) -> str:
        return (
            f"postgresql+psycopg2://{DB_USER}:{self.state.secrets.db_password}"
            f"@127.0.0.1:{self.state.ports.pgbouncer}/{DB_NAME}"
        )
