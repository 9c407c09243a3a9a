"""What the repository cannot say about the cluster, written down once, printed with every plan and
overridable from the command line (`--set NAME=VALUE`).

Each default names where it comes from: a Kubernetes or Cluster Autoscaler default, an EKS formula, a
figure measured on the Kubernetes stand-in (bench/k8s_overhead.py), or plainly an assumption.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airkube_plan.quantities import Resources

PLACEMENTS = ("least-allocated", "most-allocated")


def _default_daemonsets() -> dict[str, Resources]:
    return {
        # Amazon VPC CNI's manifest requests 25m CPU and no memory.
        "aws-node": Resources(25, 0),
        # EKS's kube-proxy add-on requests 100m CPU and no memory.
        "kube-proxy": Resources(100, 0),
        # The EFS CSI node plugin (three containers); its chart sets no requests: what it is seen to use.
        "efs-csi-node": Resources(100, 128),
        # The Datadog agent (agent and trace-agent), the DogStatsD receiver on every node: Datadog's
        # sizing guidance for a node with tens of pods. Not deployed by this repository (helm/README.md).
        "datadog-agent": Resources(200, 256),
    }


def _assumed(default: object, why: str) -> Any:
    """A field with its reason, so the printed plan says why each figure is what it is."""
    return field(default=default, metadata={"why": why})


def _default_system_addons() -> dict[str, Resources]:
    return {
        # EKS's CoreDNS add-on: 2 replicas of 100m CPU and 70Mi.
        "coredns": Resources(200, 140),
        # The Cluster Autoscaler (terraform/platform); its chart sets no requests: its documented sizing.
        "cluster-autoscaler": Resources(100, 600),
        # The EFS CSI controller, 2 replicas; its chart sets no requests: what it is seen to use.
        "efs-csi-controller": Resources(100, 256),
    }


@dataclass(frozen=True)
class Assumptions:
    """Every modelled behaviour of Airflow, the kube-scheduler, EKS and the Cluster Autoscaler."""

    queue_latency_seconds: float = _assumed(
        1.0, "A ready task waits this long for a scheduler loop to queue it (the loop takes about a second)."
    )
    scheduler_loop_seconds: float = _assumed(
        1.0, "Each scheduler's executor creates at most worker_pods_creation_batch_size worker pods per loop."
    )
    worker_start_seconds: float = _assumed(
        10.0,
        (
            "A placed worker pod: container start plus Airflow's start in it until the operator runs "
            "(measured 6.6 s for Airflow's part on the stand-in, bench/k8s_overhead.py; 3 s container "
            "start)."
        ),
    )
    task_pod_start_seconds: float = _assumed(
        5.0, "A placed task pod until its command runs (image already on the node; bench: 0.9 s locally)."
    )
    worker_finish_seconds: float = _assumed(
        3.0, "After the task pod ends: logs, pod deletion, the task's state written."
    )
    defer_exit_seconds: float = _assumed(
        2.0, "Deferrable tasks: the first worker pod leaves this long after creating the task pod."
    )
    trigger_latency_seconds: float = _assumed(
        2.0, "Deferrable tasks: the triggerer notices the task pod's end (KPO trigger's poll interval)."
    )
    node_provision_seconds: float = _assumed(
        150.0,
        (
            "EKS: from the autoscaler's decision to a Ready node with its DaemonSets (EC2 launch, kubelet"
            " join), typically 2 to 3 minutes."
        ),
    )
    scan_interval_seconds: float = _assumed(10.0, "Cluster Autoscaler's --scan-interval (default 10 s).")
    scale_down_unneeded_seconds: float = _assumed(
        600.0,
        (
            "Cluster Autoscaler's --scale-down-unneeded-time (default 10 min). Task and worker pods are "
            "bare pods (no controller) and workers are not safe to evict: a node goes only once it holds "
            "none of them."
        ),
    )
    scale_down_delay_after_add_seconds: float = _assumed(
        600.0, "Cluster Autoscaler's --scale-down-delay-after-add (default 10 min)."
    )
    kernel_memory_fraction: float = _assumed(
        0.055,
        (
            "Part of an instance's memory the kubelet never sees as capacity (kernel, firmware): about "
            "5.5% on EKS's Nitro instances (m5.xlarge: 16 GiB sold, 15.1 GiB capacity)."
        ),
    )
    eviction_hard_mib: float = _assumed(
        100.0, "The EKS AMI's memory.available<100Mi hard eviction threshold, taken off allocatable."
    )
    placement: str = _assumed(
        "least-allocated",
        (
            "How the kube-scheduler picks among nodes that fit: `least-allocated` is its default scoring "
            "(NodeResourcesFit LeastAllocated: spread), `most-allocated` bin-packs."
        ),
    )
    daemonsets: Mapping[str, Resources] = field(
        default_factory=_default_daemonsets, metadata={"why": "Requests of the DaemonSet pods on every node."}
    )
    system_addons: Mapping[str, Resources] = field(
        default_factory=_default_system_addons,
        metadata={
            "why": "Cluster add-ons on the system nodes besides Airflow's and the platform's own charts."
        },
    )

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement {self.placement!r} is not one of {', '.join(PLACEMENTS)}")
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and value < 0:
                raise ValueError(f"assumption {item.name} must not be negative (got {value})")

    def daemonset_requests(self) -> Resources:
        """What the DaemonSets take from every node."""
        total = Resources()
        for requests in self.daemonsets.values():
            total = total + requests
        return total

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, why) for every assumption, for the printed plan."""
        rows = []
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name in ("daemonsets", "system_addons"):
                value = "; ".join(f"{name} {req}" for name, req in value.items())
            rows.append((item.name, str(value), item.metadata["why"]))
        return rows


def with_overrides(base: Assumptions, settings: Iterable[str]) -> Assumptions:
    """`NAME=VALUE` pairs from the command line; a DaemonSet as `daemonset.NAME=CPU_M,MEMORY_MIB`."""
    scalars: dict[str, object] = {}
    daemonsets = dict(base.daemonsets)
    names = {item.name: item for item in dataclasses.fields(base)}
    for setting in settings:
        name, sep, value = setting.partition("=")
        if not sep:
            raise ValueError(f"--set {setting!r}: expected NAME=VALUE")
        if name.startswith("daemonset."):
            cpu, _, memory = value.partition(",")
            try:
                daemonsets[name.removeprefix("daemonset.")] = Resources(float(cpu), float(memory or 0))
            except ValueError as err:
                raise ValueError(
                    f"--set {setting!r}: expected daemonset.NAME=CPU_MILLICORES,MEMORY_MIB"
                ) from err
        elif name == "placement":
            scalars[name] = value
        elif name in names and name not in ("daemonsets", "system_addons"):
            try:
                scalars[name] = float(value)
            except ValueError as err:
                raise ValueError(f"--set {setting!r}: {name} takes a number") from err
        else:
            raise ValueError(f"--set {setting!r}: no assumption {name!r} (known: {', '.join(sorted(names))})")
    return dataclasses.replace(base, daemonsets=daemonsets, **scalars)
