"""The pinned chart rendered by a real helm (airkube_dev.chart), and readers of the rendered objects.

The values tests reason about what the chart would do with our values; these readers look at what it did:
the workloads' pod specs, the executor's worker pod template, the airflow.cfg every component mounts.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from airkube_dev.chart import airflow_cfg, environment_values, helm_mk_variable, pod_template, render

# The kinds whose objects run pods, and where each keeps its pod spec.
POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# The name under which pod_specs() lists the worker pod template (the chart's is a placeholder).
WORKER_POD = "Pod/worker-pod-template"


def namespace() -> str:
    """The release's namespace, HELM_NAMESPACE in helm/helm.mk (what `make deploy` installs into)."""
    return helm_mk_variable("HELM_NAMESPACE")


def manifests(env: str, *extra_values: Path) -> list[dict[str, Any]]:
    """What `make deploy ENV=<env>` installs, optionally with more values files after the overlay."""
    return render([*environment_values(env), *extra_values], namespace=namespace())


def render_with(env: str, overrides: dict[str, Any], directory: Path) -> list[dict[str, Any]]:
    """The environment rendered with `overrides` as one more values file (a breakage, for controls)."""
    path = directory / "overrides.yaml"
    path.write_text(yaml.safe_dump(overrides))
    return manifests(env, path)


def key(manifest: dict[str, Any]) -> str:
    """`Kind/name`, how the tests and tests/helm/checkov_skips.yaml name an object."""
    return f"{manifest['kind']}/{manifest['metadata']['name']}"


def find(manifests: Sequence[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of that kind (and name, when given)."""
    found = [m for m in manifests if m["kind"] == kind and name in (None, m["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, rendered {[key(m) for m in found]}"
    return found[0]


def kubernetes_errors(objects: Sequence[dict[str, Any]]) -> list[str]:
    """What the API server of the cluster's version would reject, unknown fields included."""
    version = helm_mk_variable("HELM_KUBE_VERSION")
    errors = []
    for manifest in objects:
        try:
            used = kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            errors.append(f"{key(manifest)}: {err.message} at {list(err.path)}")
        else:
            assert used.startswith(version.rsplit(".", 1)[0]), f"validated against {used}, not {version}"
    return errors


def worker_pod(manifests: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """KubernetesExecutor's worker pod template, in the namespace the executor creates worker pods in."""
    pod = pod_template(manifests)
    pod["metadata"]["namespace"] = config(manifests)["kubernetes_executor"]["namespace"]
    return pod


def pod_specs(manifests: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`Kind/name` -> pod spec, for every workload the chart renders and for the worker pod template."""
    specs = {}
    for manifest in manifests:
        path = POD_SPEC_PATHS.get(manifest["kind"])
        if path:
            node = manifest
            for part in path:
                node = node[part]
            specs[key(manifest)] = node
    specs[WORKER_POD] = pod_template(manifests)["spec"]
    return specs


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Init containers, then containers."""
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Env var name -> its item (`value` or `valueFrom`); a name set twice fails."""
    items = container.get("env") or []
    names = [item["name"] for item in items]
    assert len(names) == len(set(names)), f"{container['name']}: an env var set twice"
    return {item["name"]: item for item in items}


def config(manifests: Sequence[dict[str, Any]]) -> configparser.ConfigParser:
    """The rendered airflow.cfg, parsed as Airflow parses it (no interpolation)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(airflow_cfg(manifests))
    return parser
