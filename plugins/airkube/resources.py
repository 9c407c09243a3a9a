"""Named task sizes and the CPU / memory quantities behind them.

One table, so a DAG says `size="medium"` and the platform team can retune every task at once.
Memory limit equals the request (memory is not compressible: a pod above its request is the first
one the node evicts); CPU may burst to its limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kubernetes.client import models as k8s
from kubernetes.utils.quantity import parse_quantity

from airkube.k8s_models import build


@dataclass(frozen=True)
class Size:
    """Requests and limits of one named size, plus the scratch space mounted at /tmp."""

    cpu_request: str
    cpu_limit: str
    memory: str
    scratch: str


SIZES: dict[str, Size] = {
    "small": Size(cpu_request="250m", cpu_limit="500m", memory="512Mi", scratch="1Gi"),
    "medium": Size(cpu_request="1", cpu_limit="2", memory="2Gi", scratch="4Gi"),
    "large": Size(cpu_request="4", cpu_limit="4", memory="8Gi", scratch="16Gi"),
}


class QuantityError(ValueError):
    """A CPU or memory value Kubernetes would reject."""


def check_quantity(value: object, *, kind: str) -> Decimal:
    """Parse a Kubernetes quantity (`500m`, `2Gi`, `1.5`) and insist it is positive.

    Uses the Kubernetes client's own parser so airkube accepts exactly what the API server does.
    `kind` is "cpu" or "memory": memory in milli-units (`512m`) is legal but never what was meant.
    """
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity (expected a string such as '500m' or '2Gi')")
    try:
        parsed = parse_quantity(value)
    except ValueError as err:
        raise QuantityError(f"{value!r} is not a Kubernetes quantity ({err})") from err
    if parsed <= 0:
        raise QuantityError(f"{value!r} must be greater than zero")
    if kind == "memory" and str(value).endswith("m"):
        raise QuantityError(f"{value!r} is millibytes; write Mi or Gi (e.g. '512Mi')")
    if kind == "memory" and parsed < 4 * 1024 * 1024:
        raise QuantityError(f"{value!r} is below 4Mi, too small for any container to start")
    return parsed


def resource_requirements(size: Size) -> k8s.V1ResourceRequirements:
    """The container resources of a size."""
    return build(
        k8s.V1ResourceRequirements,
        requests={"cpu": size.cpu_request, "memory": size.memory},
        limits={"cpu": size.cpu_limit, "memory": size.memory},
    )
