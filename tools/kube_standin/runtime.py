"""How the stand-in kubelet runs a container: podman for task images, a local process for Airflow's.

The kubelet turns a pod's container into a `ContainerRun` (everything resolved: env, mounts, the
security context, limits) and hands it to one of these. Production's kubelet on EKS uses containerd.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from airkube_dev.podman import default_ulimits, podman_command
from airkube_dev.processes import STAT_SESSION, kill_session, processes_where, write_pid_file
from kube_standin.container_logs import cri_line


@dataclass
class Exit:
    exit_code: int
    reason: str  # Completed, Error, OOMKilled
    started_at: str
    finished_at: str


@dataclass
class ContainerRun:
    """One container of one pod, with everything the pod spec says resolved."""

    name: str  # the runtime's name for it, unique on this node
    image: str
    command: list[str]
    args: list[str]
    env: dict[str, str]
    log_path: Path
    termination_log: Path
    termination_path: str = "/dev/termination-log"  # terminationMessagePath, where the container writes
    workdir: str | None = None
    user: str | None = None  # "uid:gid"
    groups: list[int] = field(default_factory=list)
    read_only: bool = False
    cap_drop: list[str] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    no_new_privileges: bool = False
    seccomp_unconfined: bool = False
    memory_bytes: int | None = None
    cpus: float | None = None
    tmpfs: dict[str, int | None] = field(default_factory=dict)  # mount path -> size in bytes
    binds: list[tuple[str, str, bool]] = field(default_factory=list)  # host, container, read-only
    labels: dict[str, str] = field(default_factory=dict)


# The longest line a process-runtime container may print before it is split (readline's own default,
# 64 KiB, would stop the reader and leave the process blocked on a full pipe).
LINE_LIMIT = 16 * 1024 * 1024


class RuntimeError_(Exception):
    """The container could not be created (the kubelet reports CreateContainerError)."""


def _now() -> str:
    from kube_standin.store import now

    return now()


class PodmanRuntime:
    """Task images as podman containers: the restricted security context and limits as flags."""

    async def image_user(self, image: str) -> str | None:
        """The image's configured USER, or None when the image is not on this node."""
        proc = await asyncio.create_subprocess_exec(
            *podman_command("image", "inspect", "--format", "{{.Config.User}}", image),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await proc.communicate()
        return out.decode().strip() if proc.returncode == 0 else None

    def run_args(self, run: ContainerRun) -> list[str]:
        argv = [
            "run",
            "--detach",
            "--pull=never",
            "--name",
            run.name,
            "--network",
            "host",
            "--log-driver",
            "k8s-file",
            "--log-opt",
            f"path={run.log_path}",
            *default_ulimits(),
        ]
        if run.user:
            argv += ["--user", run.user]
        for group in run.groups:
            argv += ["--group-add", str(group)]
        if run.read_only:
            argv += ["--read-only", "--read-only-tmpfs=false"]  # Kubernetes adds no tmpfs of its own
        argv += [f"--cap-drop={cap}" for cap in run.cap_drop] + [f"--cap-add={cap}" for cap in run.cap_add]
        if run.no_new_privileges:
            argv += ["--security-opt", "no-new-privileges"]
        if run.seccomp_unconfined:
            argv += ["--security-opt", "seccomp=unconfined"]
        if run.memory_bytes:
            argv += ["--memory", str(run.memory_bytes), "--memory-swap", str(run.memory_bytes)]
        if run.cpus:
            argv += ["--cpus", f"{run.cpus:g}"]
        for path, size in run.tmpfs.items():
            argv += ["--tmpfs", f"{path}:rw,mode=1777" + (f",size={size}" if size else "")]
        for host, container, read_only in run.binds:
            argv += ["--volume", f"{host}:{container}:{'ro' if read_only else 'rw'}"]
        argv += ["--volume", f"{run.termination_log}:{run.termination_path}:rw"]
        for key, value in run.env.items():
            argv += ["--env", f"{key}={value}"]
        for key, value in run.labels.items():
            argv += ["--label", f"{key}={value}"]
        if run.workdir:
            argv += ["--workdir", run.workdir]
        if run.command:
            argv += ["--entrypoint", json.dumps(run.command)]
        return [*argv, run.image, *run.args]

    async def start(self, run: ContainerRun) -> None:
        proc = await asyncio.create_subprocess_exec(
            *podman_command(*self.run_args(run)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError_(err.decode().strip().splitlines()[-1] if err.strip() else "podman run failed")

    async def wait(self, run: ContainerRun) -> Exit:
        proc = await asyncio.create_subprocess_exec(
            *podman_command("wait", run.name), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        await proc.communicate()
        inspect = await asyncio.create_subprocess_exec(
            *podman_command("container", "inspect", run.name),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await inspect.communicate()
        if inspect.returncode != 0:  # never guess an exit code
            raise RuntimeError_(f"podman container inspect {run.name}: {err.decode().strip()}")
        found = json.loads(out)[0]
        state = found.get("State", {})
        code = int(state.get("ExitCode", 137))
        oom = bool(state.get("OOMKilled")) or (
            code == 137 and await _kernel_oom_killed_in(found.get("Id", ""))
        )
        reason = "OOMKilled" if oom else ("Completed" if code == 0 else "Error")
        return Exit(code, reason, _podman_time(state.get("StartedAt")), _podman_time(state.get("FinishedAt")))

    async def stop(self, run: ContainerRun, grace_seconds: int) -> None:
        proc = await asyncio.create_subprocess_exec(
            *podman_command("stop", "--time", str(grace_seconds), run.name),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await proc.communicate()

    async def remove(self, run: ContainerRun) -> None:
        proc = await asyncio.create_subprocess_exec(
            *podman_command("rm", "--force", "--time", "0", run.name),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await proc.communicate()


async def _kernel_oom_killed_in(container_id: str) -> bool:
    """Whether the kernel's OOM killer killed a process of this container's memory cgroup.

    podman (conmon with runc on this machine's cgroup v1) reports OOMKilled only for the container's
    first process, and not even then here; the kubelet's OOM watcher (cAdvisor) reads the kernel log
    instead, and so does this: `oom-kill:... task_memcg=/.../libpod-<id>`.
    """
    if not container_id:
        return False
    proc = await asyncio.create_subprocess_exec(
        "dmesg", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    out, _ = await proc.communicate()
    return any(
        "oom-kill:" in line and container_id in line for line in out.decode(errors="replace").splitlines()
    )


def _podman_time(value: str | None) -> str:
    """podman's RFC 3339 nanosecond time, with whatever offset it prints, as RFC 3339 seconds in UTC."""
    if not value:
        return _now()
    stamp = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))  # Python keeps microseconds
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ProcessRuntime:
    """Pods of the Airflow image as processes of the dev venv (its image cannot be built here).

    The process runs with the kubelet's own user and filesystem: its securityContext is checked by
    admission but not enforced, and volume mounts are not made (the platform's AIRFLOW_HOME, log
    folder and DAG folder are the same paths for every process on this machine).
    """

    def __init__(self, base_env: dict[str, str], pid_dir: Path) -> None:
        self.base_env = base_env
        self.pid_dir = pid_dir
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._started: dict[str, str] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}

    async def image_user(self, image: str) -> str | None:
        return "50000"

    async def start(self, run: ContainerRun) -> None:
        argv = [*run.command, *run.args]
        if not argv:
            raise RuntimeError_(
                "the pod gives neither command nor args; the Airflow image's entry point is not run here"
            )
        env = {**self.base_env, **run.env}
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                cwd=run.workdir if run.workdir and Path(run.workdir).is_dir() else None,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
                limit=LINE_LIMIT,
            )
        except OSError as err:
            raise RuntimeError_(f'exec: "{argv[0]}": {err.strerror}') from err
        self._procs[run.name] = proc
        self._started[run.name] = _now()
        write_pid_file(self.pid_dir / f"{run.name}.pid", proc.pid)
        log = run.log_path.open("a")
        write_lock = asyncio.Lock()

        async def pump(reader: asyncio.StreamReader, stream: str) -> None:
            while line := await reader.readline():
                async with write_lock:
                    log.write(cri_line(stream, line.decode(errors="replace").rstrip("\n")))
                    log.flush()

        async def pumps() -> None:
            assert proc.stdout and proc.stderr
            await asyncio.gather(pump(proc.stdout, "stdout"), pump(proc.stderr, "stderr"))
            log.close()

        self._pumps[run.name] = asyncio.create_task(pumps())

    async def wait(self, run: ContainerRun) -> Exit:
        proc = self._procs[run.name]
        code = await proc.wait()
        kill_session(proc.pid, timeout=0)  # a container's processes end with its first one
        with contextlib.suppress(Exception):
            await self._pumps[run.name]
        exit_code = 128 - code if code < 0 else code  # a signal, as a container runtime reports it
        return Exit(exit_code, "Completed" if exit_code == 0 else "Error", self._started[run.name], _now())

    async def stop(self, run: ContainerRun, grace_seconds: int) -> None:
        """SIGTERM to the container's first process, as a runtime stops a container; SIGKILL to every
        process of it after the grace period."""
        proc = self._procs.get(run.name)
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace_seconds)
        except TimeoutError:
            kill_session(proc.pid, timeout=0)
            await proc.wait()

    async def remove(self, run: ContainerRun) -> None:
        self._procs.pop(run.name, None)
        (self.pid_dir / f"{run.name}.pid").unlink(missing_ok=True)


def session_members(session_id: int) -> list[int]:
    """Every process of a session: a process-runtime container's processes (its first process leads the
    session; Airflow's task runner puts the task in a process group of its own, not a session)."""
    return processes_where(STAT_SESSION, session_id)
