"""Restarts the platform's Airflow components when they exit, as the kubelet restarts a crashed container.

One supervisor process per state folder (`python -m airkube_dev supervise`, started by `make dev`)
starts every component `components.json` names and watches their pid files. When a component exits,
for whatever reason (a crash, the OOM killer, a `kill -9`), it

1. kills whatever the component left behind in its session (`processes.kill_session`): LocalExecutor
   workers, the log server, task processes. In a pod the container's death takes them with it; here
   they would live on as orphans holding the dead scheduler's database transaction open;
2. starts it again after a back-off that doubles with each exit in a row (`BACKOFF_START` up to
   `BACKOFF_CAP`) and is forgotten once the component has run for `BACKOFF_RESET` seconds, as the
   kubelet's CrashLoopBackOff does (10 s to 5 min, reset after 10 min; shorter here, where a fault
   should cost seconds);
3. records the exit and the restart in `status.json` (`make status` shows them) and its log.

`make dev` signals the supervisor (SIGUSR1) to start whatever is down at once, back-off or not.
Why not supervisord: it neither kills what an exited program leaves behind nor backs off a program
that ran for a while, and it would be a second configuration of the same components.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from airkube_dev import processes
from airkube_dev.layout import Layout

BACKOFF_START = 1.0  # seconds before the second restart in a row; the first is immediate
BACKOFF_CAP = 30.0
BACKOFF_RESET = 60.0  # seconds of running that make the next exit count as the first again
POLL = 0.25  # seconds between looks at the components


@dataclass(frozen=True)
class ComponentSpec:
    """What the supervisor starts: a component's command line and environment."""

    name: str
    argv: list[str]
    env: dict[str, str]


@dataclass
class ComponentStatus:
    """What `make status` shows of one component."""

    pid: int | None = None
    restarts: int = 0
    last_exit: str | None = None
    last_exit_at: float | None = None  # wall clock
    killed_leftovers: list[int] = field(default_factory=list)
    """The processes the last exit left behind, which the supervisor killed."""


def spec_file(layout: Layout) -> Path:
    return layout.root / "supervisor" / "components.json"


def status_file(layout: Layout) -> Path:
    return layout.root / "supervisor" / "status.json"


def pid_file(layout: Layout) -> Path:
    return layout.pids / "supervisor.pid"


def write_specs(layout: Layout, specs: list[ComponentSpec]) -> None:
    """The components to run, replaced whole; private to the owner (the environments hold secrets)."""
    path = spec_file(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.unlink(missing_ok=True)
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(json.dumps([asdict(spec) for spec in specs], indent=2))
    partial.replace(path)


def read_specs(layout: Layout) -> list[ComponentSpec]:
    try:
        return [ComponentSpec(**entry) for entry in json.loads(spec_file(layout).read_text())]
    except FileNotFoundError:
        return []


def read_status(layout: Layout) -> dict[str, ComponentStatus]:
    try:
        document = json.loads(status_file(layout).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {name: ComponentStatus(**entry) for name, entry in document.items()}


def _write_status(layout: Layout, status: dict[str, ComponentStatus]) -> None:
    path = status_file(layout)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({name: asdict(entry) for name, entry in status.items()}, indent=2))
    partial.replace(path)


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "exited (started by an earlier supervisor: its exit status is unknown)"
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


class Supervisor:
    """The loop of `python -m airkube_dev supervise`; see the module's docstring."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.status = read_status(layout)  # restarts survive a restart of the supervisor itself
        self.started_at: dict[str, float] = {}  # monotonic, per component started or adopted
        self.exits_in_a_row: dict[str, int] = {}
        self.next_start: dict[str, float] = {}  # monotonic time of a pending restart
        self.exited: set[str] = set()  # components to start again after an exit: restarts
        self.children: dict[str, subprocess.Popen[bytes]] = {}  # what this supervisor started
        self.running = True
        self.start_now = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGUSR1, self._on_start_now)
        self._log("supervisor started")
        while self.running:
            self.step()
            time.sleep(POLL)
        self._log("supervisor stopped; the components keep running (make stop stops them)")

    def step(self) -> None:
        start_now, self.start_now = self.start_now, False
        changed = False
        for spec in read_specs(self.layout):
            entry = self.status.setdefault(spec.name, ComponentStatus())
            child = self.children.get(spec.name)
            if child is not None:  # started here: poll() reaps it and says how it ended
                returncode = child.poll()
                if returncode is None:
                    continue
                self._on_exit(spec.name, entry, returncode)
                changed = True
            else:  # started by an earlier supervisor, or not at all: its pid file says
                pid = processes.read_pid(self.layout.pids / f"{spec.name}.pid")
                if pid is not None:
                    if pid != entry.pid:
                        entry.pid, changed = pid, True
                        self.started_at[spec.name] = time.monotonic()
                    continue
                if entry.pid is not None:  # it was running: it exited
                    self._on_exit(spec.name, entry, None)
                    changed = True
            due = self.next_start.get(spec.name, 0.0)
            if start_now or time.monotonic() >= due:
                self._start(spec, entry)
                changed = True
        if changed:
            _write_status(self.layout, self.status)

    def _on_exit(self, name: str, entry: ComponentStatus, returncode: int | None) -> None:
        ran_for = time.monotonic() - self.started_at.get(name, time.monotonic())
        leftovers = processes.kill_session(entry.pid)
        in_a_row = 0 if ran_for >= BACKOFF_RESET else self.exits_in_a_row.get(name, 0)
        delay = 0.0 if in_a_row == 0 else min(BACKOFF_START * 2 ** (in_a_row - 1), BACKOFF_CAP)
        self.exits_in_a_row[name] = in_a_row + 1
        self.next_start[name] = time.monotonic() + delay
        entry.last_exit = _describe_exit(returncode)
        self.children.pop(name, None)
        entry.last_exit_at = time.time()
        entry.killed_leftovers = leftovers
        self.exited.add(name)
        self._log(
            f"{name} (pid {entry.pid}) {entry.last_exit} after {ran_for:.0f} s; killed the {len(leftovers)} "
            f"process(es) it left {leftovers}; restarting in {delay:.0f} s"
        )
        entry.pid = None

    def _start(self, spec: ComponentSpec, entry: ComponentStatus) -> None:
        child = processes.spawn(
            spec.argv,
            pid_file=self.layout.pids / f"{spec.name}.pid",
            log_file=self.layout.logs / f"{spec.name}.log",
            env=spec.env,
        )
        self.children[spec.name], entry.pid = child, child.pid
        self.started_at[spec.name] = time.monotonic()
        self.next_start.pop(spec.name, None)
        if spec.name in self.exited:
            self.exited.discard(spec.name)
            entry.restarts += 1
        self._log(f"started {spec.name} (pid {entry.pid})")

    def _on_stop(self, *_: object) -> None:
        self.running = False

    def _on_start_now(self, *_: object) -> None:
        self.start_now = True

    def _log(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        print(f"{stamp} {message}", flush=True)
