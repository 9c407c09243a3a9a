"""Which Kubernetes schedulers run, and how each scores nodes: the cluster's default one, and the profiles of
the platform's own second scheduler (helm/binpack-scheduler), read from its rendered configuration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SCHEDULER = "default-scheduler"
# Kubernetes' own classes, in every cluster.
BUILT_IN_PRIORITY_CLASSES = {"system-cluster-critical": 2_000_000_000, "system-node-critical": 2_000_001_000}
SCORING_STRATEGIES = {"LeastAllocated": "least-allocated", "MostAllocated": "most-allocated"}


def profile_scorings(config: Mapping[str, Any]) -> dict[str, str]:
    """scheduler name -> placement, from a KubeSchedulerConfiguration (LeastAllocated when a profile does
    not configure NodeResourcesFit, as the kube-scheduler does)."""
    scorings = {}
    for profile in config.get("profiles") or [{}]:
        name = profile.get("schedulerName", DEFAULT_SCHEDULER)
        strategy = "LeastAllocated"
        for plugin in profile.get("pluginConfig") or []:
            if plugin.get("name") == "NodeResourcesFit":
                strategy = ((plugin.get("args") or {}).get("scoringStrategy") or {}).get("type", strategy)
        if strategy not in SCORING_STRATEGIES:
            raise ValueError(f"scheduler profile {name!r}: scoring strategy {strategy!r} is not modelled")
        scorings[name] = SCORING_STRATEGIES[strategy]
    return scorings


def render_platform_scheduler(repo: Path) -> list[dict[str, Any]]:
    """helm/binpack-scheduler's objects, as Terraform's platform layer installs them."""
    from airkube_dev import chart

    chart_dir = repo / "helm" / "binpack-scheduler"
    tag = f"image.tag=v{chart.helm_mk_variable('HELM_KUBE_VERSION').lstrip('v')}"
    proc = chart.helm_template(chart_dir, "airkube-binpack", "--set", tag, namespace="kube-system")
    if proc.returncode != 0:
        raise ValueError(f"helm template {chart_dir} failed:\n{proc.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def priority_classes(manifests: list[dict[str, Any]]) -> dict[str, int]:
    """PriorityClass name -> value, of the rendered platform scheduling chart."""
    return {m["metadata"]["name"]: int(m["value"]) for m in manifests if m.get("kind") == "PriorityClass"}


def platform_scheduler_scorings(manifests: list[dict[str, Any]]) -> dict[str, str]:
    """Scheduler name -> placement for each profile of the platform's scheduler configuration."""
    scorings: dict[str, str] = {}
    for manifest in manifests:
        if manifest.get("kind") != "ConfigMap":
            continue
        for text in (manifest.get("data") or {}).values():
            document = yaml.safe_load(text)
            if isinstance(document, dict) and document.get("kind") == "KubeSchedulerConfiguration":
                scorings.update(profile_scorings(document))
    return scorings
