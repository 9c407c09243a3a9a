"""The node pools pods can land on: an instance type's allocatable resources as EKS computes them, less the
DaemonSets on every node, and the pool's bounds from the environment's Terraform variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airkube_plan.assumptions import Assumptions
from airkube_plan.pricing import InstanceType, Pricing
from airkube_plan.quantities import Resources
from airkube_plan.terraform_vars import variable

# The node group labels the EKS module sets (terraform/modules/eks/main.tf), which pods select.
POOL_LABEL = "airkube/pool"
WORKER_POOL = "worker"
SYSTEM_POOL = "system"


@dataclass(frozen=True)
class NodePool:
    """One node group: what each node offers to task and worker pods, and how many nodes there may be."""

    name: str
    instance_type: str
    allocatable: Resources
    """Allocatable as the kubelet reports it, less the DaemonSets: what pods of ours can request."""
    min_nodes: int
    max_nodes: int
    usd_per_hour: float
    autoscaled: bool = True


def eks_kube_reserved(instance: InstanceType) -> Resources:
    """kube-reserved as the EKS AMI sets it: memory 255 MiB + 11 MiB per pod the node may run (its ENI
    max pods); CPU 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% of the rest."""
    cores = instance.vcpu
    cpu = 60.0 * min(cores, 1) + 10.0 * min(max(cores - 1, 0), 1)
    cpu += 5.0 * min(max(cores - 2, 0), 2) + 2.5 * max(cores - 4, 0)
    return Resources(cpu, 255.0 + 11.0 * instance.max_pods)


def eks_allocatable(instance: InstanceType, assumptions: Assumptions) -> Resources:
    """What the kubelet of an EKS node of this type reports as allocatable (before any DaemonSet)."""
    capacity = Resources(
        instance.vcpu * 1000.0, instance.memory_gib * 1024.0 * (1 - assumptions.kernel_memory_fraction)
    )
    return capacity - eks_kube_reserved(instance) - Resources(0, assumptions.eviction_hard_mib)


def pool_from_terraform(
    values: dict[str, Any], env: str, pool: str, pricing: Pricing, assumptions: Assumptions
) -> NodePool:
    """The worker (autoscaled) or system (fixed) node group of environment `env`."""
    if pool == WORKER_POOL:
        types = variable(values, "worker_instance_types", env)
        low, high = (
            int(variable(values, "worker_min_nodes", env)),
            int(variable(values, "worker_max_nodes", env)),
        )
        autoscaled = True
    else:
        types = variable(values, "system_instance_types", env)
        low = high = int(variable(values, "system_node_count", env))
        autoscaled = False
    smallest = min((pricing.instance(name) for name in types), key=lambda it: (it.vcpu, it.memory_gib))
    return NodePool(
        name=pool,
        instance_type=smallest.name,
        allocatable=eks_allocatable(smallest, assumptions) - assumptions.daemonset_requests(),
        min_nodes=low,
        max_nodes=high,
        usd_per_hour=smallest.usd_per_hour,
        autoscaled=autoscaled,
    )


def system_pool_leftover(pool: NodePool, components: Resources) -> NodePool:
    """The system node group as task pods would see it: what Airflow's own components (scheduler,
    api-server, PgBouncer, ...) leave, spread evenly over its nodes."""
    per_node = components.times(1 / max(pool.max_nodes, 1))
    return NodePool(
        name=pool.name,
        instance_type=pool.instance_type,
        allocatable=pool.allocatable - per_node,
        min_nodes=pool.min_nodes,
        max_nodes=pool.max_nodes,
        usd_per_hour=pool.usd_per_hour,
        autoscaled=False,
    )


def repo_root() -> Path:
    """The repository this planner plans from (the same the chart renderer uses)."""
    from airkube_dev.chart import REPO

    return REPO
