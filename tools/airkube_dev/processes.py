"""Background processes the platform starts, each with a pid file and a log file, and stops by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from airkube_dev.errors import PlatformError


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:port (a bind attempt, as the server itself would do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port the kernel considers free right now (for tests that need several platforms)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_pid_file(pid_file: Path, pid: int) -> None:
    """Record `pid` in `pid_file` with the identity of the process it names now (see `read_pid`).

    The first line is the pid alone, as in every pid file; the second is
    `start_ticks=<field 22 of /proc/<pid>/stat> boot_id=<this boot's id>`. The file is replaced whole,
    so a reader never sees half of it. A process already gone is recorded by its pid alone.
    """
    process = _process(pid)
    text = f"{pid}\n"
    if process is not None:
        text += f"start_ticks={process.start_ticks} boot_id={process.boot_id}\n"
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    partial = pid_file.with_name(f".{pid_file.name}.{os.getpid()}")
    partial.write_text(text)
    partial.replace(pid_file)


def read_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process is alive and is the one the file was written for, else None.

    A pid outlives its process: once the process has ended, and across a reboot, the same number can
    name an unrelated process, which `stop` must never signal. So a pid counts only with the identity
    of the process it was written for:

    - A file from `write_pid_file` records the process's start time (clock ticks since boot: a
      process that takes the pid later in the same boot started later) and the boot id (new at every
      boot, so a file from before a reboot is stale even when pid and start time happen to repeat).
      Both must match the live process.
    - A file without that record (pid files PostgreSQL and PgBouncer write themselves, and files an
      earlier airkube wrote) counts when its process started no later than the file was last written,
      with a little slack for coarse clocks. A pid file is written after its process starts, so a
      process that started later is a different one: a pid reused since, or after a reboot (the file
      then predates the boot). Treating such a file simply as stale would make `make stop` leave
      PgBouncer and a platform started by an earlier airkube running, and `make dev` start a second
      PostgreSQL over the first; matching the command line would need the expected program for every
      file and still accept any `airflow scheduler` or `python` that reuses the pid. The mtime check
      is weaker than the record only when the clock is stepped forward or the file is touched.

    A process that cannot be inspected (its /proc entry is unreadable) does not count either.
    """
    try:
        with pid_file.open() as file:
            written_at = os.fstat(file.fileno()).st_mtime
            text = file.read()
        pid = int(text.split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    process = _process(pid) if pid > 0 else None
    if process is None:
        return None
    if process.state == "Z":  # killed, not yet reaped by its parent (a test that started it): gone
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return None
    recorded = _recorded_identity(text)
    if recorded is not None:
        return pid if recorded == (process.boot_id, process.start_ticks) else None
    return pid if _started_by(process.start_ticks, written_at) else None


_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_MTIME_SLACK = 2.0  # seconds: file systems that keep whole-second times, a clock tick of rounding


class _Process(NamedTuple):
    boot_id: str
    start_ticks: int  # clock ticks since boot
    state: str  # R, S, D, Z, ...


# Indexes into stat_fields: proc(5)'s fields 3 (state), 5 (process group), 6 (session) and 22 (start time).
STAT_STATE, STAT_PROCESS_GROUP, STAT_SESSION, STAT_START_TICKS = 0, 2, 3, 19


def stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (fields 3 onwards of proc(5), so the STAT_* indexes);
    None if there is no such process or it cannot be read."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def processes_where(field: int, value: int, *, live_only: bool = False) -> list[int]:
    """The pids whose stat field (an index of `stat_fields`) equals `value`, e.g. a process group's or a
    session's members; `live_only` leaves zombies out."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = stat_fields(int(entry.name))
        live = fields is not None and not (live_only and fields[STAT_STATE] == "Z")
        if live and int(fields[field]) == value:
            found.append(int(entry.name))
    return found


def _process(pid: int) -> _Process | None:
    """What /proc says of process `pid`; None if there is no such process (or it cannot be read)."""
    fields = stat_fields(pid)
    try:
        boot_id = _BOOT_ID.read_text().strip()
    except OSError:
        return None
    return None if fields is None else _Process(boot_id, int(fields[STAT_START_TICKS]), fields[STAT_STATE])


def _recorded_identity(text: str) -> tuple[str, int] | None:
    """(boot id, start ticks) as `write_pid_file` records them, or None for a file without them."""
    lines = text.splitlines()
    if len(lines) < 2:
        return None
    tokens = lines[1].split()
    if not tokens or not all("=" in token for token in tokens):
        return None  # another program's second line (PostgreSQL's is the data directory)
    record = dict(token.split("=", 1) for token in tokens)
    try:
        return record["boot_id"], int(record["start_ticks"])
    except (KeyError, ValueError):
        return None


def _started_by(start_ticks: int, written_at: float) -> bool:
    """Whether the process that started `start_ticks` after boot was there when its pid file was last
    written, at `written_at` (wall clock); compared on the clock since boot, as /proc counts start times."""
    now_since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
    written_since_boot = now_since_boot - (time.time() - written_at)  # negative: before this boot
    return start_ticks / os.sysconf("SC_CLK_TCK") <= written_since_boot + _MTIME_SLACK


def start(
    argv: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    env: Mapping[str, str],
    cwd: Path | None = None,
) -> int:
    """Start `argv` detached (its own session), output appended to `log_file`, pid in `pid_file`."""
    return spawn(argv, pid_file=pid_file, log_file=log_file, env=env, cwd=cwd).pid


def spawn(
    argv: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    env: Mapping[str, str],
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """`start`, returning the process: a parent that keeps it learns how it ended (`poll`)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    write_pid_file(pid_file, process.pid)
    return process


def kill_session(leader: int, sig: int = signal.SIGKILL, *, timeout: float = 10.0) -> list[int]:
    """Signal every live process of the session `leader` started at once (SIGKILL: as a node's loss or
    a container's end does), and wait until they are gone (a SIGKILL's are, within `timeout`).

    A component starts in a session of its own (`start`), and everything it forks stays in that
    session, even a task that moved to a process group of its own and a process reparented to init
    when its parent died. So this is what a container's death does to its processes: nothing the
    component started outlives it (a process that left with setsid(2), as podman's conmon does, is not
    the component's any more). A dead leader's session id cannot be reused while members remain, so
    this never signals an unrelated process. Returns the pids killed.
    """
    members = processes_where(STAT_SESSION, leader, live_only=True)
    for pid in members:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    if sig != signal.SIGKILL:
        return members
    deadline = time.monotonic() + timeout
    while processes_where(STAT_SESSION, leader, live_only=True) and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


def stop(pid_file: Path, *, timeout: float = 30.0) -> bool:
    """SIGTERM the process group `pid_file` names, SIGKILL it after `timeout`, then SIGKILL whatever
    of its session is left (`kill_session`); True if it was running.

    A stale pid file (see `read_pid`) is removed and nothing is signalled.
    """
    pid = read_pid(pid_file)
    process = None if pid is None else _process(pid)
    if pid is None or process is None:
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid, process.start_ticks):
            break
        time.sleep(0.2)
    else:
        if _alive(pid, process.start_ticks):  # still that process, not one that took its pid meanwhile
            _signal_group(pid, signal.SIGKILL)
    if not _alive(pid, process.start_ticks):
        kill_session(pid)  # task processes in process groups of their own, orphans of the leader
    pid_file.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(os.getpgid(pid), sig)


def _alive(pid: int, start_ticks: int) -> bool:
    """Whether the process `pid` that started at `start_ticks` still runs (reaped if it is our child)."""
    with contextlib.suppress(ChildProcessError):  # not our child: started by an earlier `make dev`
        os.waitpid(pid, os.WNOHANG)
    process = _process(pid)
    return process is not None and process.start_ticks == start_ticks and process.state != "Z"


def run(argv: Sequence[str], *, what: str, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run a setup command to completion; on failure, raise with its output and what it was for."""
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise PlatformError(f"{what} failed (exit {result.returncode}): {output}")
    return result
