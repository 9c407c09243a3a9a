"""CPU and memory requests as numbers: millicores and MiB, parsed by the Kubernetes client's own parser."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kubernetes.utils.quantity import parse_quantity

MIB = 1024 * 1024


@dataclass(frozen=True, order=True)
class Resources:
    """What a pod requests, or what a node has left: CPU in millicores, memory in MiB."""

    cpu_m: float = 0.0
    memory_mib: float = 0.0

    @classmethod
    def from_requests(cls, requests: Mapping[str, object] | None) -> Resources:
        """A container's `resources.requests` (`{"cpu": "250m", "memory": "1Gi"}`); missing means 0."""
        requests = requests or {}
        cpu = parse_quantity(requests["cpu"]) * 1000 if "cpu" in requests else 0
        memory = parse_quantity(requests["memory"]) / MIB if "memory" in requests else 0
        return cls(float(cpu), float(memory))

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m + other.cpu_m, self.memory_mib + other.memory_mib)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m - other.cpu_m, self.memory_mib - other.memory_mib)

    def times(self, factor: float) -> Resources:
        return Resources(self.cpu_m * factor, self.memory_mib * factor)

    def fits_in(self, free: Resources) -> bool:
        """Whether a pod with these requests fits into `free` (with a rounding tolerance)."""
        return self.cpu_m <= free.cpu_m + 1e-6 and self.memory_mib <= free.memory_mib + 1e-6

    def __str__(self) -> str:
        return f"{self.cpu_m:.0f}m CPU, {self.memory_mib:.0f}Mi"
