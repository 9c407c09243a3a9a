"""A throwaway PostgreSQL cluster for a test module, run as an unprivileged user when the tests run as
root (PostgreSQL refuses root), as `make dev` runs it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from airkube_dev.database import ServiceUser, find_binary
from airkube_dev.processes import free_port


@dataclass(frozen=True)
class Cluster:
    port: int
    sockets: Path
    """The Unix socket folder: the `postgres` superuser connects there without a password."""


@contextmanager
def throwaway_postgres(folder: Path, user: ServiceUser, *, host_auth: str = "trust") -> Iterator[Cluster]:
    """initdb in `folder`, start on 127.0.0.1 and a socket folder of its own, stop (immediate) after."""
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    user.own(folder)
    as_service = {"env": {"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"}, **user.popen_kwargs()}
    initdb = [find_binary("initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust"]
    subprocess.run([*initdb, f"--auth-host={host_auth}"], check=True, capture_output=True, **as_service)
    port = free_port()
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sockets}"
    pg_ctl = [find_binary("pg_ctl"), "-D", str(data), "-l", str(folder / "postgres.log")]
    subprocess.run([*pg_ctl, "-o", options, "-w", "start"], check=True, capture_output=True, **as_service)
    try:
        yield Cluster(port, sockets)
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, **as_service)
