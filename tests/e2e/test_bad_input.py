"""`make dev` refuses what it cannot do, says what to do instead, and loses nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airkube_dev.processes import free_port
from paths import REPO
from snapshots import snapshot


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port some other program already listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def make_dev(state: Path, **ports: int) -> subprocess.CompletedProcess[str]:
    """What `make dev` runs, against a given state folder and ports."""
    env = {**os.environ, "AIRKUBE_DEV_STATE": str(state)}
    env.update({f"AIRKUBE_DEV_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    return subprocess.run(
        [sys.executable, "-m", "airkube_dev", "up"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )


def test_a_taken_port_is_refused_before_anything_starts(tmp_path, listening_port):
    state = tmp_path / "state"
    result = make_dev(state, pg=free_port(), pgbouncer=free_port(), api=listening_port)
    assert result.returncode == 1
    assert f"port {listening_port} (api) is already in use by another process" in result.stderr
    assert "AIRKUBE_DEV_API_PORT=<port>" in result.stderr
    assert not (state / "postgres").exists(), "PostgreSQL was initialised although the start was refused"


def _earlier_run(state: Path) -> dict[str, str]:
    """Outputs of an earlier run, as the platform keeps them."""
    output = state / "data" / "high_priorities" / "orders.extract" / "20261122T000000"
    output.mkdir(parents=True)
    (output / "data.jsonl").write_text('{"id":"orders-20261122-00000"}\n')
    return snapshot(state)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda state: (state / "platform.json").write_text("{not json"), "platform.json is unreadable"),
        (lambda state: (state / "platform.json").write_text(json.dumps({"version": 99})), "state version 99"),
        (lambda state: (state / "postgres" / "data").mkdir(parents=True), "platform.json is missing"),
    ],
    ids=["garbled", "other-version", "missing-state-file"],
)
def test_a_damaged_state_folder_is_refused_and_left_untouched(tmp_path, damage, reason):
    state = tmp_path / "state"
    state.mkdir()
    damage(state)
    before = _earlier_run(state)
    result = make_dev(state, pg=free_port(), pgbouncer=free_port(), api=free_port())
    assert result.returncode == 1
    assert "is damaged" in result.stderr and reason in result.stderr
    assert "Nothing was changed or deleted" in result.stderr and "make clean" in result.stderr
    assert snapshot(state) == before
