"""Test-wide setup: a throwaway AIRFLOW_HOME and fixed platform settings, before Airflow is imported.

Unit tests of the library run DAGs with `dag.test()` on a SQLite metadata database in that home:
one process, no concurrency, which SQLite handles. The running platform (make dev) uses PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from paths import REPO

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airkube-tests-"))
TEST_DAGS = AIRFLOW_HOME / "dags"
TEST_DAGS.mkdir()

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRKUBE_IMAGE_REGISTRY": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/airkube",
        "AIRKUBE_IMAGE_TAG": "0.1.0",
        "AIRKUBE_DATA_URL": f"file://{AIRFLOW_HOME}/data",
        "AIRKUBE_ENV": "test",
        "AIRKUBE_RUNNER": "kubernetes",
    }
)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated metadata database for `dag.test()`, made by Airflow's own CLI."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto S3 server on 127.0.0.1 and a free port, for the whole session (the
    task code's tests and the platform records' use it)."""
    server_module = pytest.importorskip(
        "moto.server", reason="moto is not installed (pip install 'moto[server]'): S3 tests need it"
    )
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def runner_mode(monkeypatch: pytest.MonkeyPatch):
    """Switch AIRKUBE_RUNNER for one test (settings are cached per process)."""
    from airkube.settings import platform_settings

    def switch(mode: str) -> None:
        monkeypatch.setenv("AIRKUBE_RUNNER", mode)
        platform_settings.cache_clear()

    yield switch
    platform_settings.cache_clear()


@pytest.fixture(scope="module")
def dagbag():
    """The repository's dags/ folder, parsed the way the dag-processor parses it."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"), bundle_path=REPO / "dags", bundle_name="dags-folder")


@pytest.fixture
def pods_instead_of_cluster(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The Kubernetes API cannot run here. KubernetesPodOperator.execute is replaced by a stand-in
    that does what execute does first -- build the pod from the real run context -- and records the
    manifest instead of sending it to a cluster."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import ApiClient

    manifests: list[dict] = []

    def build_and_record(self: KubernetesPodOperator, context) -> None:
        pod = self.build_pod_request_obj(context, dry_run=True)
        manifest = ApiClient().sanitize_for_serialization(pod)
        manifest.update(apiVersion="v1", kind="Pod")
        manifests.append(manifest)

    monkeypatch.setattr(KubernetesPodOperator, "execute", build_and_record)
    return manifests
