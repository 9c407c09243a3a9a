"""Pid files name only the process they were written for: `make stop` never signals a process that
took the pid later (after the first one ended, or after a reboot). Real processes, real /proc."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from airkube_dev import processes


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen]:
    """A `sleep 60` in a session (and process group) of its own, as the platform starts its processes."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def _record(pid_file: Path) -> dict[str, str]:
    """The identity line `write_pid_file` put under the pid."""
    _, identity = pid_file.read_text().splitlines()
    return dict(token.split("=", 1) for token in identity.split())


def _rewrite(pid_file: Path, pid: int, **identity: object) -> None:
    record = {**_record(pid_file), **{key: str(value) for key, value in identity.items()}}
    pid_file.write_text(f"{pid}\n" + " ".join(f"{key}={value}" for key, value in record.items()) + "\n")


def _assert_left_alone(pid_file: Path, proc: subprocess.Popen) -> None:
    assert processes.read_pid(pid_file) is None
    assert processes.stop(pid_file, timeout=5) is False
    assert not pid_file.exists(), "stop removes a stale pid file"
    time.sleep(0.3)  # a signal, had one been sent, has been delivered by now
    assert proc.poll() is None, f"stop signalled a process its pid file does not name: {proc.returncode}"


def test_read_pid_finds_the_process_the_writer_recorded(sleeper, tmp_path):
    pid_file = tmp_path / "sleep.pid"
    processes.write_pid_file(pid_file, sleeper.pid)
    assert processes.read_pid(pid_file) == sleeper.pid
    record = _record(pid_file)
    assert record["boot_id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert int(record["start_ticks"]) > 0


def test_a_pid_file_recording_another_start_time_is_ignored_and_its_pid_not_signalled(sleeper, tmp_path):
    """The pid is alive, but it is not the process the file was written for (pid reuse)."""
    pid_file = tmp_path / "sleep.pid"
    processes.write_pid_file(pid_file, sleeper.pid)
    _rewrite(pid_file, sleeper.pid, start_ticks=int(_record(pid_file)["start_ticks"]) - 100)
    _assert_left_alone(pid_file, sleeper)


def test_a_pid_file_from_another_boot_is_ignored_and_its_pid_not_signalled(sleeper, tmp_path):
    """Same pid and start time, as a deterministic boot can repeat them, but written before a reboot."""
    pid_file = tmp_path / "sleep.pid"
    processes.write_pid_file(pid_file, sleeper.pid)
    _rewrite(pid_file, sleeper.pid, boot_id=uuid.uuid4())
    _assert_left_alone(pid_file, sleeper)


@pytest.mark.parametrize(
    "extra_lines",
    [pytest.param("", id="pid-only"), pytest.param("/srv/pgdata\n1796227642\n5432\n", id="postmaster.pid")],
)
def test_a_pid_file_without_identity_counts_only_for_a_process_started_before_it_was_written(
    sleeper, tmp_path, extra_lines
):
    """Files PostgreSQL and PgBouncer write, and those an earlier airkube wrote, hold the pid only."""
    pid_file = tmp_path / "foreign.pid"
    pid_file.write_text(f"{sleeper.pid}\n{extra_lines}")
    assert processes.read_pid(pid_file) == sleeper.pid
    an_hour_ago = time.time() - 3600  # written before the process started: before a reboot, say
    os.utime(pid_file, (an_hour_ago, an_hour_ago))
    _assert_left_alone(pid_file, sleeper)


def test_stop_ends_the_whole_process_group_of_a_genuine_pid_file(tmp_path):
    pid_file = tmp_path / "group.pid"
    pid = processes.start(
        ["sh", "-c", "sleep 60 & sleep 60 & wait"],
        pid_file=pid_file,
        log_file=tmp_path / "group.log",
        env=os.environ,
    )
    deadline = time.monotonic() + 10
    while len(_group(pid)) < 3 and time.monotonic() < deadline:  # the shell and its two sleeps
        time.sleep(0.05)
    members = _group(pid)
    assert len(members) == 3, members
    assert processes.read_pid(pid_file) == pid
    assert processes.stop(pid_file, timeout=10) is True
    assert not pid_file.exists()
    deadline = time.monotonic() + 5
    while _group(pid) and time.monotonic() < deadline:  # the sleeps' new parent reaps them
        time.sleep(0.05)
    assert _group(pid) == [], "a process of the group outlived stop"


def _group(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group `pgid`."""
    return processes.processes_where(processes.STAT_PROCESS_GROUP, pgid, live_only=True)
