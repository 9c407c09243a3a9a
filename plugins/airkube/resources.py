"""Named task sizes and the CPU / memory quantities behind them.

One table, so a DAG says `size="medium"` and the platform team can retune every task at once.
Memory limit equals the request (memory is not compressible: a pod above its request is the first
one the node evicts); CPU may burst to its limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from kubernetes.client import models as k8s
from kubernetes.utils.quantity import parse_quantity

from airkube.errors import FieldError
from airkube.k8s_models import build


@dataclass(frozen=True)
class Size:
    """Requests and limits of one named size, plus the scratch space mounted at /tmp."""

    cpu_request: str
    cpu_limit: str
    memory: str
    scratch: str


# Every size must fit one worker node (terraform: worker_instance_types, m6i.xlarge) after the DaemonSets
# and EKS's reservations: 3495m CPU and 13.7 GiB by the capacity planner's figures (`make capacity`);
# tests/plan/test_sizes_fit.py fails when one does not. "large" is 3 CPU, not 4: a 4-CPU request can never
# be scheduled on a 4-vCPU node (3.92 allocatable before any DaemonSet) and would sit Pending until its
# schedule timeout. Its limit stays 4: it may burst into what the node has free.
SIZES: dict[str, Size] = {
    "small": Size(cpu_request="250m", cpu_limit="500m", memory="512Mi", scratch="1Gi"),
    "medium": Size(cpu_request="1", cpu_limit="2", memory="2Gi", scratch="4Gi"),
    "large": Size(cpu_request="3", cpu_limit="4", memory="8Gi", scratch="16Gi"),
}


# Pool slots: what a task takes of Airflow's pool, in shares of one worker node, so the pool admits no more
# tasks at once than the worker nodes hold. Admitted beyond that, task pods wait Pending for nodes that
# cannot come and fail at their schedule timeout (the capacity planner showed 377 of 600 medium tasks fail).
# A slot is what a small task takes with its KubernetesExecutor worker pod (250m + 100m CPU; memory 512Mi +
# 512Mi, with room): 9 fit a worker node (m6i.xlarge: 3495m and 13.8 GiB for pods after EKS's reservations
# and the DaemonSets), and so do 3 medium or 1 large task with their worker pods. helm/values.yaml sizes the
# default pool as SLOTS_PER_NODE x the worker node maximum; tests/plan/test_layers_agree.py checks both.
SLOT_CPU_MILLICORES = 350
SLOT_MEMORY_MIB = 1536
SLOTS_PER_NODE = 9


DEFAULT_SIZE = "small"


def check_quantity(value: object, *, kind: str) -> Decimal:
    """Parse a Kubernetes quantity (`500m`, `2Gi`, `1.5`) and insist it is positive.

    Uses the Kubernetes client's own parser so airkube accepts exactly what the API server does.
    `kind` is the task's field, "cpu" or "memory" (a FieldError names it): memory in milli-units
    (`512m`) is legal but never what was meant.
    """
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise FieldError(kind, f"{value!r} is not a quantity (expected a string such as '500m' or '2Gi')")
    try:
        parsed = parse_quantity(value)
    except ValueError as err:
        raise FieldError(kind, f"{value!r} is not a Kubernetes quantity ({err})") from err
    if parsed <= 0:
        raise FieldError(kind, f"{value!r} must be greater than zero")
    if kind == "memory" and str(value).endswith("m"):
        raise FieldError(kind, f"{value!r} is millibytes; write Mi or Gi (e.g. '512Mi')")
    if kind == "memory" and parsed < 4 * 1024 * 1024:
        raise FieldError(kind, f"{value!r} is below 4Mi, too small for any container to start")
    return parsed


def pool_slots(size: Size) -> int:
    """The pool slots a task of this size takes: its CPU or its memory in slots, whichever is more."""
    cpu_m = parse_quantity(size.cpu_request) * 1000
    memory_mib = parse_quantity(size.memory) / (1024 * 1024)
    return max(math.ceil(cpu_m / SLOT_CPU_MILLICORES), math.ceil(memory_mib / SLOT_MEMORY_MIB), 1)


def resource_requirements(size: Size) -> k8s.V1ResourceRequirements:
    """The container resources of a size."""
    return build(
        k8s.V1ResourceRequirements,
        requests={"cpu": size.cpu_request, "memory": size.memory},
        limits={"cpu": size.cpu_limit, "memory": size.memory},
    )
