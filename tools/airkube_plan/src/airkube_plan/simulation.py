"""One run of a DAG on the cluster model: Airflow's scheduler queueing tasks within its limits, the
KubernetesExecutor creating worker pods, each worker starting its task pod, on SimPy's clock.

Everything is deterministic: the same inputs give the same plan, so a plan can be compared before and after
a change of settings.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import simpy

from airkube_plan.assumptions import Assumptions
from airkube_plan.cluster import Cluster, Pod
from airkube_plan.limits import AirflowLimits
from airkube_plan.nodes import NodePool
from airkube_plan.quantities import Resources
from airkube_plan.workload import TaskSpec, Workload

SAMPLE_SECONDS = 10.0
STUCK_IN_QUEUED_RETRIES = 2
"""Airflow's scheduler requeues a task stuck in queued twice, then fails it
(SchedulerJobRunner._handle_tasks_stuck_in_queued)."""
CRITICAL_PATH = "the critical path (every ready task was running: only shorter tasks make it faster)"


@dataclass(frozen=True)
class Sample:
    """The cluster at one moment, for the plot."""

    time: float
    nodes: int
    running_tasks: int
    pending_pods: int


@dataclass
class Outcome:
    """What the simulated run did; airkube_plan.report turns it into the plan."""

    finished: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    limited_by: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    samples: list[Sample] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)
    node_seconds: float = 0.0
    node_seconds_above_minimum: float = 0.0
    peak_nodes: int = 0
    starting_node_seconds: float = 0.0
    """Node-seconds above the minimum billed while nodes were starting (not yet Ready)."""
    empty_node_seconds: float = 0.0
    """Node-seconds above the minimum of Ready nodes holding no pod of ours (before scale-down)."""
    peak_running_tasks: int = 0
    makespan_seconds: float = 0.0


@dataclass(eq=False)
class _Run:
    """One task run request waiting for the scheduler: the task's start, or a deferred task's resume."""

    task: TaskSpec
    phase: str
    eligible_at: float
    order: int
    requeues: int = 0


class Simulation:
    """Airflow's side of the run. `run()` returns the Outcome."""

    def __init__(
        self,
        workload: Workload,
        durations: Mapping[str, float],
        limits: AirflowLimits,
        pools: Sequence[NodePool],
        assumptions: Assumptions,
        scorings: Mapping[str, str] | None = None,
        priority_classes: Mapping[str, int] | None = None,
        horizon_seconds: float = 2 * 24 * 3600.0,
    ) -> None:
        self.workload = workload
        self.durations = durations
        self.limits = limits
        self.assumptions = assumptions
        self.worker_pool = next(p for p in pools if p.autoscaled)
        self.horizon = horizon_seconds
        self.env = simpy.Environment()
        self.cluster = Cluster(self.env, pools, assumptions, scorings)
        self.priority_classes = dict(priority_classes or {})
        self.outcome = Outcome()
        self._remaining_upstream = {t.task_id: len(t.upstream) for t in workload.tasks.values()}
        self._downstream: dict[str, list[str]] = defaultdict(list)
        for task in workload.tasks.values():
            for up in task.upstream:
                self._downstream[up].append(task.task_id)
        self._ready: list[_Run] = []
        self._order = itertools.count()
        self._active = 0
        self._executor_running = [0] * limits.schedulers
        self._executor_queue: list[list[tuple[_Run, int]]] = [[] for _ in range(limits.schedulers)]
        self._executor_wake = [self.env.event() for _ in range(limits.schedulers)]
        self._next_scheduler = itertools.cycle(range(limits.schedulers))
        self._pool_used: dict[str, int] = defaultdict(int)
        self._blocked: set[str] = set()
        self._wake = self.env.event()
        self._running_tasks = 0
        self._done = self.env.event()

    # -- Airflow's scheduler -----------------------------------------------------------------------------
    def _make_ready(self, task: TaskSpec, phase: str = "start") -> None:
        run = _Run(task, phase, self.env.now + self.assumptions.queue_latency_seconds, next(self._order))
        self._ready.append(run)
        self._poke()

    def _poke(self) -> None:
        if not self._wake.triggered:
            self._wake.succeed()

    def _task_cap(self) -> tuple[int, str]:
        cap = self.workload.max_active_tasks
        if self.workload.max_active_tasks_is_dags_own:
            return cap, f"the DAG's max_active_tasks ({cap})"
        return cap, f"[core] max_active_tasks_per_dag ({cap})"

    def _pool_slots(self, pool: str) -> int:
        return self.limits.pools.get(pool, self.limits.pools.get("default_pool", 128))

    def _queue_pass(self) -> None:
        """One scheduler loop's critical section for each scheduler: the heaviest eligible runs first,
        within the DAG's cap, each executor's open slots, pool slots and max_tis_per_query."""
        now = self.env.now
        eligible = sorted(
            (r for r in self._ready if r.eligible_at <= now + 1e-9),
            key=lambda r: (-r.task.priority_weight, r.order),
        )
        self._blocked = set()
        cap, cap_name = self._task_cap()
        for scheduler in range(self.limits.schedulers):
            queued_now = 0
            for run in list(eligible):
                if self._active >= cap:
                    self._blocked.add(cap_name)
                    break
                if self._executor_running[scheduler] >= self.limits.parallelism:
                    limit = self.limits
                    self._blocked.add(
                        f"[core] parallelism ({limit.parallelism} x {limit.schedulers} schedulers)"
                    )
                    break
                if queued_now >= self.limits.max_tis_per_query:
                    self._blocked.add(f"[scheduler] max_tis_per_query ({self.limits.max_tis_per_query})")
                    break
                holds_pool = run.phase == "start" or run.task.pool not in self.limits.pools_count_deferred
                slots = self._pool_slots(run.task.pool)
                if holds_pool and self._pool_used[run.task.pool] + run.task.pool_slots > slots:
                    self._blocked.add(f"pool {run.task.pool} ({slots} slots)")
                    continue
                eligible.remove(run)
                self._ready.remove(run)
                queued_now += 1
                self._active += 1
                self._executor_running[scheduler] += 1
                if holds_pool:
                    self._pool_used[run.task.pool] += run.task.pool_slots
                self._executor_queue[scheduler].append((run, scheduler))
                if not self._executor_wake[scheduler].triggered:
                    self._executor_wake[scheduler].succeed()

    def _blocked_only_by_throughput(self) -> bool:
        """Eligible runs left over only because one loop queues at most max_tis_per_query: the next loop
        takes them without waiting for a slot to free."""
        return (
            any(r.eligible_at <= self.env.now + 1e-9 for r in self._ready)
            and all(reason.startswith("[scheduler] max_tis_per_query") for reason in self._blocked)
            and bool(self._blocked)
        )

    def _scheduler(self):
        last_pass = -math.inf
        while not self._done.triggered:
            wait = self.assumptions.scheduler_loop_seconds - (self.env.now - last_pass)
            if wait > 0:
                yield self.env.timeout(wait)
            self._queue_pass()
            last_pass = self.env.now
            self._wake = self.env.event()
            waits = [self._wake, self._done]
            future = [r.eligible_at for r in self._ready if r.eligible_at > self.env.now + 1e-9]
            if future:
                waits.append(self.env.timeout(min(future) - self.env.now))
            if self._blocked_only_by_throughput():
                waits.append(self.env.timeout(self.assumptions.scheduler_loop_seconds))
            yield simpy.AnyOf(self.env, waits)

    def _executor(self, scheduler: int):
        """KubernetesExecutor: at most worker_pods_creation_batch_size worker pods per loop."""
        while True:
            if not self._executor_queue[scheduler]:
                self._executor_wake[scheduler] = self.env.event()
                yield self._executor_wake[scheduler]
            batch = self._executor_queue[scheduler][: self.limits.creation_batch_size]
            del self._executor_queue[scheduler][: self.limits.creation_batch_size]
            for run, owner in batch:
                self.env.process(self._worker(run, owner))
            yield self.env.timeout(self.assumptions.scheduler_loop_seconds)

    def _release_slots(self, run: _Run, scheduler: int, keep_pool: bool = False) -> None:
        self._active -= 1
        self._executor_running[scheduler] -= 1
        holds_pool = run.phase == "start" or run.task.pool not in self.limits.pools_count_deferred
        if holds_pool and not keep_pool:
            self._pool_used[run.task.pool] -= run.task.pool_slots
        self._poke()

    # -- one task's pods ---------------------------------------------------------------------------------
    def _worker(self, run: _Run, scheduler: int):
        task, a = run.task, self.assumptions
        worker = self.cluster.create_pod(
            "worker",
            task.task_id,
            self.limits.worker_pod,
            self.limits.worker_node_selector,
            self.limits.worker_scheduler_name,
            self._priority(self.limits.worker_priority_class_name),
        )
        yield simpy.AnyOf(self.env, [worker.placed, self.env.timeout(self.limits.task_queued_timeout)])
        if not worker.placed.triggered:
            self.cluster.delete_pod(worker)
            self._release_slots(run, scheduler)
            if run.requeues < STUCK_IN_QUEUED_RETRIES:
                self._ready.append(_Run(task, run.phase, self.env.now, next(self._order), run.requeues + 1))
                self._poke()
                return
            why = self._never_scheduled(worker) or "no room on the nodes"
            queued = self.limits.task_queued_timeout * (STUCK_IN_QUEUED_RETRIES + 1)
            self._fail(task, f"queued for {queued:.0f} s, its worker pods Pending ({why})")
            return
        yield self.env.timeout(a.worker_start_seconds)
        if run.phase == "resume":
            yield self.env.timeout(a.worker_finish_seconds)
            self._finish_worker(worker, run, scheduler)
            self._succeed(task)
            return
        if task.pod is None:  # runs inside the worker pod
            self._task_started()
            yield self.env.timeout(self.durations[task.task_id])
            self._running_tasks -= 1
            yield self.env.timeout(a.worker_finish_seconds)
            self._finish_worker(worker, run, scheduler)
            self._succeed(task)
            return
        if task.priority_class_name and task.priority_class_name not in self.priority_classes:
            # The API server refuses the pod: the operator fails the try at once.
            yield self.env.timeout(a.worker_finish_seconds)
            self._finish_worker(worker, run, scheduler)
            self._fail(
                task, f"task pod refused: no PriorityClass {task.priority_class_name!r} in the cluster"
            )
            return
        priority = self._priority(task.priority_class_name)
        task_pod = self.cluster.create_pod(
            "task", task.task_id, task.pod, task.node_selector, task.scheduler_name, priority
        )
        if task.deferrable:
            self.env.process(self._deferred(task, task_pod))
            yield self.env.timeout(a.defer_exit_seconds)
            pool_kept = task.pool in self.limits.pools_count_deferred
            self._finish_worker(worker, run, scheduler, keep_pool=pool_kept)
            return
        ok = yield from self._run_task_pod(task, task_pod)
        yield self.env.timeout(a.worker_finish_seconds)
        self._finish_worker(worker, run, scheduler)
        if ok:
            self._succeed(task)

    def _deferred(self, task: TaskSpec, task_pod: Pod):
        ok = yield from self._run_task_pod(task, task_pod)
        if not ok:
            return
        yield self.env.timeout(self.assumptions.trigger_latency_seconds)
        if task.pool in self.limits.pools_count_deferred:
            self._pool_used[task.pool] -= task.pool_slots
        self._make_ready(task, phase="resume")

    def _run_task_pod(self, task: TaskSpec, pod: Pod):
        """Wait for placement (the operator gives up after its schedule timeout), then run."""
        never = self._never_scheduled(pod)
        if never:
            self.outcome.limited_by[f"{never}: {task.task_id}"] += task.schedule_timeout_seconds
        timeout = self.env.timeout(task.schedule_timeout_seconds)
        yield simpy.AnyOf(self.env, [pod.placed, timeout])
        if not pod.placed.triggered:
            self.cluster.delete_pod(pod)
            self.outcome.pods.append(pod)
            why = never or "no room on the nodes"
            self._fail(
                task, f"task pod Pending for {task.schedule_timeout_seconds:.0f} s ({why}; {pod.requests})"
            )
            return False
        self._task_started()
        yield self.env.timeout(self.assumptions.task_pod_start_seconds + self.durations[task.task_id])
        self._running_tasks -= 1
        self.cluster.delete_pod(pod)
        self.outcome.pods.append(pod)
        return True

    def _task_started(self) -> None:
        self._running_tasks += 1
        self.outcome.peak_running_tasks = max(self.outcome.peak_running_tasks, self._running_tasks)

    def _priority(self, class_name: str | None) -> int:
        return self.priority_classes.get(class_name, 0) if class_name else 0

    def _never_scheduled(self, pod: Pod) -> str | None:
        """Why a pod can never be placed, if it cannot: no such scheduler, or no node it may use fits it."""
        if not self.cluster.has_scheduler(pod.scheduler_name):
            return f"a pod names a scheduler that does not run ({pod.scheduler_name})"
        if not self.cluster.fits_some_node(pod.requests, pod.node_selector):
            return "a task that fits no node"
        return None

    def _finish_worker(self, worker: Pod, run: _Run, scheduler: int, keep_pool: bool = False) -> None:
        self.cluster.delete_pod(worker)
        self.outcome.pods.append(worker)
        self._release_slots(run, scheduler, keep_pool=keep_pool)

    def _succeed(self, task: TaskSpec) -> None:
        self.outcome.finished[task.task_id] = self.env.now
        for down in self._downstream[task.task_id]:
            self._remaining_upstream[down] -= 1
            if self._remaining_upstream[down] == 0:
                self._make_ready(self.workload.tasks[down])
        self._check_done()

    def _fail(self, task: TaskSpec, reason: str) -> None:
        """A failed task and, transitively, everything downstream of it (upstream_failed)."""
        self.outcome.failed[task.task_id] = reason
        stack = list(self._downstream[task.task_id])
        while stack:
            down = stack.pop()
            if down not in self.outcome.failed:
                self.outcome.failed[down] = f"upstream_failed ({task.task_id})"
                stack.extend(self._downstream[down])
        self._check_done()

    def _check_done(self) -> None:
        if len(self.outcome.finished) + len(self.outcome.failed) == len(self.workload.tasks):
            self.outcome.makespan_seconds = self.env.now
            if not self._done.triggered:
                self._done.succeed()

    # -- observing -----------------------------------------------------------------------------------
    def _why_waiting(self) -> set[str]:
        """What held back some work at this moment (several things can at once)."""
        reasons = set()
        now = self.env.now
        if any(r.eligible_at <= now for r in self._ready):
            reasons |= self._blocked
        if any(self._executor_queue):
            reasons.add(
                f"[kubernetes_executor] worker_pods_creation_batch_size ({self.limits.creation_batch_size})"
            )
        for pod in self.cluster.pending:
            never = self._never_scheduled(pod)
            if never:
                reasons.add(f"{never} ({pod.kind} pods)")
        pending = [p for p in self.cluster.pending if self._never_scheduled(p) is None]
        if pending:
            if self.cluster.at_maximum(self.worker_pool) and not self.cluster.provisioning():
                reasons.add(f"the node maximum ({self.worker_pool.max_nodes} {self.worker_pool.name} nodes)")
            else:
                reasons.add("waiting for new nodes (autoscaler scan and node start-up)")
        return reasons

    def _observer(self):
        minimum = self.worker_pool.min_nodes
        while True:
            yield self.env.timeout(SAMPLE_SECONDS)
            now = self.env.now
            nodes = len(self.cluster.live_nodes(self.worker_pool))
            if not self._done.triggered:
                reasons = self._why_waiting()
                for reason in reasons or {CRITICAL_PATH}:
                    self.outcome.limited_by[reason] += SAMPLE_SECONDS
                self.outcome.samples.append(
                    Sample(now, nodes, self._running_tasks, len(self.cluster.pending))
                )
            elif nodes <= minimum:
                self.outcome.samples.append(Sample(now, nodes, 0, 0))
                self._account_nodes()
                return
            else:
                self.outcome.samples.append(Sample(now, nodes, 0, 0))

    def _account_nodes(self) -> None:
        """Exact node-seconds of the worker pool from each node's launch to its removal (or the end)."""
        nodes = [n for n in self.cluster.nodes if n.pool is self.worker_pool]
        end = max([self.outcome.makespan_seconds, *(n.removed_at for n in nodes if n.removed_at is not None)])
        extra = [n for n in nodes if n.launched_at > 0]
        self.outcome.starting_node_seconds = sum(n.ready_at - n.launched_at for n in extra)
        self.outcome.empty_node_seconds = sum(
            n.empty_seconds
            + (end - n.empty_since if n.removed_at is None and n.empty_since is not None else 0)
            for n in extra
        )
        events = sorted(
            [(n.launched_at, 1) for n in nodes]
            + [(n.removed_at if n.removed_at is not None else end, -1) for n in nodes]
        )
        count, previous, minimum = 0, 0.0, self.worker_pool.min_nodes
        for time, change in events:
            self.outcome.node_seconds += count * (time - previous)
            self.outcome.node_seconds_above_minimum += max(count - minimum, 0) * (time - previous)
            count, previous = count + change, time
            self.outcome.peak_nodes = max(self.outcome.peak_nodes, count)

    def run(self) -> Outcome:
        missing = [t for t in self.workload.tasks if t not in self.durations]
        if missing:
            raise ValueError(f"DAG {self.workload.dag_id!r}: no duration for tasks {missing}")
        self.env.process(self._scheduler())
        for scheduler in range(self.limits.schedulers):
            self.env.process(self._executor(scheduler))
        observer = self.env.process(self._observer())
        for task in self.workload.tasks.values():
            if not task.upstream:
                self._make_ready(task)
        self.env.run(until=simpy.AnyOf(self.env, [observer, self.env.timeout(self.horizon)]))
        if not self._done.triggered:
            unfinished = [
                t
                for t in self.workload.tasks
                if t not in self.outcome.finished and t not in self.outcome.failed
            ]
            for task_id in unfinished:
                self.outcome.failed[task_id] = f"still not finished after {self.horizon / 3600:.0f} h"
            self.outcome.makespan_seconds = self.env.now
            self._account_nodes()
        return self.outcome


def pod_resource_seconds(pods: Sequence[Pod]) -> Resources:
    """Sum over pods of request x time held on a node (CPU millicore-seconds, memory MiB-seconds)."""
    total = Resources()
    for pod in pods:
        if pod.placed_at is not None and pod.deleted_at is not None:
            total = total + pod.requests.times(pod.deleted_at - pod.placed_at)
    return total
