"""The discovery documents the Kubernetes Python client's DynamicClient and kubectl read first."""

from __future__ import annotations

from typing import Any

GIT_VERSION = "v1.33.0-airkube-standin"


def version() -> dict[str, Any]:
    return {
        "major": "1",
        "minor": "33",
        "gitVersion": GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "",
        "compiler": "",
        "platform": "linux/amd64",
    }


def api_versions() -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}


def api_groups() -> dict[str, Any]:
    """No API groups: only the core group's pods, events, secrets and configmaps are served."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}


def _resource(name: str, kind: str, verbs: list[str], short: list[str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "singularName": "",
        "namespaced": True,
        "kind": kind,
        "verbs": verbs,
    }
    if short:
        entry["shortNames"] = short
    return entry


def core_v1_resources() -> dict[str, Any]:
    crud = ["create", "delete", "get", "list", "patch", "watch"]
    return {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            _resource("pods", "Pod", crud, ["po"]),
            _resource("pods/log", "Pod", ["get"]),
            _resource("events", "Event", ["create", "get", "list", "watch"], ["ev"]),
            _resource("secrets", "Secret", crud),
            _resource("configmaps", "ConfigMap", crud, ["cm"]),
        ],
    }
