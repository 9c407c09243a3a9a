"""Where the local platform keeps its state: one git-ignored folder, nothing outside it."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from airkube_dev.errors import PlatformError

STATE_VERSION = 1


@dataclass(frozen=True)
class Ports:
    postgres: int
    pgbouncer: int
    api: int
    kube: int | None = None
    """The Kubernetes stand-in's API port (make dev-k8s only)."""


@dataclass(frozen=True)
class Secrets:
    """Made once per state folder, so a restart keeps logins, tokens and encrypted connections valid."""

    db_password: str
    admin_password: str
    jwt_secret: str
    api_secret_key: str
    fernet_key: str

    @classmethod
    def generate(cls) -> Secrets:
        return cls(
            db_password=secrets.token_urlsafe(24),
            admin_password=secrets.token_urlsafe(12),
            jwt_secret=secrets.token_urlsafe(32),
            api_secret_key=secrets.token_urlsafe(32),
            fernet_key=Fernet.generate_key().decode(),
        )


@dataclass(frozen=True)
class Layout:
    """Paths inside the state folder."""

    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / "platform.json"

    @property
    def postgres_dir(self) -> Path:
        """Owned by the unprivileged user PostgreSQL and PgBouncer run as."""
        return self.root / "postgres"

    @property
    def pgdata(self) -> Path:
        return self.postgres_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.postgres_dir / "run"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def data_dir(self) -> Path:
        """AIRKUBE_DATA_URL locally: the object-storage stand-in every task writes under."""
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"


@dataclass(frozen=True)
class State:
    """What must stay the same across restarts of one local platform."""

    ports: Ports
    secrets: Secrets

    def save(self, layout: Layout) -> None:
        layout.root.mkdir(parents=True, exist_ok=True)
        document = {"version": STATE_VERSION, "ports": asdict(self.ports), "secrets": asdict(self.secrets)}
        tmp = layout.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=2))
        tmp.chmod(0o600)
        os.replace(tmp, layout.state_file)

    @classmethod
    def load(cls, layout: Layout) -> State | None:
        """The saved state, None for a new folder; a damaged folder is refused, never overwritten."""
        if not layout.state_file.exists():
            if layout.pgdata.exists():
                raise PlatformError(_corrupt(layout, f"{layout.state_file.name} is missing"))
            return None
        try:
            document = json.loads(layout.state_file.read_text())
            if document.get("version") != STATE_VERSION:
                raise ValueError(f"state version {document.get('version')!r}, expected {STATE_VERSION}")
            state = cls(ports=Ports(**document["ports"]), secrets=Secrets(**document["secrets"]))
        except (ValueError, KeyError, TypeError) as err:
            raise PlatformError(_corrupt(layout, f"{layout.state_file.name} is unreadable ({err})")) from err
        if layout.pgdata.exists() and not (layout.pgdata / "PG_VERSION").exists():
            raise PlatformError(_corrupt(layout, "the PostgreSQL data folder has no PG_VERSION"))
        return state


def _corrupt(layout: Layout, reason: str) -> str:
    return (
        f"the local state folder {layout.root} is damaged: {reason}. Nothing was changed or deleted. "
        f"Restore it from a copy, or run `make clean` to remove it (this deletes the local metadata "
        f"database and every output under {layout.data_dir}), then `make dev` again."
    )
