"""End to end through pods: `make dev-k8s`'s platform, KubernetesExecutor and KubernetesPodOperator.

Production runs on EKS. Here the Kubernetes stand-in (tools/kube_standin) replaces its API server and
kubelet: everything else is real. The scheduler runs KubernetesExecutor configured from the chart's
rendered airflow.cfg and pod template; each task's worker pod runs Airflow's task runner (a process of
the dev venv, as the Airflow image cannot be built here), whose KubernetesPodOperator creates the task
pod; the task pod runs the image `make images-local` built, as a podman container under the restricted
security context, with its memory limit enforced by the kernel.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pendulum
import pytest

from airkube import __version__
from airkube_dev import processes
from airkube_dev.api import AirflowApi
from airkube_dev.k8s_platform import NAMESPACE, KubernetesPlatform
from airkube_dev.layout import Layout, Ports
from airkube_dev.processes import free_port
from airkube_pipeline.sources import register_source
from k8s_support import K8S_DAGS, K8sPlatform, PodWatch, kube_client, write_dags
from receivers import alert_env, alert_receivers

pytestmark = [pytest.mark.slow, pytest.mark.kubernetes]

NIGHT = pendulum.datetime(2026, 11, 22, tz="UTC")
RUN_TIMEOUT = 300


@pytest.fixture(scope="module")
def k8s() -> Iterator[K8sPlatform]:
    root = Path(tempfile.mkdtemp(prefix="airkube-e2e-k8s-"))
    root.chmod(0o755)  # PostgreSQL runs as an unprivileged user when the tests run as root
    dags = root / "dags"
    dags.mkdir()
    write_dags(dags)
    with alert_receivers() as (slack, datadog, statsd):
        platform = KubernetesPlatform(
            Layout(root / "state"), dags_folder=dags, extra_env=alert_env(slack, datadog, statsd)
        )
        watcher = None
        try:
            platform.up(Ports(postgres=free_port(), pgbouncer=free_port(), api=free_port(), kube=free_port()))
            kube = kube_client(platform.kubeconfig)
            token = base64.b64encode(b"s3cret").decode()
            kube.create_namespaced_secret(
                NAMESPACE, {"metadata": {"name": "k8s-test-token"}, "data": {"API_TOKEN": token}}
            )
            watcher = PodWatch(kube).start()
            api = AirflowApi(platform.api_url(), *platform.login())
            running = K8sPlatform(platform, api, kube, watcher, slack, datadog, statsd)
            for dag_id in K8S_DAGS:
                api.wait_for_dag(dag_id)
                api.unpause(dag_id)
            for dag_id in ("k8s_small", "k8s_failing"):  # side by side: the tests below wait for them
                running.runs[dag_id] = api.trigger(dag_id, NIGHT, NIGHT.add(days=1))
            yield running
        finally:
            if watcher:
                watcher.stop()
            platform.down()
            shutil.rmtree(root, ignore_errors=True)


def _finished(k8s: K8sPlatform, dag_id: str) -> dict[str, dict]:
    """Wait for the run the fixture started; its task instances by task id."""
    k8s.api.wait_for_run(dag_id, k8s.runs[dag_id], RUN_TIMEOUT)
    return {ti["task_id"]: ti for ti in k8s.api.task_instances(dag_id, k8s.runs[dag_id])}


def _eventually(check: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.5)


def test_a_small_dag_succeeds_with_one_worker_pod_and_one_task_pod_per_task(k8s):
    instances = _finished(k8s, "k8s_small")
    assert {task: ti["state"] for task, ti in instances.items()} == dict.fromkeys(instances, "success")
    assert all(ti["try_number"] == 1 for ti in instances.values())
    tasks = set(instances)
    # A deferrable task resumes after its trigger in a second worker pod (the executor starts one per run
    # of the task's code), still with one task pod.
    assert k8s.pods.per_task("k8s_small", "worker") == {**dict.fromkeys(tasks, 1), "deferred": 2}
    assert k8s.pods.per_task("k8s_small", "task") == dict.fromkeys(tasks, 1)
    image = f"localhost:5000/airkube/pipeline:{__version__}"
    assert {pod["image"] for pod in k8s.pods.added if pod["labels"].get("kubernetes_pod_operator")} >= {image}
    output = k8s.platform.layout.data_dir / "k8s_small" / "validate" / "20261122T000000" / "data.jsonl"
    assert output.stat().st_size > 0

    def none_left() -> bool:  # succeeded task pods (KPO) and worker pods (the executor) are deleted
        return not k8s.kube.list_namespaced_pod(NAMESPACE, label_selector="dag_id=k8s_small").items

    _eventually(none_left, what="the succeeded run's pods to be deleted")


def test_the_task_pod_ran_the_built_image_as_uid_10001_on_a_read_only_root(k8s):
    _finished(k8s, "k8s_small")
    log = k8s.task_log("k8s_small", "probe", 1)
    assert "uid=10001" in log
    assert "Read-only file system" in log
    assert "root-fs-is-read-only" in log


def test_a_secrets_keys_reach_the_container_through_env_from(k8s):
    instances = _finished(k8s, "k8s_small")
    assert instances["secret_env"]["state"] == "success"
    assert "token-reached-the-container" in k8s.task_log("k8s_small", "secret_env", 1)


def test_a_deferrable_task_completes_through_the_triggerer(k8s):
    instances = _finished(k8s, "k8s_small")
    assert instances["deferred"]["state"] == "success"
    log = k8s.task_log("k8s_small", "deferred", 1)
    assert "Pausing task as DEFERRED" in log
    assert "generated 50 records" in log  # the container's log, read after the trigger fired


def test_a_failing_task_fails_after_its_retries_keeps_its_pods_and_logs_their_events(k8s):
    instances = _finished(k8s, "k8s_failing")
    assert instances["boom"]["state"] == "failed"
    assert instances["boom"]["try_number"] == 3
    kept = k8s.kube.list_namespaced_pod(NAMESPACE, label_selector="dag_id=k8s_failing,task_id=boom").items
    task_pods = [pod for pod in kept if (pod.metadata.labels or {}).get("kubernetes_pod_operator")]
    assert len(task_pods) == 3
    assert {pod.status.phase for pod in task_pods} == {"Failed"}
    log = k8s.task_log("k8s_failing", "boom", 3)
    assert "boom-marker-42" in log
    assert "Pod Event: Started" in log
    assert "container 'base' exited with 3 (Error)" in log


def test_a_task_over_its_memory_limit_fails_with_oomkilled_in_its_log_and_alert(k8s):
    instances = _finished(k8s, "k8s_failing")
    assert instances["oom"]["state"] == "failed"
    assert "container 'base' was OOMKilled (exit code 137)" in k8s.task_log("k8s_failing", "oom", 3)
    texts = [body.get("text", "") for body in k8s.slack.posts_to("/services/")]
    alerts = [text for text in texts if "k8s_failing.oom" in text]
    assert len(alerts) == 1
    assert "OOMKilled" in alerts[0]
    assert "64Mi" in alerts[0]
    # Each try's count carries the pod status's reason (airkube.alerts.metrics), read from the pod, not
    # from the error text; sent by the worker pod to the DogStatsD receiver the platform points it at.
    counts = [
        line
        for line in k8s.statsd.lines()
        if line.startswith("airkube.task.finished") and "dag_id:k8s_failing" in line and "task_id:oom" in line
    ]
    assert len(counts) == 3, counts
    assert all("failure_reason:OOMKilled" in line for line in counts), counts
    assert sum("state:failed" in line for line in counts) == 1, counts


def test_a_pod_violating_the_restricted_profile_is_refused_with_a_clear_error(k8s):
    instances = _finished(k8s, "k8s_failing")
    assert instances["refused"]["state"] == "failed"
    log = k8s.task_log("k8s_failing", "refused", 1)
    assert "violates PodSecurity" in log
    assert "restricted:latest" in log
    assert "allowPrivilegeEscalation != false" in log
    assert k8s.pods.pods("k8s_failing", "refused", "task") == []


def test_a_worker_killed_with_its_node_is_retried_and_reattaches_to_the_running_task_pod(k8s):
    run_id = k8s.api.trigger("k8s_reattach", NIGHT, NIGHT.add(days=1))

    def task_pod_running() -> bool:
        pods = k8s.pods.pods("k8s_reattach", "long", "task")
        return bool(pods) and k8s.pods.phases.get(pods[0]["name"]) == "Running"

    _eventually(task_pod_running, 120, "the task pod to run")
    worker = k8s.pods.pods("k8s_reattach", "long", "worker")[0]["name"]
    # A node lost: every process of the worker pod dies at once, no graceful delete, so KPO's on_kill and
    # cleanup never run and the task pod keeps running.
    processes.kill_session(_worker_pid(k8s.platform, worker))
    progress = k8s.api.wait_for_run("k8s_reattach", run_id, RUN_TIMEOUT)
    assert progress.state == "success"
    (instance,) = k8s.api.task_instances("k8s_reattach", run_id)
    assert instance["try_number"] == 2
    assert len(k8s.pods.pods("k8s_reattach", "long", "task")) == 1  # reattached: no second task pod
    assert len(k8s.pods.pods("k8s_reattach", "long", "worker")) == 2
    log = k8s.task_log("k8s_reattach", "long", 2)
    assert "Found matching pod" in log
    assert "finished-after-reattach" in log


def test_a_scheduler_killed_mid_run_is_restarted_and_nothing_runs_twice(k8s):
    run_id = k8s.api.trigger("k8s_chain", NIGHT, NIGHT.add(days=1))
    _eventually(lambda: bool(k8s.pods.pods("k8s_chain", "step_2", "task")), 120, "step_2's task pod")
    pid_file = k8s.platform.layout.pids / "scheduler-1.pid"
    killed = processes.read_pid(pid_file)
    processes.kill_session(killed)  # the container and all its processes
    _eventually(lambda: processes.read_pid(pid_file) not in (None, killed), 30, "the supervisor's restart")
    k8s.platform.up()  # what `make dev-k8s` does again: start whatever is down (nothing, here)
    progress = k8s.api.wait_for_run("k8s_chain", run_id, RUN_TIMEOUT)
    assert progress.state == "success"
    instances = k8s.api.task_instances("k8s_chain", run_id)
    assert {ti["task_id"]: ti["try_number"] for ti in instances} == {f"step_{n}": 1 for n in range(1, 5)}
    assert k8s.pods.per_task("k8s_chain", "task") == {f"step_{n}": 1 for n in range(1, 5)}


def test_a_task_maps_over_what_another_found_with_results_read_back_from_storage(k8s):
    """Runtime mapping on Kubernetes: discover's container writes its result next to its output,
    the worker pod reads it (no XCom sidecar, no exec), and extract runs one task pod per source."""
    data_url = f"file://{k8s.platform.layout.data_dir}"
    for name in ("orders", "refunds"):
        register_source(data_url, name, "2026-01-01")
    run_id = k8s.api.trigger("k8s_mapping", NIGHT, NIGHT.add(days=1))
    progress = k8s.api.wait_for_run("k8s_mapping", run_id, RUN_TIMEOUT)
    assert progress.state == "success", f"{progress}\n{k8s.why_failed('k8s_mapping', run_id)}"
    instances = k8s.api.task_instances("k8s_mapping", run_id)
    assert sorted((ti["task_id"], ti["map_index"]) for ti in instances if ti["task_id"] == "extract") == [
        ("extract", 0),
        ("extract", 1),
    ]
    for task_id in ("discover", "discover_deferred"):
        assert k8s.api.result("k8s_mapping", run_id, task_id) == ["orders", "refunds"]
    assert len(k8s.pods.pods("k8s_mapping", "extract", "task")) == 2
    assert "found-2-sources" in k8s.task_log("k8s_mapping", "count", 1)
    task_pods = [pod for pod in k8s.pods.added if pod["labels"].get("dag_id") == "k8s_mapping"]
    assert {tuple(pod["containers"]) for pod in task_pods} == {("base",)}, "no XCom sidecar in any pod"


def test_the_provider_used_only_calls_the_stand_in_serves(k8s):
    """The stand-in answers anything else 404; a new call by a provider upgrade must fail here first."""
    from kube_standin.server import StandIn

    standin = StandIn(k8s.platform.standin_dir, "", 0)
    records = standin.requests()
    assert records
    unserved = {(r["method"], r["path"]) for r in records if r["route"] is None}
    assert unserved == set()


def _worker_pid(platform: KubernetesPlatform, pod_name: str) -> int:
    from kube_standin.server import StandIn

    pid = StandIn(platform.standin_dir, "", 0).pid_of(pod_name)
    assert pid is not None, f"no process for worker pod {pod_name}"
    return pid
