"""Every pod of the stand-in's namespace as a watch saw it, for the Kubernetes benchmarks.

A list at the end of a run would find no pod: succeeded pods are deleted within seconds. So a thread
watches the namespace from the start and records, on this process's clock, when each change arrived.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from airkube_dev.k8s_platform import NAMESPACE


def stamp(value: str | None) -> float | None:
    """An ISO 8601 time of the REST API or Kubernetes as epoch seconds."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass
class PodTimes:
    """One pod as the watch saw it: this process's clock when each change arrived."""

    name: str
    kind: str  # "worker" (the executor's) or "task" (KubernetesPodOperator's)
    dag_id: str  # label values, as the executor and KubernetesPodOperator write them
    run_id: str
    task_id: str
    try_number: str
    created: float
    running: float | None = None
    exited: float | None = None
    deleted: float | None = None
    phase: str | None = None
    started_at: str | None = None  # containerStatuses' own, one-second resolution
    finished_at: str | None = None


def pod_kind(labels: dict[str, str]) -> str | None:
    """The executor's worker pod, KubernetesPodOperator's task pod, or neither."""
    if labels.get("kubernetes_executor") == "True":
        return "worker"
    if labels.get("kubernetes_pod_operator") == "True":
        return "task"
    return None


class PodWatcher(threading.Thread):
    """Watches the namespace until stop(); snapshot() gives a copy of what it saw so far."""

    def __init__(self, kubeconfig: Path, namespace: str = NAMESPACE) -> None:
        super().__init__(daemon=True)
        from kubernetes import client, config

        self.core = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
        self.namespace = namespace
        self.pods: dict[str, PodTimes] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        from kubernetes import watch

        version = self.core.list_namespaced_pod(self.namespace).metadata.resource_version
        try:
            while not self.stopping.is_set():
                stream = watch.Watch().stream(
                    self.core.list_namespaced_pod, self.namespace, resource_version=version, timeout_seconds=2
                )
                for event in stream:
                    self.seen(event["type"], event["object"], time.time())
                    version = event["object"].metadata.resource_version
        except BaseException as err:  # reported by stop(), never lost in a thread
            self.error = err

    def seen(self, kind_of_event: str, pod: Any, arrived: float) -> None:
        labels = pod.metadata.labels or {}
        kind = pod_kind(labels)
        if kind is None:
            return
        with self.lock:
            times = self.pods.setdefault(
                pod.metadata.name,
                PodTimes(
                    pod.metadata.name,
                    kind,
                    labels.get("dag_id", "?"),
                    labels.get("run_id", "?"),
                    labels.get("task_id", "?"),
                    labels.get("try_number", "?"),
                    arrived,
                ),
            )
            if kind_of_event == "DELETED":
                times.deleted = times.deleted or arrived
            times.phase = pod.status.phase if pod.status else times.phase
            statuses = pod.status.container_statuses if pod.status else None
            state = statuses[0].state if statuses else None
            if state is None:
                return
            if (state.running or state.terminated) and times.running is None:
                times.running = arrived
                times.started_at = (state.running or state.terminated).started_at.isoformat()
            if state.terminated and times.exited is None:
                times.exited = arrived
                times.finished_at = state.terminated.finished_at.isoformat()

    def snapshot(self) -> dict[str, PodTimes]:
        with self.lock:
            return {name: PodTimes(**asdict(times)) for name, times in self.pods.items()}

    def stop(self) -> dict[str, PodTimes]:
        """Stop watching; what it saw. A failed watch is raised here, never lost in the thread."""
        self.stopping.set()
        self.join(timeout=30)
        if self.error is not None:
            raise RuntimeError(f"the pod watch failed: {self.error!r}") from self.error
        return self.snapshot()
