"""The kubelet half of tools/kube_standin, the stand-in for EKS's Kubernetes API server and kubelet.

Production's pods run on EKS nodes; here the stand-in's one kubelet runs them as podman containers of
the real task image. These tests create pods through the real Kubernetes Python client and the real
kubectl and prove that what KubernetesPodOperator and an engineer read back behaves as on a real node:
the status walks Pending, Running, Succeeded/Failed with exit codes, reasons (Completed, Error,
OOMKilled) and the termination message; events come in the kubelet's order; the restricted security
context holds (uid 10001, read-only root, an emptyDir /tmp with its size limit); a Secret reaches the
container through envFrom, and a missing Secret or image keeps it waiting with the kubelet's reason;
logs honour timestamps, tailLines, sinceSeconds and follow; a graceful delete stops and removes the
container; and `kubectl get/describe/logs/delete` work.
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
from collections.abc import Callable

import kubernetes
import pytest

from airkube_dev.podman import podman_command
from standin_support import (
    NAMESPACE,
    TASK_UID,
    log_text,
    pod_events,
    restricted_pod,
    wait_for,
    wait_for_phase,
)

pytestmark = [pytest.mark.slow, pytest.mark.kubernetes]
Kubectl = Callable[..., subprocess.CompletedProcess[str]]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


# Pods that run to their end on their own, created together at the start of the module (a node runs
# many pods at once); each test below waits for its own and reads what it needs.
COMMANDS = {
    "ok": ["sh", "-c", "echo done"],
    "fails": ["sh", "-c", "echo 'bad input: row 7' > /dev/termination-log; exit 3"],
    "oom": ["python3", "-c", "a = bytearray(300 * 1024 * 1024)"],
    "readonly": ["sh", "-c", "id -u; touch /x"],
    "scratch": [
        "sh",
        "-c",
        "echo scratch > /tmp/small && cat /tmp/small && "
        "head -c 16777216 /dev/zero > /tmp/big || echo big write refused",
    ],
    "secret-env": ["sh", "-c", 'echo "$DB_USER/$DB_PASSWORD"'],
    "five-lines": ["sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; done"],
    "hello": ["sh", "-c", "echo hello from the pod"],
    "long-line": ["python3", "-c", "print('x' * 50000); print('next')"],
}


def secret(name: str, data: dict[str, str]) -> dict:
    return {
        "metadata": {"name": name},
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }


@pytest.fixture(scope="module")
def started(core: kubernetes.client.CoreV1Api) -> dict[str, kubernetes.client.V1Pod]:
    """The pods of COMMANDS as created (the API's answer), by name."""
    core.create_namespaced_secret(NAMESPACE, secret("orders-db", {"DB_USER": "alice", "DB_PASSWORD": "pw"}))
    options = {
        "oom": {"memory": "64Mi"},
        "scratch": {
            "container": {"volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]},
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "8Mi"}}],
        },
        "secret-env": {"container": {"envFrom": [{"secretRef": {"name": "orders-db"}}]}},
    }
    return {
        name: core.create_namespaced_pod(NAMESPACE, restricted_pod(name, command, **options.get(name, {})))
        for name, command in COMMANDS.items()
    }


def terminated(pod: kubernetes.client.V1Pod) -> kubernetes.client.V1ContainerStateTerminated:
    return pod.status.container_statuses[0].state.terminated


def waiting_reason(core: kubernetes.client.CoreV1Api, name: str) -> str | None:
    statuses = core.read_namespaced_pod(name, NAMESPACE).status.container_statuses or []
    return statuses[0].state.waiting.reason if statuses and statuses[0].state.waiting else None


def started_container(core: kubernetes.client.CoreV1Api, name: str) -> bool:
    statuses = core.read_namespaced_pod(name, NAMESPACE).status.container_statuses or []
    return bool(statuses and statuses[0].started)


# --- status and events ---------------------------------------------------------------------------


def test_succeeded_pod_walks_to_succeeded_with_the_kubelets_events(
    core: kubernetes.client.CoreV1Api, started: dict[str, kubernetes.client.V1Pod]
) -> None:
    pod = wait_for_phase(core, "ok")
    assert pod.status.phase == "Succeeded"
    assert (terminated(pod).exit_code, terminated(pod).reason) == (0, "Completed")
    assert [event.reason for event in pod_events(core, "ok")] == ["Scheduled", "Pulled", "Created", "Started"]
    watch = kubernetes.watch.Watch().stream(
        core.list_namespaced_pod,
        NAMESPACE,
        field_selector="metadata.name=ok",
        resource_version=started["ok"].metadata.resource_version,
        timeout_seconds=1,
    )
    phases = [e["object"].status.phase for e in watch]
    walked = [phase for i, phase in enumerate(phases) if i == 0 or phases[i - 1] != phase]
    assert walked == ["Pending", "Running", "Succeeded"]


def test_failing_command_is_failed_with_exit_code_and_termination_message(
    core: kubernetes.client.CoreV1Api, started: dict[str, kubernetes.client.V1Pod]
) -> None:
    pod = wait_for_phase(core, "fails")
    assert pod.status.phase == "Failed"
    state = terminated(pod)
    assert (state.exit_code, state.reason, state.message) == (3, "Error", "bad input: row 7")


def test_over_its_memory_limit_is_oom_killed(
    core: kubernetes.client.CoreV1Api, started: dict[str, kubernetes.client.V1Pod]
) -> None:
    pod = wait_for_phase(core, "oom")
    assert pod.status.phase == "Failed"
    assert (terminated(pod).exit_code, terminated(pod).reason) == (137, "OOMKilled")
    assert "OOMKilled" in [event.reason for event in pod_events(core, "oom")]


# --- the security context and volumes -----------------------------------------------------------


def test_runs_as_uid_10001_on_a_read_only_root(
    core: kubernetes.client.CoreV1Api, started: dict[str, kubernetes.client.V1Pod]
) -> None:
    pod = wait_for_phase(core, "readonly")
    log = log_text(core, "readonly")
    assert log.splitlines()[0] == str(TASK_UID)
    assert "Read-only file system" in log
    assert pod.status.phase == "Failed"


def test_empty_dir_tmp_is_writable_within_its_size_limit(
    core: kubernetes.client.CoreV1Api, started: dict[str, kubernetes.client.V1Pod]
) -> None:
    assert wait_for_phase(core, "scratch").status.phase == "Succeeded"
    lines = log_text(core, "scratch").splitlines()  # stdout and stderr: their order may interleave
    assert lines[0] == "scratch"
    assert "head: error writing 'standard output': No space left on device" in lines
    assert "big write refused" in lines


# --- secrets and images -----------------------------------------------------------------------------


def test_secret_keys_reach_the_container_through_env_from(
    core: kubernetes.client.CoreV1Api, started: dict[str, kubernetes.client.V1Pod]
) -> None:
    assert wait_for_phase(core, "secret-env").status.phase == "Succeeded"
    assert log_text(core, "secret-env") == "alice/pw\n"


def test_missing_secret_keeps_the_container_waiting_until_it_exists(
    core: kubernetes.client.CoreV1Api,
) -> None:
    pod = restricted_pod(
        "secret-missing",
        ["sh", "-c", 'echo "$TOKEN"'],
        container={"envFrom": [{"secretRef": {"name": "late-secret"}}]},
    )
    core.create_namespaced_pod(NAMESPACE, pod)
    wait_for(
        lambda: waiting_reason(core, "secret-missing") == "CreateContainerConfigError",
        what="CreateContainerConfigError",
    )
    assert core.read_namespaced_pod("secret-missing", NAMESPACE).status.phase == "Pending"
    failed = [e.message for e in pod_events(core, "secret-missing") if e.reason == "Failed"]
    assert failed == ['Error: secret "late-secret" not found']
    core.create_namespaced_secret(NAMESPACE, secret("late-secret", {"TOKEN": "t0k"}))
    assert wait_for_phase(core, "secret-missing").status.phase == "Succeeded"
    assert log_text(core, "secret-missing") == "t0k\n"


def test_missing_image_is_err_image_pull(core: kubernetes.client.CoreV1Api) -> None:
    image = "localhost:5000/airkube/never-built:0.0.0"
    core.create_namespaced_pod(NAMESPACE, restricted_pod("no-image", ["true"], image=image))
    wait_for(lambda: waiting_reason(core, "no-image") == "ErrImagePull", what="ErrImagePull")
    reasons = [e.reason for e in pod_events(core, "no-image")]
    assert reasons[:3] == ["Scheduled", "Failed", "BackOff"]
    assert core.read_namespaced_pod("no-image", NAMESPACE).status.phase == "Pending"


# --- logs ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def five_lines(core: kubernetes.client.CoreV1Api, started: dict[str, kubernetes.client.V1Pod]) -> str:
    """A finished pod that wrote line-1 .. line-5."""
    wait_for_phase(core, "five-lines")
    return "five-lines"


def test_log(core: kubernetes.client.CoreV1Api, five_lines: str) -> None:
    assert log_text(core, five_lines) == "".join(f"line-{i}\n" for i in range(1, 6))


def test_log_with_timestamps(core: kubernetes.client.CoreV1Api, five_lines: str) -> None:
    lines = log_text(core, five_lines, timestamps=True).splitlines()
    assert len(lines) == 5
    for number, line in enumerate(lines, 1):
        assert TIMESTAMP.match(line), line
        assert line.endswith(f" line-{number}")


def test_log_tail_lines(core: kubernetes.client.CoreV1Api, five_lines: str) -> None:
    assert log_text(core, five_lines, tail_lines=2) == "line-4\nline-5\n"


def test_log_long_line_comes_back_whole(
    core: kubernetes.client.CoreV1Api, started: dict[str, kubernetes.client.V1Pod]
) -> None:
    """The runtime splits a long line into partial (`P`) records; the API joins them again."""
    wait_for_phase(core, "long-line")
    assert log_text(core, "long-line").splitlines() == ["x" * 50000, "next"]


def test_log_since_seconds(core: kubernetes.client.CoreV1Api) -> None:
    command = ["sh", "-c", "echo old; sleep 4; echo new"]
    core.create_namespaced_pod(NAMESPACE, restricted_pod("since", command))
    wait_for_phase(core, "since")
    assert log_text(core, "since", since_seconds=2) == "new\n"
    assert log_text(core, "since", since_seconds=60) == "old\nnew\n"


def test_log_follow_streams_lines_as_they_are_written(core: kubernetes.client.CoreV1Api) -> None:
    command = ["sh", "-c", "for i in 1 2 3 4; do echo tick-$i; sleep 0.5; done"]
    core.create_namespaced_pod(NAMESPACE, restricted_pod("follow", command))
    wait_for(lambda: started_container(core, "follow"), what="the container's start")
    response = core.read_namespaced_pod_log("follow", NAMESPACE, follow=True, _preload_content=False)
    arrivals = []
    for line in response.stream(amt=None, decode_content=True):  # ends when the container ends
        for text in line.decode().splitlines():
            arrivals.append((text, time.monotonic()))
    assert [text for text, _ in arrivals] == ["tick-1", "tick-2", "tick-3", "tick-4"]
    assert arrivals[-1][1] - arrivals[0][1] > 1  # streamed while written, not all at the end
    assert wait_for_phase(core, "follow").status.phase == "Succeeded"


# --- graceful delete -------------------------------------------------------------------------------------


def test_graceful_delete_stops_and_removes_the_container(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_pod(NAMESPACE, restricted_pod("sleeper", ["sleep", "300"]))
    running = wait_for_phase(core, "sleeper", ("Running",))
    core.delete_namespaced_pod("sleeper", NAMESPACE, grace_period_seconds=2)
    terminating = core.read_namespaced_pod("sleeper", NAMESPACE)
    assert terminating.metadata.deletion_timestamp is not None
    assert terminating.metadata.deletion_grace_period_seconds == 2

    def gone() -> bool:
        return not core.list_namespaced_pod(NAMESPACE, field_selector="metadata.name=sleeper").items

    wait_for(gone, timeout=20, what="the pod's removal")
    events = list(
        kubernetes.watch.Watch().stream(
            core.list_namespaced_pod,
            NAMESPACE,
            field_selector="metadata.name=sleeper",
            resource_version=running.metadata.resource_version,
            timeout_seconds=1,
        )
    )
    assert events[0]["type"] == "MODIFIED"
    assert events[0]["object"].metadata.deletion_timestamp is not None
    assert events[-1]["type"] == "DELETED"
    assert "Killing" in [event.reason for event in pod_events(core, "sleeper")]
    containers = subprocess.run(
        podman_command("ps", "--all", "--quiet", "--filter", "label=io.kubernetes.pod.name=sleeper"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert containers.stdout.strip() == ""


# --- kubectl --------------------------------------------------------------------------------------------


def test_kubectl_get_pods_is_a_table(
    kubectl: Kubectl, core: kubernetes.client.CoreV1Api, started: dict
) -> None:
    wait_for_phase(core, "hello")
    lines = kubectl("get", "pods").stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["hello"][1:4] == ["0/1", "Completed", "0"]
    assert rows["fails"][1:3] == ["0/1", "Error"]
    wide = kubectl("get", "pod", "hello", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-2:] == ["IP", "NODE"]


def test_kubectl_describe_pod_shows_events(
    kubectl: Kubectl, core: kubernetes.client.CoreV1Api, started: dict
) -> None:
    wait_for_phase(core, "hello")
    described = kubectl("describe", "pod", "hello").stdout
    assert re.search(r"^Status:\s+Succeeded$", described, re.MULTILINE)
    events = described.split("Events:", 1)[1]
    for reason in ("Scheduled", "Pulled", "Created", "Started"):
        assert reason in events


def test_kubectl_logs(kubectl: Kubectl, core: kubernetes.client.CoreV1Api, started: dict) -> None:
    wait_for_phase(core, "hello")
    assert kubectl("logs", "hello").stdout == "hello from the pod\n"


def test_kubectl_delete_pod(kubectl: Kubectl, core: kubernetes.client.CoreV1Api) -> None:
    pod = restricted_pod("doomed", ["sleep", "300"])
    pod["spec"]["terminationGracePeriodSeconds"] = 1
    core.create_namespaced_pod(NAMESPACE, pod)
    wait_for_phase(core, "doomed", ("Running",))
    assert kubectl("get", "pod", "doomed").stdout.splitlines()[1].split()[2] == "Running"
    assert kubectl("delete", "pod", "doomed").stdout.strip() == 'pod "doomed" deleted'
    missing = kubectl("get", "pod", "doomed", check=False)  # kubectl delete waited until it was gone
    assert missing.returncode == 1
    assert 'pods "doomed" not found' in missing.stderr
