"""A container's environment as the kubelet builds it: envFrom, then env with valueFrom and $(VAR)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

NODE_IP = "127.0.0.1"
# (kind, name, key or None for all keys, optional) -> the value, the whole data, or None when optional
Lookup = Callable[[str, str, str | None, bool], Any]
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def field_ref(pod: Mapping[str, Any], path: str, node: str) -> str:
    """The downward API: the fields a fieldRef may name."""
    meta = pod.get("metadata", {})
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": node,
        "spec.serviceAccountName": pod.get("spec", {}).get("serviceAccountName", "default"),
        "status.hostIP": NODE_IP,
        "status.podIP": NODE_IP,
    }
    if path in simple:
        return simple[path]
    match = re.match(r"metadata\.(labels|annotations)\['(.+)'\]$", path)
    if match:
        return (meta.get(match.group(1)) or {}).get(match.group(2), "")
    return ""


def resolve(
    pod: Mapping[str, Any], container: Mapping[str, Any], lookup: Lookup, node: str
) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, ref_key in (("secrets", "secretRef"), ("configmaps", "configMapRef")):
            if ref_key in source:
                ref = source[ref_key]
                data = lookup(kind, ref["name"], None, bool(ref.get("optional")))
                env.update({prefix + k: v for k, v in (data or {}).items()})
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), str(item["value"]))
            continue
        source = item.get("valueFrom") or {}
        value: Any = ""
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            value = lookup("secrets", ref["name"], ref["key"], bool(ref.get("optional")))
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            value = lookup("configmaps", ref["name"], ref["key"], bool(ref.get("optional")))
        elif "fieldRef" in source:
            value = field_ref(pod, source["fieldRef"]["fieldPath"], node)
        if value is not None:
            env[item["name"]] = str(value)
    return env
