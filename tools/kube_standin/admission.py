"""Admission as a real API server does it for pods: schema validation, then Pod Security "restricted".

Schema: the Kubernetes 1.33 OpenAPI schema in strict mode (unknown fields refused), through the
`kubernetes-validate` package. Pod Security: the checks of the "restricted" profile (which includes
"baseline") from kubernetes.io/docs/concepts/security/pod-security-standards, with the API server's
own wording, as in a namespace labelled `pod-security.kubernetes.io/enforce: restricted`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate

KUBERNETES_VERSION = "1.33"
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


class Refused(Exception):
    """A pod admission refuses: HTTP status, Kubernetes reason and message for the Status body."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def validate_schema(pod: dict[str, Any]) -> None:
    """422 Invalid for anything the 1.33 schema rejects, unknown fields included (strict)."""
    try:
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        name = pod.get("metadata", {}).get("name") or pod.get("metadata", {}).get("generateName", "")
        where = ".".join(str(part) for part in err.path)
        raise Refused(422, "Invalid", f'Pod "{name}" is invalid: {where}: {err.message}') from err


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        *spec.get("initContainers", []),
        *spec.get("containers", []),
        *spec.get("ephemeralContainers", []),
    ]


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """Each violation of the "restricted" profile, worded as the API server words it."""
    spec = pod.get("spec", {})
    pod_sc = spec.get("securityContext") or {}
    containers = _containers(spec)
    found: list[str] = []

    def names(predicate: Any) -> list[str]:
        return [c["name"] for c in containers if predicate(c.get("securityContext") or {})]

    def containers_named(items: list[str]) -> str:
        return f"container{'s' if len(items) > 1 else ''} " + ", ".join(f'"{item}"' for item in items)

    host = [
        f"{key}={str(spec[key]).lower()}" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)
    ]
    if host:
        found.append(f"host namespaces ({', '.join(host)})")
    ports = [
        f'container "{c["name"]}" uses hostPort {port["hostPort"]}'
        for c in containers
        for port in c.get("ports") or []
        if port.get("hostPort")
    ]
    if ports:
        found.append(f"hostPort ({', '.join(ports)})")
    privileged = names(lambda sc: sc.get("privileged"))
    if privileged:
        found.append(
            f"privileged ({containers_named(privileged)} must not set securityContext.privileged=true)"
        )
    bad_volumes = [
        v["name"] for v in spec.get("volumes", []) if not (set(v) - {"name"}) <= RESTRICTED_VOLUME_TYPES
    ]
    if bad_volumes:
        found.append(
            f"restricted volume types (volumes {', '.join(bad_volumes)} use a type the "
            "restricted profile does not allow)"
        )
    escalation = names(lambda sc: sc.get("allowPrivilegeEscalation") is not False)
    if escalation:
        found.append(
            f"allowPrivilegeEscalation != false ({containers_named(escalation)} must set "
            "securityContext.allowPrivilegeEscalation=false)"
        )
    caps = names(
        lambda sc: (
            "ALL" not in ((sc.get("capabilities") or {}).get("drop") or [])
            or set((sc.get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}
        )
    )
    if caps:
        found.append(
            f"unrestricted capabilities ({containers_named(caps)} must set "
            'securityContext.capabilities.drop=["ALL"])'
        )
    pod_non_root = pod_sc.get("runAsNonRoot") is True
    non_root = names(
        lambda sc: (
            sc.get("runAsNonRoot") is False or (not pod_non_root and sc.get("runAsNonRoot") is not True)
        )
    )
    if non_root:
        found.append(
            f"runAsNonRoot != true (pod or {containers_named(non_root)} must set "
            "securityContext.runAsNonRoot=true)"
        )
    root_user = names(lambda sc: sc.get("runAsUser") == 0)
    if pod_sc.get("runAsUser") == 0 or root_user:
        found.append("runAsUser=0 (pod and containers must not set runAsUser=0)")
    found.extend(_seccomp_violation(pod_sc, containers, containers_named))
    return found


def _seccomp_violation(
    pod_sc: dict[str, Any], containers: list[dict[str, Any]], named: Callable[[list[str]], str]
) -> list[str]:
    """A profile set to anything but RuntimeDefault/Localhost (at pod or container level) is refused
    first; else every container left without one, when the pod sets none."""
    allowed = ("RuntimeDefault", "Localhost")
    bad_setters, bad_types = [], []
    pod_profile = pod_sc.get("seccompProfile")
    pod_type = pod_profile.get("type") if pod_profile else None
    if pod_profile and pod_type not in allowed:
        bad_setters.append("pod")
        bad_types.append(str(pod_type))
    bad_containers, missing = [], []
    for container in containers:
        profile = (container.get("securityContext") or {}).get("seccompProfile")
        if profile:
            if profile.get("type") not in allowed:
                bad_containers.append(container["name"])
                bad_types.append(str(profile.get("type")))
        elif pod_type not in allowed:
            missing.append(container["name"])
    if bad_containers:
        bad_setters.append(named(bad_containers))
    if bad_setters:
        types = ", ".join(f'"{kind}"' for kind in dict.fromkeys(bad_types))
        return [
            f"seccompProfile ({' and '.join(bad_setters)} must not set "
            f"securityContext.seccompProfile.type to {types})"
        ]
    if missing:
        return [
            f"seccompProfile (pod or {named(missing)} must set "
            'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
        ]
    return []


def check_pod_security(pod: dict[str, Any]) -> None:
    """403 Forbidden listing every violation, as `enforce: restricted` answers."""
    violations = restricted_violations(pod)
    if violations:
        name = pod.get("metadata", {}).get("name", "")
        raise Refused(
            403,
            "Forbidden",
            f'pods "{name}" is forbidden: violates PodSecurity "restricted:latest": {", ".join(violations)}',
        )


def admit_pod(pod: dict[str, Any], *, enforce_restricted: bool) -> None:
    validate_schema(pod)
    if enforce_restricted:
        check_pod_security(pod)
