"""The cluster side of the simulation: nodes, the kube-scheduler's placement of pending pods, and the
Cluster Autoscaler's scale-up and scale-down, on SimPy's clock."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import simpy

from airkube_plan.assumptions import Assumptions
from airkube_plan.nodes import POOL_LABEL, NodePool
from airkube_plan.quantities import Resources


@dataclass(eq=False)
class Node:
    """One node: billed from its launch, usable once ready, gone once removed."""

    name: str
    pool: NodePool
    launched_at: float
    ready_at: float
    free: Resources
    pods: set[Pod] = field(default_factory=set)
    empty_since: float | None = None
    removed_at: float | None = None
    empty_seconds: float = 0.0
    """Time spent ready and holding no task or worker pod, up to its last placement or removal."""

    def is_ready(self, now: float) -> bool:
        return self.ready_at <= now and self.removed_at is None


@dataclass(eq=False)
class Pod:
    """A worker or task pod: pending from creation until placed, holding its requests until deleted."""

    name: str
    kind: str
    task_id: str
    requests: Resources
    node_selector: Mapping[str, str]
    scheduler_name: str
    created_at: float
    placed: simpy.Event
    priority: int = 0
    """From the pod's PriorityClass: the kube-scheduler takes higher-priority pending pods first."""
    node: Node | None = None
    placed_at: float | None = None
    deleted_at: float | None = None


class Cluster:
    """The node pools and their pods. Placement runs on every change, as the kube-scheduler reacts to
    pod and node events; the autoscaler runs every scan interval."""

    def __init__(
        self,
        env: simpy.Environment,
        pools: Sequence[NodePool],
        assumptions: Assumptions,
        scorings: Mapping[str, str] | None = None,
    ) -> None:
        self.env = env
        self.scorings = dict(scorings or {"default-scheduler": assumptions.placement})
        self.pools = list(pools)
        self.assumptions = assumptions
        self.nodes: list[Node] = []
        self.pending: list[Pod] = []
        self.finished_pods: list[Pod] = []
        self.last_scale_up = -1e18
        self._names = itertools.count()
        for pool in self.pools:
            for _ in range(pool.min_nodes):
                self._launch(pool, ready_at=0.0)
        env.process(self._autoscaler())

    # -- pools and nodes -------------------------------------------------------------------------
    def eligible_pools(self, selector: Mapping[str, str]) -> list[NodePool]:
        """Pools whose node labels satisfy a pod's nodeSelector."""
        return [p for p in self.pools if all({POOL_LABEL: p.name}.get(k) == v for k, v in selector.items())]

    def fits_some_node(self, requests: Resources, selector: Mapping[str, str]) -> bool:
        """Whether any node the pod may use could hold it when empty: if not, it stays Pending forever."""
        return any(requests.fits_in(pool.allocatable) for pool in self.eligible_pools(selector))

    def live_nodes(self, pool: NodePool | None = None) -> list[Node]:
        return [n for n in self.nodes if n.removed_at is None and (pool is None or n.pool is pool)]

    def _launch(self, pool: NodePool, ready_at: float) -> Node:
        node = Node(
            name=f"{pool.name}-{next(self._names)}",
            pool=pool,
            launched_at=self.env.now,
            ready_at=ready_at,
            free=pool.allocatable,
            empty_since=ready_at,
        )
        self.nodes.append(node)
        if ready_at > self.env.now:
            self.env.process(self._becomes_ready(node))
        return node

    def _becomes_ready(self, node: Node):
        yield self.env.timeout(node.ready_at - self.env.now)
        self.schedule()

    # -- pods --------------------------------------------------------------------------------------
    def has_scheduler(self, name: str) -> bool:
        """Whether a scheduler of that name runs: a pod naming another stays Pending forever."""
        return name in self.scorings

    def create_pod(
        self,
        kind: str,
        task_id: str,
        requests: Resources,
        selector: Mapping[str, str],
        scheduler_name: str,
        priority: int = 0,
    ) -> Pod:
        pod = Pod(
            name=f"{kind}-{task_id}-{next(self._names)}",
            kind=kind,
            task_id=task_id,
            requests=requests,
            node_selector=selector,
            scheduler_name=scheduler_name,
            created_at=self.env.now,
            priority=priority,
            placed=self.env.event(),
        )
        self.pending.append(pod)
        self.schedule()
        return pod

    def delete_pod(self, pod: Pod) -> None:
        """A finished pod leaves its node (or the pending queue); the freed room goes to pending pods."""
        pod.deleted_at = self.env.now
        if pod.node is None:
            if pod in self.pending:
                self.pending.remove(pod)
            return
        node = pod.node
        node.pods.discard(pod)
        node.free = node.free + pod.requests
        if not node.pods:
            node.empty_since = self.env.now
        self.finished_pods.append(pod)
        self.schedule()

    def schedule(self) -> None:
        """Place pending pods, highest priority first, then oldest (the kube-scheduler's queue), each on
        the best node that fits (the scoring of the scheduler it names)."""
        still_pending = []
        for pod in sorted(self.pending, key=lambda p: (-p.priority, p.created_at)):
            node = self._best_node(pod) if self.has_scheduler(pod.scheduler_name) else None
            if node is None:
                still_pending.append(pod)
                continue
            node.pods.add(pod)
            node.free = node.free - pod.requests
            if node.empty_since is not None:
                node.empty_seconds += self.env.now - node.empty_since
            node.empty_since = None
            pod.node, pod.placed_at = node, self.env.now
            pod.placed.succeed(node)
        self.pending = still_pending

    def _best_node(self, pod: Pod) -> Node | None:
        now = self.env.now
        pools = self.eligible_pools(pod.node_selector)
        candidates = [
            n for n in self.nodes if n.pool in pools and n.is_ready(now) and pod.requests.fits_in(n.free)
        ]
        if not candidates:
            return None

        def used_share(node: Node) -> float:
            alloc = node.pool.allocatable
            after = node.free - pod.requests
            cpu = 1 - after.cpu_m / alloc.cpu_m if alloc.cpu_m else 0
            mem = 1 - after.memory_mib / alloc.memory_mib if alloc.memory_mib else 0
            return (cpu + mem) / 2

        if self.scorings[pod.scheduler_name] == "most-allocated":
            return max(candidates, key=lambda n: (used_share(n), -self.nodes.index(n)))
        return min(candidates, key=lambda n: (used_share(n), self.nodes.index(n)))

    # -- the Cluster Autoscaler ------------------------------------------------------------------------
    def _autoscaler(self):
        while True:
            yield self.env.timeout(self.assumptions.scan_interval_seconds)
            self._scale_up()
            self._scale_down()

    def _scale_up(self) -> None:
        """New nodes for pending pods that fit neither a ready node nor one already on its way, binpacked
        first-fit-decreasing onto empty nodes (the autoscaler's estimator), up to the pool's maximum."""
        now = self.env.now
        for pool in self.pools:
            if not pool.autoscaled:
                continue
            waiting = [
                p
                for p in self.pending
                if pool in self.eligible_pools(p.node_selector)
                and p.requests.fits_in(pool.allocatable)
                and self.has_scheduler(p.scheduler_name)
            ]
            if not waiting:
                continue
            upcoming = [n.free for n in self.live_nodes(pool) if not n.is_ready(now)]
            new_nodes: list[Resources] = []
            for pod in sorted(waiting, key=lambda p: (p.requests.cpu_m, p.requests.memory_mib), reverse=True):
                for index, free in enumerate(upcoming):
                    if pod.requests.fits_in(free):
                        upcoming[index] = free - pod.requests
                        break
                else:
                    for index, free in enumerate(new_nodes):
                        if pod.requests.fits_in(free):
                            new_nodes[index] = free - pod.requests
                            break
                    else:
                        new_nodes.append(pool.allocatable - pod.requests)
            room = pool.max_nodes - len(self.live_nodes(pool))
            for _ in range(min(len(new_nodes), max(room, 0))):
                self._launch(pool, ready_at=now + self.assumptions.node_provision_seconds)
                self.last_scale_up = now

    def _scale_down(self) -> None:
        """Empty nodes unneeded for the scale-down time go, down to the pool's minimum; a node holding any
        task or worker pod stays (bare pods, not safe to evict)."""
        now = self.env.now
        if now - self.last_scale_up < self.assumptions.scale_down_delay_after_add_seconds:
            return
        for pool in self.pools:
            if not pool.autoscaled:
                continue
            live = self.live_nodes(pool)
            unneeded = [
                n
                for n in live
                if n.is_ready(now)
                and not n.pods
                and n.empty_since is not None
                and now - n.empty_since >= self.assumptions.scale_down_unneeded_seconds
            ]
            for node in sorted(unneeded, key=lambda n: n.empty_since or 0)[
                : max(len(live) - pool.min_nodes, 0)
            ]:
                node.removed_at = now
                node.empty_seconds += now - (node.empty_since or now)

    # -- what the plan reports -----------------------------------------------------------------------
    def at_maximum(self, pool: NodePool) -> bool:
        return len(self.live_nodes(pool)) >= pool.max_nodes

    def provisioning(self) -> int:
        return sum(1 for n in self.nodes if n.removed_at is None and not n.is_ready(self.env.now))
