"""Run a task's container command as a local process: airkube without a cluster.

Used when AIRKUBE_RUNNER=local (`make dev`, CI). The process gets the environment the pod would
get -- the platform contract and the task's env -- plus the few host variables a process needs to
start, never the worker's whole environment, so a task that works locally does not secretly depend
on it. Output streams into the task log line by line through the standard provider's SubprocessHook.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping

from airflow.providers.standard.hooks.subprocess import SubprocessHook

# Host variables a local process needs that a container gets from its image instead.
PASSTHROUGH = ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
# Credentials the pod gets from its IAM role (IRSA); locally, the developer's own.
PASSTHROUGH_PREFIXES = ("AWS_",)
# As long as Kubernetes gives a pod between SIGTERM and SIGKILL by default.
KILL_GRACE_SECONDS = 30.0


def local_environment(
    pod_env: Mapping[str, str], host_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The pod's variables plus what a host process needs; the venv's bin first on PATH so the
    task image's entry point (installed in the dev venv) resolves as it does in the image."""
    host = os.environ if host_env is None else host_env
    env = {name: host[name] for name in PASSTHROUGH if name in host}
    env.update({k: v for k, v in host.items() if k.startswith(PASSTHROUGH_PREFIXES)})
    env["PATH"] = os.pathsep.join(filter(None, [os.path.dirname(sys.executable), host.get("PATH", "")]))
    env.update(pod_env)
    return env


class LocalProcessRunner:
    """One local run of a container command; `kill()` stops its whole process group."""

    def __init__(self) -> None:
        self._hook = SubprocessHook()

    def run(self, command: Iterable[str], env: Mapping[str, str]) -> tuple[int, str]:
        """Run to completion, streaming output to the task log; return (exit code, last line)."""
        try:
            result = self._hook.run_command(list(command), env=dict(env))
        except BaseException:
            # execution_timeout arrives here as AirflowTaskTimeout: never leave the child running.
            self.kill()
            raise
        return result.exit_code, result.output

    def kill(self, grace_seconds: float = KILL_GRACE_SECONDS) -> None:
        """SIGTERM the process group, SIGKILL it if it outlives the grace period, and reap it."""
        process = self._hook.sub_process
        if process is None or process.poll() is not None:
            return
        self._hook.send_sigterm()
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(os.getpgid(process.pid), signal.SIGKILL)
            process.wait()
