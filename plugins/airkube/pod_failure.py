"""Why a task's container failed, in one line a person can act on.

KubernetesPodOperator's failure message carries only the container's `terminated.message`, which is
empty when the kernel killed it for using too much memory; the reason (`OOMKilled`) is only in the pod
status it dumps below. The first line of the task's error is what the failure alert shows, so it must
say what happened.
"""

from __future__ import annotations

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
