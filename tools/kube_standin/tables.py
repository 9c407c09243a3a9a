"""Server-side printing: the `Table` kubectl asks for with `kubectl get`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kube_standin.store import Obj


def _age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    seconds = int(
        (datetime.now(UTC) - datetime.fromisoformat(timestamp.replace("Z", "+00:00"))).total_seconds()
    )
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def pod_status(pod: Obj) -> str:
    """The STATUS column: a waiting or terminated reason wins over the phase, as kubectl shows it."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for container in pod.get("status", {}).get("containerStatuses", []):
        state = container.get("state", {})
        for key in ("waiting", "terminated"):
            reason = (state.get(key) or {}).get("reason")
            if reason:
                return reason
    return pod.get("status", {}).get("phase", "Pending")


def _pod_row(pod: Obj) -> list[Any]:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(s.get("restartCount", 0) for s in statuses)
    return [
        pod["metadata"]["name"],
        f"{ready}/{len(pod['spec']['containers'])}",
        pod_status(pod),
        restarts,
        _age(pod["metadata"].get("creationTimestamp")),
        pod.get("status", {}).get("podIP", "<none>"),
        pod["spec"].get("nodeName", "<none>"),
    ]


COLUMNS = {
    "pods": [
        ("Name", "string"),
        ("Ready", "string"),
        ("Status", "string"),
        ("Restarts", "integer"),
        ("Age", "string"),
        ("IP", "string"),
        ("Node", "string"),
    ],
    "events": [
        ("Last Seen", "string"),
        ("Type", "string"),
        ("Reason", "string"),
        ("Object", "string"),
        ("Message", "string"),
    ],
}


def _row(resource: str, obj: Obj) -> list[Any]:
    if resource == "pods":
        return _pod_row(obj)
    if resource == "events":
        involved = obj.get("involvedObject", {})
        return [
            _age(obj.get("lastTimestamp")),
            obj.get("type", ""),
            obj.get("reason", ""),
            f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
            obj.get("message", ""),
        ]
    return [obj["metadata"]["name"], _age(obj["metadata"].get("creationTimestamp"))]


def table(resource: str, items: list[Obj], resource_version: str) -> dict[str, Any]:
    columns = COLUMNS.get(resource, [("Name", "string"), ("Age", "string")])
    priority = {"IP": 1, "Node": 1}
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": kind,
                "format": "name" if name == "Name" else "",
                "description": "",
                "priority": priority.get(name, 0),
            }
            for name, kind in columns
        ],
        "rows": [
            {
                "cells": _row(resource, item),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": item["metadata"],
                },
            }
            for item in items
        ],
    }
