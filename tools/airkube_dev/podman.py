"""The one place that knows how to call podman here: image builds, image tests, the kubelet stand-in.

Why global flags and not a containers.conf under `.local/` named by CONTAINERS_CONF: every command is
then complete by itself (an error shows the exact line to paste into a shell), no environment variable
has to reach every subprocess (make, pytest, the stand-in's workers), and there is no file to write
first or to go stale. Resource limits have no global flag, so `default_ulimits()` goes into each
`podman run`, `podman create` and `podman build`.
"""

from __future__ import annotations

import json
import resource
import shlex
import subprocess
from typing import Any

from airkube_dev.errors import PlatformError

# crun fails here (cgroups in hybrid mode); runc works. Named explicitly so a machine whose default is
# crun behaves the same.
RUNTIME = "runc"
# No systemd as PID 1 in the sandbox, so podman manages cgroups itself.
CGROUP_MANAGER = "cgroupfs"
# podman raises a container's limits (nofile to 1048576 as root); without CAP_SYS_RESOURCE runc then
# fails with "error setting rlimits ... operation not permitted". These are ample for any task.
NOFILE = 20000
NPROC = 32768
INSTALL_HINT = "install it with `apt-get install podman runc` (Debian)"


class PodmanError(PlatformError):
    """A podman command failed; the message names the command, its exit code and its last output."""

    def __init__(self, message: str, *, command: list[str], returncode: int | None, output: str = "") -> None:
        super().__init__(message)
        self.command = command
        self.returncode = returncode
        self.output = output


def podman_command(*args: str) -> list[str]:
    """`podman <global flags> *args`: the runtime and cgroup manager that work on this machine."""
    return ["podman", "--runtime", RUNTIME, "--cgroup-manager", CGROUP_MANAGER, *args]


def _limit(kind: int, wanted: int) -> int:
    """`wanted`, lowered to this process's hard limit: a container may lower a limit, never raise it."""
    _, hard = resource.getrlimit(kind)
    return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)


def default_ulimits() -> list[str]:
    """`--ulimit` flags for `podman run`/`create`/`build`: limits this sandbox can grant, soft = hard."""
    nofile = _limit(resource.RLIMIT_NOFILE, NOFILE)
    nproc = _limit(resource.RLIMIT_NPROC, NPROC)
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_podman(
    *args: str, check: bool = True, timeout: float | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run `podman_command(*args)`; output captured as text unless `stdout`/`stderr` are given.

    Raises PodmanError when podman is missing, exceeds `timeout`, or (with `check`) exits non-zero,
    with the full command and the end of its output, so the caller never has to re-run it to see why.
    Other keyword arguments go to `subprocess.run` (`input`, `env`, `cwd`, ...).
    """
    command = podman_command(*args)
    if "stdout" not in kw and "stderr" not in kw:
        kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    try:
        result = subprocess.run(command, check=False, timeout=timeout, **kw)
    except FileNotFoundError:
        raise PodmanError(
            f"podman is not installed: {INSTALL_HINT}", command=command, returncode=None
        ) from None
    except subprocess.TimeoutExpired as err:
        output = err.stderr if isinstance(err.stderr, str) else ""
        raise PodmanError(
            f"`{shlex.join(command)}` did not finish within {timeout} s\n{_tail(output)}",
            command=command,
            returncode=None,
            output=output,
        ) from None
    if check and result.returncode != 0:
        output = "\n".join(part for part in (result.stdout, result.stderr) if isinstance(part, str) and part)
        hint = "\nhint: add default_ulimits() to the command" if "error setting rlimit" in output else ""
        raise PodmanError(
            f"`{shlex.join(command)}` failed (exit {result.returncode})\n{_tail(output)}{hint}",
            command=command,
            returncode=result.returncode,
            output=output,
        )
    return result


def image_inspect(reference: str) -> dict[str, Any] | None:
    """`podman image inspect` of one local image as a dict, None when no such image is stored."""
    result = run_podman("image", "inspect", "--format", "json", reference, check=False)
    if result.returncode != 0:
        return None
    found = json.loads(result.stdout or "[]")
    return found[0] if found else None


def image_labels(reference: str) -> dict[str, str] | None:
    """The labels of a local image ({} when it has none), None when no such image is stored."""
    info = image_inspect(reference)
    if info is None:
        return None
    return dict(info.get("Labels") or (info.get("Config") or {}).get("Labels") or {})
