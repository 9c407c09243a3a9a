"""Fixtures for the tests of tools/kube_standin, the stand-in for EKS's Kubernetes API server and kubelet.

Each test module gets a stand-in of its own (a separate process on a free port, stopped afterwards) and
talks to it only as the platform does: through the real Kubernetes Python client and the real kubectl
1.33, over HTTP. When the module's stand-in stops, every request it recorded must have been served by
a route, except the deliberate unknown calls a test makes (their path holds `UNKNOWN_MARK`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import kubernetes
import pytest

from airkube_dev.processes import free_port
from kube_standin import server
from paths import REPO
from standin_support import NAMESPACE, UNKNOWN_MARK

KUBECTL = REPO / ".local" / "bin" / "kubectl"


@pytest.fixture(scope="module")
def standin(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[server.StandIn]:
    """The module's stand-in; a module's `WATCH_HISTORY` sets how many changes its watches can replay."""
    state = tmp_path_factory.mktemp("standin")
    running = server.start(
        state / "state",
        port=free_port(),
        log_file=state / "standin.log",
        watch_history=getattr(request.module, "WATCH_HISTORY", None),
    )
    try:
        yield running
    finally:
        running.stop()
    unserved = [r for r in running.requests() if r["route"] is None and UNKNOWN_MARK not in r["path"]]
    assert not unserved, f"requests the stand-in does not serve: {unserved}"


@pytest.fixture(scope="module")
def api_client(standin: server.StandIn) -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(str(standin.kubeconfig))


@pytest.fixture(scope="module")
def core(api_client: kubernetes.client.ApiClient) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def kubectl(standin: server.StandIn) -> Callable[..., subprocess.CompletedProcess[str]]:
    if not KUBECTL.exists():
        pytest.fail(f"{KUBECTL} not found: make kube-tools")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(KUBECTL), "--kubeconfig", str(standin.kubeconfig), "-n", NAMESPACE, *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=check)

    return run
