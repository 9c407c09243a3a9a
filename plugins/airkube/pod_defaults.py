"""What every airkube pod gets: a restricted security context, scratch space, labels for Datadog.

These follow the Kubernetes "restricted" Pod Security Standard, so task pods run in a namespace
that enforces it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from airflow.providers.cncf.kubernetes.secret import Secret
from kubernetes.client import models as k8s

from airkube.k8s_models import build
from airkube.resources import Size, resource_requirements

# Task images run as this numeric user (images/pipeline/Dockerfile creates it); numeric, so the
# kubelet can verify runAsNonRoot without reading /etc/passwd inside the image.
TASK_UID = 10001
SCRATCH_MOUNT = "/tmp"
# Task pods run on the autoscaled worker node group (its label is set by terraform/modules/eks), never on
# the fixed system nodes that hold Airflow's own components.
WORKER_NODE_SELECTOR = {"airkube/pool": "worker"}
# The platform's bin-packing scheduler (helm/binpack-scheduler): the default scheduler spreads pods over
# every node, so none empties and the Cluster Autoscaler keeps a run's peak of nodes until the run ends.
SCHEDULER_NAME = "airkube-binpack"

_RUNTIME_DEFAULT = build(k8s.V1SeccompProfile, type="RuntimeDefault")
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def pod_security_context() -> k8s.V1PodSecurityContext:
    """Non-root user and group; fsGroup so the scratch volume is writable."""
    return build(
        k8s.V1PodSecurityContext,
        run_as_non_root=True,
        run_as_user=TASK_UID,
        run_as_group=TASK_UID,
        fs_group=TASK_UID,
        seccomp_profile=_RUNTIME_DEFAULT,
    )


def container_security_context() -> k8s.V1SecurityContext:
    """No privilege escalation, no capabilities, nothing written outside the scratch volume."""
    return build(
        k8s.V1SecurityContext,
        allow_privilege_escalation=False,
        capabilities=build(k8s.V1Capabilities, drop=["ALL"]),
        read_only_root_filesystem=True,
        run_as_non_root=True,
        seccomp_profile=_RUNTIME_DEFAULT,
    )


def scratch_volume(size_limit: str) -> tuple[k8s.V1Volume, k8s.V1VolumeMount]:
    """An emptyDir at /tmp: the root filesystem is read-only, and the data itself goes to object
    storage, so scratch space lives and dies with the pod."""
    volume = build(
        k8s.V1Volume, name="scratch", empty_dir=build(k8s.V1EmptyDirVolumeSource, size_limit=size_limit)
    )
    return volume, build(k8s.V1VolumeMount, name="scratch", mount_path=SCRATCH_MOUNT)


def pod_arguments(size: Size, secret_names: Sequence[str]) -> dict[str, Any]:
    """The KubernetesPodOperator arguments every airkube pod gets, for a task of `size` (already
    checked) reading the Kubernetes Secrets `secret_names` as environment variables."""
    volume, mount = scratch_volume(size.scratch)
    return {
        "container_resources": resource_requirements(size),
        "secrets": [Secret("env", None, name) for name in secret_names],
        "volumes": [volume],
        "volume_mounts": [mount],
        "node_selector": dict(WORKER_NODE_SELECTOR),
        "schedulername": SCHEDULER_NAME,
        "security_context": pod_security_context(),
        "container_security_context": container_security_context(),
    }


def is_label_value(value: str) -> bool:
    """Whether Kubernetes accepts `value` as a label value (63 characters, alphanumeric ends)."""
    return bool(_LABEL_VALUE.match(value))


TEAM_LABEL = "airkube.io/team"
"""The pod label naming a task's owning team (the platform page groups tasks by it)."""


def team_labels(*, team: str, environment: str, service: str) -> dict[str, str]:
    """Labels added beside KubernetesPodOperator's own (dag_id, task_id, run_id, try_number).

    `tags.datadoghq.com/*` are Datadog's unified service tags: the agent tags every metric and log
    line of the pod with env and service without further configuration.
    """
    return {
        "app.kubernetes.io/part-of": "airkube",
        TEAM_LABEL: team,
        "tags.datadoghq.com/env": environment,
        "tags.datadoghq.com/service": service,
    }


def datadog_annotations(*, team: str, dag_id: str, task_id: str) -> dict[str, str]:
    """`ad.datadoghq.com/tags`: tags the Datadog agent attaches to everything from the pod.

    Unlike labels, annotation values may hold any characters, so the run id goes here unchanged.
    """
    tags = {"team": team, "dag_id": dag_id, "task_id": task_id, "run_id": "{{ run_id }}"}
    return {"ad.datadoghq.com/tags": json.dumps(tags, sort_keys=True)}
