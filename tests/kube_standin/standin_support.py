"""Helpers for the tests of the stand-in for EKS's API server and kubelet: pods, waiting, logs, events."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import kubernetes
import pytest

NAMESPACE = "airflow"
IMAGE = "localhost:5000/airkube/pipeline:0.1.0"
TASK_UID = 10001
UNKNOWN_MARK = "deliberately-unknown"  # in the path of the one call a test makes to a route not served


def restricted_pod(
    name: str,
    command: list[str],
    *,
    memory: str = "128Mi",
    labels: dict[str, str] | None = None,
    container: dict[str, Any] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    image: str = IMAGE,
    restart_policy: str = "Never",
) -> dict[str, Any]:
    """A pod that passes the restricted profile, as the library builds one: uid 10001, read-only root.

    The stand-in's kubelet runs only `restartPolicy: Never` pods; `restart_policy="Always"` makes a pod
    the API tests can create, select, patch and watch without starting a container.
    """
    spec: dict[str, Any] = {
        "restartPolicy": restart_policy,
        "terminationGracePeriodSeconds": 5,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": TASK_UID,
            "runAsGroup": TASK_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "base",
                "image": image,
                "command": command,
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                    "readOnlyRootFilesystem": True,
                },
                "resources": {
                    "requests": {"cpu": "100m", "memory": memory},
                    "limits": {"cpu": "1", "memory": memory},
                },
                **(container or {}),
            }
        ],
    }
    if volumes:
        spec["volumes"] = volumes
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "the condition") -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {timeout:.0f}s")


def wait_for_phase(
    core: kubernetes.client.CoreV1Api, name: str, phases: tuple[str, ...] = ("Succeeded", "Failed")
) -> kubernetes.client.V1Pod:
    def reached() -> kubernetes.client.V1Pod | None:
        pod = core.read_namespaced_pod(name, NAMESPACE)
        return pod if pod.status.phase in phases else None

    return wait_for(reached, what=f"pod {name} reaching {'/'.join(phases)}")


def log_text(core: kubernetes.client.CoreV1Api, name: str, **options: Any) -> str:
    """The pod's log as text. Read raw: kubernetes 36.0's `read_namespaced_pod_log` returns the repr of
    the bytes (`"b'...'"`, kubernetes-client/python#2596) against a real API server too."""
    response = core.read_namespaced_pod_log(name, NAMESPACE, _preload_content=False, **options)
    return response.data.decode()


def pod_events(core: kubernetes.client.CoreV1Api, name: str) -> list[kubernetes.client.CoreV1Event]:
    """The pod's events in the order they were recorded (by resourceVersion)."""
    events = core.list_namespaced_event(NAMESPACE, field_selector=f"involvedObject.name={name}").items
    return sorted(events, key=lambda event: int(event.metadata.resource_version))
