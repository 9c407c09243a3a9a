"""Start and stop the stand-in as a background process: for `make dev-k8s` and the tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class StandIn:
    """A running stand-in: its URL, its kubeconfig and the record of every request it served."""

    state_dir: Path
    url: str
    pid: int

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    def requests(self) -> list[dict]:
        path = self.state_dir / "requests.jsonl"
        if not path.exists():
            return []
        text = path.read_text()
        complete = text[: text.rfind("\n") + 1]  # not a record the stand-in is still writing
        return [json.loads(line) for line in complete.splitlines()]

    def pid_of(self, pod_name: str, container: str = "base") -> int | None:
        """The pid of a process-runtime container (a worker pod's `airflow` process)."""
        for pid_file in (self.state_dir / "pids").glob(f"k8s_{container}_{pod_name}_*.pid"):
            return int(pid_file.read_text().split()[0])  # the first line; the process's identity follows
        return None

    def stop(self, timeout: float = 60) -> None:
        stop_pid(self.pid, timeout)
        remove_containers(self.state_dir)


def start(
    state_dir: Path,
    *,
    port: int,
    log_file: Path,
    process_images: Sequence[str] = (),
    process_env: Mapping[str, str] | None = None,
    mounts: Sequence[tuple[str, str]] = (),
    watch_history: int | None = None,
    timeout: float = 30,
) -> StandIn:
    state_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "kube_standin", "--port", str(port), "--state-dir", str(state_dir)]
    for image in process_images:
        argv += ["--process-image", image]
    if process_env is not None:
        env_file = state_dir / "process-env.json"
        env_file.write_text(json.dumps(dict(process_env)))
        env_file.chmod(0o600)
        argv += ["--process-env-file", str(env_file)]
    for host, container in mounts:
        argv += ["--mount", f"{host}:{container}"]
    if watch_history is not None:
        argv += ["--watch-history", str(watch_history)]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Kubernetes stand-in exited with {proc.returncode}; see {log_file}")
        try:
            with urllib.request.urlopen(f"{url}/version", timeout=2):
                return StandIn(state_dir, url, proc.pid)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the Kubernetes stand-in did not answer within {timeout:.0f}s; see {log_file}")


def remove_containers(state_dir: Path) -> int:
    """Remove every container the stand-in of `state_dir` started (after it died without cleaning up)."""
    from airkube_dev.podman import podman_command
    from kube_standin.kubelet import STATE_LABEL

    listed = subprocess.run(
        podman_command("ps", "-a", "-q", "--filter", f"label={STATE_LABEL}={state_dir.resolve()}"),
        capture_output=True,
        text=True,
        check=False,
    )
    ids = listed.stdout.split()
    if ids:
        subprocess.run(podman_command("rm", "-f", "-t", "0", *ids), capture_output=True, check=False)
    return len(ids)


def stop_pid(pid: int, timeout: float = 60) -> bool:
    """SIGTERM (the stand-in then stops its containers), SIGKILL if it is still there after `timeout`."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with contextlib.suppress(ChildProcessError):  # reap it when it is our child
                os.waitpid(pid, os.WNOHANG)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    return True
