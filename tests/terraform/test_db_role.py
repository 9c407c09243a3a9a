"""terraform/platform/sql/airflow_role.sql against a real PostgreSQL, run the way the platform layer's
airkube-db-role job runs it: the job's own command (psql and its flags, from terraform/platform/main.tf), the
environment its Secret gives (the same keys), as a master user with the powers RDS gives its master user:
not superuser, CREATEROLE and CREATEDB, owner of Airflow's database (names from terraform/modules/rds).

Proved here: the role it makes logs in with the password it is given and nothing more (no superuser, no
CREATEROLE, no CREATEDB, no replication, no RLS bypass, no membership, nothing in the public schema or the
master's tables); Airflow's own `airflow db migrate` runs as it, straight to PostgreSQL as the migration job
does, and every table lands in the role's schema, owned by the role; a second run (a deliberate rotation)
changes the password and keeps the schema; PgBouncer, with a users.txt in the platform layer's format, logs
in as the role. Not proved here: PostgreSQL is 15 on this machine and 16 on RDS (the script uses only what
both allow a CREATEROLE master user), and TLS (RDS forces it; the job sets PGSSLMODE=require).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import errors

from airkube_dev.database import ServiceUser, find_binary
from airkube_dev.processes import free_port
from airkube_plan.terraform_vars import load_hcl
from paths import REPO
from throwaway_postgres import throwaway_postgres

pytestmark = pytest.mark.slow

PLATFORM = REPO / "terraform" / "platform"
SQL_DIR = PLATFORM / "sql"
MASTER_PASSWORD = "master-password-1"


def _resource(path: Path, kind: str, name: str) -> dict[str, Any]:
    for block in load_hcl(path).get("resource", []):
        if name in block.get(kind, {}):
            return block[kind][name]
    raise AssertionError(f"{path} has no {kind}.{name}")


def _rds_names() -> tuple[str, str, str]:
    """The master user and database the rds module makes, and the default name of Airflow's role."""
    rds = REPO / "terraform" / "modules" / "rds"
    instance = _resource(rds / "main.tf", "aws_db_instance", "this")
    role = next(
        b["airflow_role"]["default"]
        for b in load_hcl(rds / "variables.tf")["variable"]
        if "airflow_role" in b
    )
    return instance["username"], instance["db_name"], role


def _job() -> tuple[list[str], set[str]]:
    """The role job's command, its SQL file's mount path replaced by the repository's folder, and the
    environment variable names its Secret provides."""
    main = PLATFORM / "main.tf"
    job = _resource(main, "kubernetes_job_v1", "db_role")
    container = job["spec"][0]["template"][0]["spec"][0]["container"][0]
    mount = container["volume_mount"][0]["mount_path"]
    command = [part.replace(f"{mount}/", f"{SQL_DIR}/") for part in container["command"]]
    sql_files = set(_resource(main, "kubernetes_config_map_v1", "db_role_sql")["data"])
    assert {p.name for p in SQL_DIR.glob("*.sql")} == sql_files, "the job mounts every script of sql/"
    return command, set(_resource(main, "kubernetes_secret_v1", "db_role")["data"])


@dataclass
class Cluster:
    port: int
    master: str
    database: str
    role: str
    role_password: str = "role-password-1"

    def connect(self, user: str, password: str) -> closing[Any]:
        """An autocommit connection over TCP (scram-sha-256, as on RDS), closed at the end of `with`."""
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=user, password=password, dbname=self.database
        )
        connection.autocommit = True
        return closing(connection)

    def run_role_sql(self, **environ: str) -> subprocess.CompletedProcess[str]:
        """The job's command with the keys of the job's Secret, set as the platform sets them (but no TLS)."""
        command, keys = _job()
        values = {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGDATABASE": self.database,
            "PGUSER": self.master,
            "PGPASSWORD": MASTER_PASSWORD,
            "PGSSLMODE": "disable",
            "AIRKUBE_DB_ROLE": self.role,
            "AIRKUBE_DB_ROLE_PASSWORD": self.role_password,
        }
        assert set(values) == keys, f"the job's Secret gives {sorted(keys)}"
        values.update(environ)
        env = {"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8", **{k: v for k, v in values.items() if v}}
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="module")
def service_user() -> ServiceUser:
    """PostgreSQL and PgBouncer refuse root: as root, they run as `postgres` (or `nobody`), as in make dev."""
    return ServiceUser.for_current_process()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, service_user: ServiceUser) -> Iterator[Cluster]:
    """A PostgreSQL cluster playing RDS, and the script's first run in it."""
    folder = tmp_path_factory.mktemp("airflow-role-pg")
    with throwaway_postgres(folder, service_user, host_auth="scram-sha-256") as pg:
        port, sockets = pg.port, pg.sockets
        master, database, role = _rds_names()
        superuser = psycopg2.connect(host=str(sockets), port=port, user="postgres", dbname="postgres")
        superuser.autocommit = True
        with superuser.cursor() as cursor:
            # What RDS makes: the master user, no superuser, and Airflow's database, which it owns.
            cursor.execute(f"CREATE ROLE {master} LOGIN CREATEROLE CREATEDB PASSWORD %s", (MASTER_PASSWORD,))
            cursor.execute(f"CREATE DATABASE {database} OWNER {master}")
        superuser.close()
        made = Cluster(port, master, database, role)
        with made.connect(master, MASTER_PASSWORD) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE public.master_only (secret text)")  # not the role's to read
        first = made.run_role_sql()
        assert first.returncode == 0, first.stdout + first.stderr
        yield made


def _query(connection: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


def _assert_least_privileged(cluster: Cluster) -> None:
    with cluster.connect(cluster.master, MASTER_PASSWORD) as master:
        attributes = _query(
            master,
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin "
            "FROM pg_roles WHERE rolname = %s",
            cluster.role,
        )
        assert attributes == [(False, False, False, False, False, True)]
        # Member of no role, and no one (the master user included) is left a member of it.
        memberships = (
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.{} WHERE r.rolname = %s"
        )
        assert _query(master, memberships.format("member"), cluster.role) == [(0,)]
        assert _query(master, memberships.format("roleid"), cluster.role) == [(0,)]
        assert _query(
            master, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s", cluster.role
        ) == [(cluster.role,)]
    with cluster.connect(cluster.role, cluster.role_password) as role:
        assert _query(role, "SHOW search_path") == [(cluster.role,)]


def test_role_may_log_in_and_nothing_more(cluster: Cluster) -> None:
    _assert_least_privileged(cluster)


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE ROLE intruder",
        "CREATE DATABASE elsewhere",
        "CREATE TABLE public.stray (x int)",
        "SELECT * FROM public.master_only",
        "ALTER ROLE CURRENT_USER CREATEDB",
        "SET ROLE {master}",
        "CREATE SCHEMA another",
    ],
)
def test_role_reaches_nothing_beyond_its_schema(cluster: Cluster, statement: str) -> None:
    with (
        cluster.connect(cluster.role, cluster.role_password) as role,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        _query(role, statement.format(master=cluster.master))


@pytest.fixture(scope="module")
def migrated(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    """Airflow's schema, made by `airflow db migrate` as the role, straight to PostgreSQL (no PgBouncer), as
    the chart's migration job runs it with the Secret's direct-connection key."""
    home = tmp_path_factory.mktemp("airflow-role-home")
    url = f"postgresql+psycopg2://{cluster.role}:{cluster.role_password}@127.0.0.1:{cluster.port}/{cluster.database}"
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}
    migrate = [sys.executable, "-m", "airflow", "db", "migrate"]
    result = subprocess.run(migrate, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return cluster


def test_airflow_migrates_as_the_role_into_its_own_schema(migrated: Cluster) -> None:
    with migrated.connect(migrated.master, MASTER_PASSWORD) as master:
        tables = _query(
            master,
            "SELECT schemaname, tableowner, count(*) FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') GROUP BY 1, 2 ORDER BY 1",
        )
    schemas = {(schema, owner): count for schema, owner, count in tables}
    assert set(schemas) == {("public", migrated.master), (migrated.role, migrated.role)}, schemas
    assert schemas[("public", migrated.master)] == 1, "only the master user's own table is in public"
    assert schemas[(migrated.role, migrated.role)] > 50, "Airflow's tables"
    with migrated.connect(migrated.role, migrated.role_password) as role:
        assert _query(role, "SELECT count(*) FROM alembic_version") == [(1,)]


def test_second_run_rotates_the_password_and_keeps_the_schema(migrated: Cluster) -> None:
    old = migrated.role_password
    migrated.role_password = "role-password-2"
    again = migrated.run_role_sql()
    assert again.returncode == 0, again.stdout + again.stderr
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        migrated.connect(migrated.role, old)
    with migrated.connect(migrated.role, migrated.role_password) as role:
        assert _query(role, "SELECT count(*) FROM alembic_version") == [(1,)]
        assert _query(
            role,
            "SELECT count(*) FROM pg_tables WHERE tableowner <> current_user AND schemaname = %s",
            migrated.role,
        ) == [(0,)]
    _assert_least_privileged(migrated)


def test_script_refuses_to_run_without_its_inputs(cluster: Cluster) -> None:
    missing = cluster.run_role_sql(AIRKUBE_DB_ROLE_PASSWORD="")
    assert missing.returncode == 3, missing.stdout + missing.stderr
    assert "set AIRKUBE_DB_ROLE and AIRKUBE_DB_ROLE_PASSWORD" in missing.stderr
    with cluster.connect(cluster.role, cluster.role_password):
        pass  # the password is unchanged


def test_pgbouncer_logs_in_as_the_role(
    cluster: Cluster, service_user: ServiceUser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """PgBouncer in transaction mode with scram-sha-256 and a users.txt as the platform layer writes it
    (local.pgbouncer_users in terraform/platform/main.tf: `"<role>" "<password>"`), the role's password in
    plain text so PgBouncer can log in to PostgreSQL with it."""
    folder = tmp_path_factory.mktemp("airflow-role-pgbouncer")
    (folder / "users.txt").write_text(f'"{cluster.role}" "{cluster.role_password}"\n')
    port = free_port()
    (folder / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"airflow-metadata = host=127.0.0.1 port={cluster.port} dbname={cluster.database}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "pool_mode = transaction",
                "auth_type = scram-sha-256",
                f"auth_file = {folder / 'users.txt'}",
                "",
            ]
        )
    )
    service_user.own(folder)
    bouncer = subprocess.Popen(
        [find_binary("pgbouncer"), str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **service_user.popen_kwargs(),
    )
    try:
        _wait_for_port(port)
        connection = psycopg2.connect(
            host="127.0.0.1",
            port=port,
            user=cluster.role,
            password=cluster.role_password,
            dbname="airflow-metadata",
        )
        with closing(connection), connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_schema()")
            assert cursor.fetchall() == [(cluster.role, cluster.role)]
    finally:
        bouncer.terminate()
        bouncer.wait(timeout=10)
