"""What the Kubernetes end-to-end tests share: the platform on the Kubernetes stand-in, its test DAGs,
a watch of every pod the stand-in was asked to create, and task logs.

The stand-in (tools/kube_standin) replaces EKS's API server and kubelet, nothing else: the scheduler
runs the real KubernetesExecutor, worker pods run the real task runner and KubernetesPodOperator, and
task pods run the task image built by `make images-local` as podman containers.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

from airkube_dev.api import AirflowApi
from airkube_dev.k8s_platform import NAMESPACE, KubernetesPlatform
from receivers import HttpReceiver, StatsdReceiver
from run_diagnosis import task_log, why_failed

_HEADER = """
from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airkube import TaskFamily

quick = {"retry_delay": timedelta(seconds=1), "retry_exponential_backoff": 0}
pipeline = TaskFamily(image="pipeline", command=["airkube-pipeline"], operator_kwargs=quick)
shell = TaskFamily(image="pipeline", command=["sh", "-c"], operator_kwargs=quick)


def dag(dag_id):
    return DAG(
        dag_id=dag_id,
        schedule=None,  # runs only when a test triggers one (no scheduled run on unpausing)
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["test"],
        default_args={"owner": "data-eng"},
    )
"""

K8S_DAGS = {
    "k8s_small": """
with dag("k8s_small"):
    extract = pipeline.task("extract", arguments=["extract", "--source", "orders"])
    pipeline.task("validate", arguments=["validate"], inputs=[extract])
    shell.task("probe", arguments=["echo uid=$(id -u); touch /probe 2>&1 || echo root-fs-is-read-only"])
    shell.task(
        "secret_env",
        arguments=['test "$API_TOKEN" = s3cret && echo token-reached-the-container'],
        secrets=["k8s-test-token"],
    )
    pipeline.task("deferred", arguments=["extract", "--source", "payments"], deferrable=True, poll_interval=1)
""",
    "k8s_failing": """
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with dag("k8s_failing"):
    shell.task("boom", arguments=["echo boom-marker-42 >&2; exit 3"], retries=2)
    shell.task(
        "oom", arguments=["exec python3 -c 'a = bytearray(400 * 1024 * 1024)'"], memory="64Mi", retries=2
    )
    # No security context at all: the namespace's "restricted" profile must refuse this pod.
    KubernetesPodOperator(
        task_id="refused",
        image="localhost:5000/airkube/pipeline:0.1.0",
        cmds=["sh", "-c", "echo should-never-run"],
        namespace="airflow",
        retries=0,
    )
""",
    "k8s_reattach": """
with dag("k8s_reattach"):
    shell.task("long", arguments=["sleep 25; echo finished-after-reattach"], retries=2)
""",
    "k8s_mapping": """
import airkube

with dag("k8s_mapping"):
    discover = pipeline.task("discover", arguments=["discover"])
    extracted = pipeline.map("extract", expand_from=discover, arguments=lambda s: ["extract", "--source", s])
    pipeline.task("validate", arguments=["validate"], inputs=[extracted])
    # The deferrable path reads its result after the trigger fired, in a second worker pod.
    pipeline.task("discover_deferred", arguments=["discover"], deferrable=True, poll_interval=1)

    @airkube.task(template=shell)
    def count(found: list[str]) -> list[str]:
        return [f"echo found-{len(found)}-sources"]

    count(discover.output)
""",
    "k8s_chain": """
with dag("k8s_chain"):
    shell.chain([(f"step_{n}", [f"sleep 4; echo step-{n}"]) for n in range(1, 5)])
""",
}


def write_dags(folder: Path) -> None:
    for dag_id, body in K8S_DAGS.items():
        (folder / f"{dag_id}.py").write_text(_HEADER + body)


@dataclass
class PodWatch:
    """Every pod ADDED in the namespace while the tests run, with its labels, through a real watch."""

    api: client.CoreV1Api
    added: list[dict[str, Any]] = field(default_factory=list)
    phases: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> PodWatch:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        version = None
        while not self._stop.is_set():
            stream = watch.Watch().stream(
                self.api.list_namespaced_pod, NAMESPACE, timeout_seconds=5, resource_version=version
            )
            for event in stream:
                pod = event["object"]
                version = pod.metadata.resource_version
                if event["type"] == "ADDED":
                    self.added.append(
                        {
                            "name": pod.metadata.name,
                            "labels": dict(pod.metadata.labels or {}),
                            "image": pod.spec.containers[0].image,
                            "containers": [container.name for container in pod.spec.containers],
                        }
                    )
                self.phases[pod.metadata.name] = "Deleted" if event["type"] == "DELETED" else pod.status.phase

    def stop(self) -> None:
        self._stop.set()

    def _of(self, dag_id: str, kind: str) -> list[dict[str, Any]]:
        """`kind` "worker" (the executor's worker pods) or "task" (KubernetesPodOperator's pods)."""
        marker = "kubernetes_executor" if kind == "worker" else "kubernetes_pod_operator"
        return [
            pod
            for pod in self.added
            if pod["labels"].get("dag_id") == dag_id and pod["labels"].get(marker) == "True"
        ]

    def pods(self, dag_id: str, task_id: str, kind: str) -> list[dict[str, Any]]:
        return [pod for pod in self._of(dag_id, kind) if pod["labels"].get("task_id") == task_id]

    def per_task(self, dag_id: str, kind: str) -> dict[str, int]:
        return dict(Counter(pod["labels"]["task_id"] for pod in self._of(dag_id, kind)))


@dataclass
class K8sPlatform:
    platform: KubernetesPlatform
    api: AirflowApi
    kube: client.CoreV1Api
    pods: PodWatch
    slack: HttpReceiver
    datadog: HttpReceiver
    statsd: StatsdReceiver
    runs: dict[str, str] = field(default_factory=dict)

    def task_log(self, dag_id: str, task_id: str, try_number: int) -> str:
        return task_log(self.platform.layout.airflow_home / "logs", dag_id, task_id, try_number)

    def why_failed(self, dag_id: str, run_id: str) -> str:
        return why_failed(self.api, self.platform.layout.airflow_home / "logs", dag_id, run_id)


def kube_client(kubeconfig: Path) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
