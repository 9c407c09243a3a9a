"""The Helm values under test, merged the way Helm merges them, and facts derived from them.

Everything here reads the repository's own files: helm/values.yaml and its overlays, helm/helm.mk (the
chart pin), constraints.txt (the lock) and the chart's data files in ../shared/airflow-chart-<pin>/.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
HELM_DIR = REPO / "helm"
HELM_MK = HELM_DIR / "helm.mk"
BASE_VALUES = HELM_DIR / "values.yaml"
ENVIRONMENTS = ("staging", "prod")

# Where each Secret name lives in the values, and the keys the chart reads from that Secret. The names are
# never written down a second time: Terraform (and helm/README.md) take them from helm/values.yaml.
SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "data.metadataSecretName": ("connection", "direct-connection"),
    "fernetKeySecretName": ("fernet-key",),
    "apiSecretKeySecretName": ("api-secret-key",),
    "jwtSecretName": ("jwt-secret",),
    "dags.gitSync.sshKeySecret": ("gitSshKey",),
    "pgbouncer.configSecretName": ("pgbouncer.ini", "users.txt"),
    "pgbouncer.metricsExporterSidecar.statsSecretName": ("connection",),
}


def chart_version() -> str:
    """The one pin of the chart's version: HELM_CHART_VERSION in helm/helm.mk."""
    pins = re.findall(r"^HELM_CHART_VERSION\s*[:?]?=\s*(\S+)\s*$", HELM_MK.read_text(), re.MULTILINE)
    assert len(pins) == 1, f"helm/helm.mk must set HELM_CHART_VERSION exactly once, found {pins}"
    return pins[0]


def chart_dir() -> Path:
    """The chart's data files, beside the repository (CI clones the repo with shared/ next to it)."""
    return REPO / ".." / "shared" / f"airflow-chart-{chart_version()}"


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


@cache
def _chart_defaults() -> dict[str, Any]:
    return load_yaml(chart_dir() / "values.yaml")


def chart_defaults() -> dict[str, Any]:
    return copy.deepcopy(_chart_defaults())


@cache
def chart_schema() -> dict[str, Any]:
    """The chart's values.schema.json (cached: read it, do not change it)."""
    return json.loads((chart_dir() / "values.schema.json").read_text())


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of values files: maps merge key by key, anything else (lists included) replaces,
    and null deletes the key."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def overlay_path(env: str) -> Path:
    return HELM_DIR / f"values-{env}.yaml"


def user_values(env: str) -> dict[str, Any]:
    """What `helm upgrade -f helm/values.yaml -f helm/values-<env>.yaml` passes to the chart."""
    return merge(load_yaml(BASE_VALUES), load_yaml(overlay_path(env)))


def effective_values(env: str) -> dict[str, Any]:
    """The values the chart's templates see: its defaults coalesced with ours."""
    return merge(chart_defaults(), user_values(env))


def get(values: dict[str, Any], path: str, default: Any = None) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def put(values: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def locked_versions() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def locked_python() -> str:
    """Major.minor of the lock's `# Python X.Y.Z` header."""
    match = re.search(r"^# Python (\d+\.\d+)\.\d+", (REPO / "constraints.txt").read_text(), re.MULTILINE)
    assert match, "constraints.txt has no '# Python X.Y.Z' header"
    return match.group(1)


def container_env(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The env items the chart adds to every Airflow container: `env` plus the parsed `extraEnv` string."""
    items = list(values.get("env") or [])
    extra = values.get("extraEnv")
    if extra:
        assert "{{" not in extra, "extraEnv is templated; the tests read it as plain YAML"
        parsed = yaml.safe_load(extra)
        assert isinstance(parsed, list), "extraEnv must be a YAML list of env items"
        items += parsed
    return items


def env_value(values: dict[str, Any], name: str) -> Any:
    """The plain value of env var `name` (None when absent or set from a source)."""
    matches = [item for item in container_env(values) if item.get("name") == name]
    return matches[0].get("value") if matches else None


def required_secrets(values: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Secret name -> keys, for every Secret the values make the chart read (Terraform creates them)."""
    secrets: dict[str, tuple[str, ...]] = {}
    for path, keys in SECRET_KEYS.items():
        name = get(values, path)
        if name:
            assert name not in secrets, f"Secret {name} named twice"
            secrets[name] = keys
    return secrets
