"""The local platform's supervisor (tools/airkube_dev/supervisor.py) on real processes: a shell standing in
for an Airflow component, with a child of its own, as a scheduler has its LocalExecutor workers."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airkube_dev import processes, supervisor
from airkube_dev.layout import Layout

# A component with a child in its session that outlives it unless someone kills it (`sleep` in the
# background), then the component's own long sleep.
COMPONENT = ["sh", "-c", "sleep 300 & exec sleep 301"]


@pytest.fixture
def layout(tmp_path: Path) -> Iterator[Layout]:
    layout = Layout(tmp_path)
    yield layout
    for pid_file in layout.pids.glob("*.pid"):
        processes.stop(pid_file, timeout=2)


def _start(layout: Layout, argv: list[str] = COMPONENT) -> supervisor.Supervisor:
    supervisor.write_specs(
        layout, [supervisor.ComponentSpec("scheduler-1", argv, {"PATH": os.environ["PATH"]})]
    )
    sup = supervisor.Supervisor(layout)
    sup.step()
    return sup


def _pid(layout: Layout) -> int | None:
    return processes.read_pid(layout.pids / "scheduler-1.pid")


def _children(pid: int) -> list[int]:
    return [p for p in processes.processes_where(processes.STAT_SESSION, pid, live_only=True) if p != pid]


def _gone(pid: int) -> bool:
    """No such process, or a zombie its new parent (init) has yet to reap."""
    fields = processes.stat_fields(pid)
    return fields is None or fields[processes.STAT_STATE] == "Z"


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_component_takes_what_it_left_with_it_and_is_restarted(layout):
    sup = _start(layout)
    first = _pid(layout)
    assert first is not None
    _wait_for(lambda: _children(first))
    (child,) = _children(first)
    os.kill(first, signal.SIGKILL)
    _wait_for(lambda: _gone(first))  # not read_pid: it would reap the supervisor's child, and its status
    sup.step()
    second = _pid(layout)
    assert second is not None and second != first
    assert processes.read_pid(layout.pids / "scheduler-1.pid") == second
    assert _gone(child), "the component's child outlived it"
    status = supervisor.read_status(layout)["scheduler-1"]
    assert (status.pid, status.restarts, status.last_exit) == (second, 1, "killed by SIGKILL")
    assert status.killed_leftovers == [child]


def test_a_component_exiting_again_and_again_is_restarted_after_a_doubling_back_off(layout):
    sup = _start(layout, ["sh", "-c", "exit 3"])
    delays = []
    for _ in range(5):
        pid = supervisor.read_status(layout)["scheduler-1"].pid
        _wait_for(lambda pid=pid: _gone(pid))
        sup.step()  # notices the exit; restarts at once only the first time
        delays.append(round(sup.next_start.get("scheduler-1", time.monotonic()) - time.monotonic()))
        sup.next_start["scheduler-1"] = 0.0  # do not wait out the back-off in a test
        sup.step()
    assert delays == [0, 1, 2, 4, 8]
    status = supervisor.read_status(layout)["scheduler-1"]
    assert status.restarts == 5 and status.last_exit == "exited with status 3"


def test_a_new_supervisor_adopts_running_components_and_cleans_up_after_dead_ones(layout):
    _start(layout)
    running = _pid(layout)
    later = supervisor.Supervisor(layout)  # the first one died; `make dev` started another
    later.step()
    assert _pid(layout) == running, "started a second copy of a running component"
    _wait_for(lambda: _children(running))
    leftovers = _children(running)
    os.kill(running, signal.SIGKILL)  # now it dies while no supervisor watches
    _wait_for(lambda: _pid(layout) is None)
    third = supervisor.Supervisor(layout)
    third.step()
    assert all(_gone(p) for p in leftovers), "an orphan of the dead component lives"
    assert supervisor.read_status(layout)["scheduler-1"].restarts == 1
