"""`make dev-k8s` renders the chart with helm/values.yaml, helm/values-local.yaml and this machine's
paths and ports. Only what cannot exist on one machine may differ from production; these tests fail
when the overlay, or the machine values the platform adds, touch anything else."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
import yaml

from airkube_dev import chart
from airkube_dev.k8s_platform import LOCAL_VALUES, KubernetesPlatform
from airkube_dev.layout import Layout, Ports, Secrets, State
from paths import REPO

# Every value path the local render may set, and why it cannot be production's on one machine.
ALLOWED = {
    "defaultAirflowRepository": "no ECR: the local image name, whose pods the stand-in runs as processes",
    "defaultAirflowTag": "the library version, as make images-local tags images",
    "airflowHome": "no image filesystem: the state folder's Airflow home",
    "dags.mountPath": "the working tree's DAGs",
    "dags.gitSync.enabled": "no network to clone the DAG repository from",
    "env": "the library's registry, tag, data URL (file://) and environment name for this machine",
    "config.core.execution_api_server_url": "no Service DNS: the api-server on 127.0.0.1",
    "config.api.host": "the api-server listens on 127.0.0.1",
    "config.api.port": "a free port",
    "config.api.base_url": "the api-server's local address",
    "config.kubernetes_executor.in_cluster": "the scheduler runs outside the cluster",
    "config.metrics.statsd_on": "no Datadog agent on this machine",
}
# airflow.cfg keys that follow from ALLOWED (the chart derives them from those values).
DERIVED_CFG = {
    ("core", "dags_folder"),
    ("core", "execution_api_server_url"),
    ("api", "host"),
    ("api", "port"),
    ("api", "base_url"),
    ("kubernetes_executor", "in_cluster"),
    ("kubernetes_executor", "pod_template_file"),
    ("kubernetes_executor", "worker_container_repository"),
    ("kubernetes_executor", "worker_container_tag"),
    ("metrics", "statsd_on"),
}


def _paths(values: dict, prefix: str = "") -> set[str]:
    """Leaf paths of a values document; lists (which Helm replaces whole) count as one leaf."""
    found: set[str] = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        found |= _paths(value, f"{path}.") if isinstance(value, dict) else {path}
    return found


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> tuple[KubernetesPlatform, State]:
    root = tmp_path_factory.mktemp("k8s-overlay")
    state = State(ports=Ports(postgres=1, pgbouncer=2, api=3, kube=4), secrets=Secrets.generate())
    return KubernetesPlatform(Layout(root), dags_folder=root / "dags"), state


def test_the_local_overlay_and_machine_values_touch_only_what_one_machine_cannot_have(platform):
    local, state = platform
    touched = _paths(yaml.safe_load(LOCAL_VALUES.read_text())) | _paths(local.machine_values(state))
    assert touched - set(ALLOWED) == set()


def _cfg(manifests: list[dict]) -> dict[tuple[str, str], str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(chart.airflow_cfg(manifests))
    return {(section, key): value for section in parser.sections() for key, value in parser[section].items()}


def test_the_rendered_airflow_cfg_differs_from_production_only_where_the_machine_must(platform):
    local, state = platform
    production = _cfg(chart.render([REPO / "helm" / "values.yaml"]))
    rendered = _cfg(local.rendered(state))
    changed = {key for key in production.keys() | rendered.keys() if production.get(key) != rendered.get(key)}
    assert changed - DERIVED_CFG == set()
    assert rendered[("core", "executor")] == "KubernetesExecutor"


def test_the_worker_pod_template_is_productions_but_for_image_paths_and_git_sync(platform):
    local, state = platform
    production = chart.pod_template(chart.render([REPO / "helm" / "values.yaml"]))
    rendered = chart.pod_template(local.rendered(state))
    base, ours = production["spec"]["containers"][0], rendered["spec"]["containers"][0]
    assert ours["resources"] == base["resources"]
    assert ours["securityContext"] == base["securityContext"]
    assert rendered["spec"]["securityContext"] == production["spec"]["securityContext"]
    assert (
        ours["image"] == f"localhost:5000/airkube/airflow:{local.machine_values(state)['defaultAirflowTag']}"
    )
    assert "initContainers" not in rendered["spec"] or not rendered["spec"]["initContainers"]


def test_a_value_outside_the_allowed_list_is_caught(platform, tmp_path: Path):
    """The check above can fail: an overlay that also changed the worker pod's memory is refused."""
    sneaky = yaml.safe_load(LOCAL_VALUES.read_text())
    sneaky["workers"] = {"kubernetes": {"resources": {"limits": {"memory": "8Gi"}}}}
    assert _paths(sneaky) - set(ALLOWED) == {"workers.kubernetes.resources.limits.memory"}
