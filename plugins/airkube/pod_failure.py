"""Why a task's container failed, in one line a person can act on.

KubernetesPodOperator's failure message carries only the container's `terminated.message`, which is
empty when the kernel killed it for using too much memory; the reason (`OOMKilled`) is only in the pod
status it dumps below. The first line of the task's error is what the failure alert shows, so it must
say what happened. The same status gives the `failure_reason` tag of airkube's task metric
(airkube.alerts.metrics): a short word from Kubernetes (`OOMKilled`, `ImagePullBackOff`), never a
message's text, so that a dashboard can group by it.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from typing import Any


def container_failure(remote_pod: Any, container_name: str) -> str | None:
    """`container 'base' was OOMKilled ...` or `container 'base' exited with 3 (Error)`; None when the
    pod has no terminated state for that container (it never started, or the pod is gone)."""
    statuses = getattr(getattr(remote_pod, "status", None), "container_statuses", None) or []
    status = next((s for s in statuses if s.name == container_name), None)
    terminated = getattr(getattr(status, "state", None), "terminated", None)
    if terminated is None:
        return None
    if terminated.reason == "OOMKilled":
        container = next((c for c in remote_pod.spec.containers if c.name == container_name), None)
        limits = getattr(getattr(container, "resources", None), "limits", None) or {}
        limit = limits.get("memory", "its limit")
        return (
            f"container '{container_name}' was OOMKilled (exit code {terminated.exit_code}): it used more "
            f"memory than its limit of {limit}; give the task a larger size or memory"
        )
    detail = f": {terminated.message.strip().splitlines()[-1]}" if terminated.message else ""
    return f"container '{container_name}' exited with {terminated.exit_code} ({terminated.reason}){detail}"


def failure_reason(remote_pod: Any, container_name: str) -> str | None:
    """Kubernetes' own word for why the pod failed: the container's terminated reason (`OOMKilled`,
    `Error`), else its waiting reason (`ImagePullBackOff`, `CreateContainerConfigError`), else the pod's
    (`Evicted`) or a false condition's (`Unschedulable`); None when the status names none."""
    status = getattr(remote_pod, "status", None)
    statuses = getattr(status, "container_statuses", None) or []
    container = next((s for s in statuses if s.name == container_name), None)
    state = getattr(container, "state", None)
    for phase in ("terminated", "waiting"):
        reason = getattr(getattr(state, phase, None), "reason", None)
        if reason:
            return reason
    if getattr(status, "reason", None):
        return status.reason
    conditions = getattr(status, "conditions", None) or []
    return next((c.reason for c in conditions if c.status == "False" and c.reason), None)


def pod_failure_reason(remote_pod: Any, container_name: str, read_pod: Callable[[], Any]) -> str | None:
    """failure_reason of the pod as it is now. KubernetesPodOperator's `remote_pod` is current once the
    container has finished; when the pod never started (an image that cannot be pulled), it is the pod
    as it was created, so the pod is read again (`read_pod`)."""
    statuses = getattr(getattr(remote_pod, "status", None), "container_statuses", None) or []
    status = next((s for s in statuses if s.name == container_name), None)
    if getattr(getattr(status, "state", None), "terminated", None) is None:
        # Unreadable (the API down, the pod gone): the reason is extra, the failure is what counts.
        with contextlib.suppress(Exception):
            remote_pod = read_pod()
    return failure_reason(remote_pod, container_name)


def process_failure_reason(exit_code: int) -> str:
    """The local runner's counterpart: `Error` for a non-zero exit (the kubelet's word for it), the
    signal's name (`SIGKILL`) for a process killed by one."""
    if exit_code < 0:
        try:
            return signal.Signals(-exit_code).name
        except ValueError:
            return f"signal_{-exit_code}"
    return "Error"
