"""The planner's simulation against arithmetic: each test builds a DAG and a node pool whose outcome can be
worked out by hand (a chain, waves under a cap, pods packed onto nodes, a scale-up, a pod that fits
nowhere) and checks the simulated run says the same. No chart, Terraform or Airflow is read here: the
inputs are the planner's own types, so each figure below follows from the numbers in the test."""

from __future__ import annotations

import dataclasses
import math

import pytest

from airkube_plan.assumptions import Assumptions
from airkube_plan.limits import AirflowLimits
from airkube_plan.nodes import NodePool
from airkube_plan.quantities import Resources
from airkube_plan.report import critical_path, make_plan, task_overhead
from airkube_plan.simulation import Simulation
from airkube_plan.workload import TaskSpec, Workload, expand_instances

A = Assumptions()
WIDE_OPEN = AirflowLimits(
    schedulers=1, parallelism=10_000, max_active_tasks_per_dag=10_000, creation_batch_size=10_000,
    max_tis_per_query=10_000, worker_pod=Resources(0, 0),
)  # fmt: skip
# The per-task overhead of a pod task: queueing, worker start, task pod start, worker finish.
OVERHEAD = (
    A.queue_latency_seconds + A.worker_start_seconds + A.task_pod_start_seconds + A.worker_finish_seconds
)


def pool(
    cpu_m: float = 4000, memory_mib: float = 16_000, min_nodes: int = 1, max_nodes: int = 60
) -> NodePool:
    return NodePool("worker", "test.xlarge", Resources(cpu_m, memory_mib), min_nodes, max_nodes, 0.2)


def task(task_id: str, *upstream: str, cpu_m: float = 100, memory_mib: float = 100, **extra) -> TaskSpec:
    return TaskSpec(task_id, upstream=tuple(upstream), pod=Resources(cpu_m, memory_mib), **extra)


def run(tasks, durations, limits=WIDE_OPEN, pools=None, assumptions=A, cap=10_000):
    workload = Workload("test_dag", {t.task_id: t for t in tasks}, cap)
    durations = durations if isinstance(durations, dict) else {t.task_id: durations for t in tasks}
    outcome = Simulation(workload, durations, limits, pools or [pool()], assumptions).run()
    return make_plan("test", workload, durations, outcome, (pools or [pool()])[0], assumptions), outcome


def test_a_chain_takes_the_sum_of_its_durations_plus_each_tasks_pod_start_ups():
    durations = {"a": 100.0, "b": 250.0, "c": 40.0}
    plan, _ = run([task("a"), task("b", "a"), task("c", "b")], durations)
    expected = sum(durations.values()) + 3 * OVERHEAD
    assert plan.makespan_seconds == pytest.approx(expected)
    assert plan.critical_path_seconds == pytest.approx(expected)
    assert plan.critical_path == ["a", "b", "c"]
    assert plan.peak_running_tasks == 1
    assert plan.failed == {}


@pytest.mark.parametrize(("n", "k"), [(10, 3), (12, 4), (7, 7), (5, 1)])
def test_n_equal_independent_tasks_under_a_cap_of_k_run_in_ceil_n_over_k_waves(n, k):
    """The first wave waits one queueing latency; later waves start as the previous one frees its slots."""
    tasks = [task(f"t{i}") for i in range(n)]
    plan, _ = run(tasks, 300.0, cap=k)
    waves = math.ceil(n / k)
    assert plan.makespan_seconds == pytest.approx(
        A.queue_latency_seconds + waves * (OVERHEAD - A.queue_latency_seconds + 300)
    )
    assert plan.peak_running_tasks == k
    capped = [item["factor"] for item in plan.limited_by if item["factor"].startswith("[core]")]
    assert capped == ([f"[core] max_active_tasks_per_dag ({k})"] if n > k else [])


def test_pods_are_packed_onto_nodes_by_their_requests():
    """7 tasks of 1000m with 250m workers on 4000m nodes: 3 tasks and their workers (3750m) fit a node, a
    fourth does not, so 8750m takes ceil(7 / 3) = 3 nodes, however the scheduler scores them."""
    limits = dataclasses.replace(WIDE_OPEN, worker_pod=Resources(250, 100))
    tasks = [task(f"t{i}", cpu_m=1000) for i in range(7)]
    for placement in ("most-allocated", "least-allocated"):
        plan, outcome = run(
            tasks, 600.0, limits=limits, assumptions=dataclasses.replace(A, placement=placement)
        )
        per_node = [
            sum(p.requests.cpu_m for p in outcome.pods if p.node is n) for n in {p.node for p in outcome.pods}
        ]
        assert plan.peak_nodes == math.ceil(7 / (4000 // 1250)), placement
        assert plan.peak_running_tasks == 7
        assert all(load <= 4000 for load in per_node)


def test_most_allocated_packs_a_tail_onto_fewer_nodes_than_the_default_spread():
    """Four long chains and many short tasks: spread placement leaves a chain's pod on every node, so
    every node stays until the end; bin-packing lets the emptied nodes go."""
    tasks = [task(f"short{i}", cpu_m=900) for i in range(12)]
    tasks += [task(f"long{i}", cpu_m=900) for i in range(4)]
    durations = {t.task_id: (7200.0 if t.task_id.startswith("long") else 600.0) for t in tasks}
    spread, _ = run(tasks, durations, assumptions=dataclasses.replace(A, placement="least-allocated"))
    packed, _ = run(tasks, durations, assumptions=dataclasses.replace(A, placement="most-allocated"))
    assert packed.makespan_seconds == pytest.approx(spread.makespan_seconds)
    assert packed.node_hours < spread.node_hours
    assert packed.node_hours_lower_bound == pytest.approx(spread.node_hours_lower_bound)


def test_a_scale_up_waits_for_the_autoscaler_scan_and_the_new_node():
    """One 4000m node and 2 tasks of 3000m: the second pod waits for the next scan (every 10 s) and a node
    that takes node_provision_seconds to be ready."""
    tasks = [task("first", cpu_m=3000), task("second", cpu_m=3000)]
    plan, outcome = run(tasks, 1000.0)
    pending_since = A.queue_latency_seconds + A.worker_start_seconds  # both task pods created together
    scan = math.ceil(pending_since / A.scan_interval_seconds) * A.scan_interval_seconds
    second_starts = scan + A.node_provision_seconds
    assert plan.peak_nodes == 2
    expected_end = second_starts + A.task_pod_start_seconds + 1000 + A.worker_finish_seconds
    assert plan.makespan_seconds == pytest.approx(expected_end)
    second = next(p for p in outcome.pods if p.kind == "task" and p.task_id == "second")
    assert second.placed_at == pytest.approx(second_starts)
    assert any(item["factor"].startswith("waiting for new nodes") for item in plan.limited_by)


def test_the_node_maximum_holds_pods_back_and_is_reported():
    """One node that holds one 3000m task pod at a time: the three run one after another."""
    tasks = [task(f"t{i}", cpu_m=3000) for i in range(3)]
    plan, _ = run(tasks, 300.0, pools=[pool(max_nodes=1)])
    assert plan.peak_nodes == 1
    assert plan.failed == {}
    created = A.queue_latency_seconds + A.worker_start_seconds
    assert plan.makespan_seconds == pytest.approx(
        created + 3 * (A.task_pod_start_seconds + 300) + A.worker_finish_seconds
    )
    assert any(item["factor"] == "the node maximum (1 worker nodes)" for item in plan.limited_by)


def test_a_task_pod_pending_past_its_schedule_timeout_fails_as_the_operator_would():
    tasks = [task(f"t{i}", cpu_m=3000) for i in range(2)]
    plan, _ = run(tasks, 1000.0, pools=[pool(max_nodes=1)])
    assert list(plan.failed.values()) == [
        "task pod Pending for 900 s (no room on the nodes; 3000m CPU, 100Mi)"
    ]


def test_a_task_that_fits_no_node_is_reported_and_fails_never_silently_queued():
    tasks = [task("fits"), task("huge", cpu_m=5000), task("after_huge", "huge")]
    plan, _ = run(tasks, 60.0)
    assert plan.failed["huge"].startswith("task pod Pending for 900 s (a task that fits no node")
    assert plan.failed["after_huge"] == "upstream_failed (huge)"
    assert "fits" not in plan.failed
    assert any(item["factor"] == "a task that fits no node: huge" for item in plan.limited_by)


def test_a_pod_naming_a_scheduler_that_does_not_run_is_reported():
    tasks = [task("lost", scheduler_name="no-such-scheduler")]
    plan, _ = run(tasks, 60.0)
    assert "a pod names a scheduler that does not run (no-such-scheduler)" in plan.failed["lost"]


def test_deferrable_tasks_free_the_worker_and_pay_a_second_worker_start():
    limits = dataclasses.replace(WIDE_OPEN, worker_pod=Resources(500, 1000))
    waiting, _ = run([task("t")], 3600.0, limits=limits)
    deferred, outcome = run([task("t", deferrable=True)], 3600.0, limits=limits)
    assert deferred.makespan_seconds == pytest.approx(3600 + task_overhead(task("t", deferrable=True), A))
    assert deferred.makespan_seconds - waiting.makespan_seconds == pytest.approx(
        A.trigger_latency_seconds + A.queue_latency_seconds + A.worker_start_seconds
    )
    workers = [p for p in outcome.pods if p.kind == "worker"]
    assert len(workers) == 2
    assert sum(p.deleted_at - p.placed_at for p in workers) < 60


def test_the_lower_bound_is_request_times_time_held_over_one_nodes_allocatable():
    plan, outcome = run([task("t", cpu_m=2000, memory_mib=1000)], 3600.0, pools=[pool(4000, 16_000)])
    held = next(p for p in outcome.pods if p.kind == "task")
    hours = (held.deleted_at - held.placed_at) / 3600
    assert plan.node_hours_lower_bound == pytest.approx(2000 * hours / 4000)
    assert plan.lower_bound_by == "cpu"


def test_mapped_instances_each_run_and_their_downstream_waits_for_all():
    tasks = {"extract": task("extract", mapped=True, instances=3), "summary": task("summary", "extract")}
    workload, durations = expand_instances(Workload("m", tasks, 100), {"extract": 100.0, "summary": 10.0})
    assert sorted(workload.tasks) == ["extract[0]", "extract[1]", "extract[2]", "summary"]
    assert workload.tasks["summary"].upstream == ("extract[0]", "extract[1]", "extract[2]")
    length, _ = critical_path(workload, durations, A)
    assert length == pytest.approx(110 + 2 * OVERHEAD)


def test_pool_slots_cap_the_tasks_of_that_pool():
    limits = dataclasses.replace(WIDE_OPEN, pools={"default_pool": 100, "db": 2})
    tasks = [task(f"t{i}", pool="db") for i in range(4)] + [task("free")]
    plan, outcome = run(tasks, 300.0, limits=limits)
    assert plan.makespan_seconds == pytest.approx(
        A.queue_latency_seconds + 2 * (OVERHEAD - A.queue_latency_seconds + 300)
    )
    assert any(item["factor"] == "pool db (2 slots)" for item in plan.limited_by)
    free = next(p for p in outcome.pods if p.kind == "task" and p.task_id == "free")
    assert free.placed_at == pytest.approx(A.queue_latency_seconds + A.worker_start_seconds)


@pytest.mark.parametrize("batch", [1, 3])
def test_the_executor_creates_worker_pods_in_batches_per_scheduler_loop(batch):
    limits = dataclasses.replace(WIDE_OPEN, creation_batch_size=batch)
    plan, outcome = run([task(f"t{i}") for i in range(7)], 300.0, limits=limits)
    loops = math.ceil(7 / batch) - 1
    assert plan.makespan_seconds == pytest.approx(OVERHEAD + 300 + loops * A.scheduler_loop_seconds)
    workers = sorted(p.created_at for p in outcome.pods if p.kind == "worker")
    assert workers[-1] - workers[0] == pytest.approx(loops * A.scheduler_loop_seconds)


def test_deferred_tasks_hold_their_pool_slot_only_in_an_include_deferred_pool():
    tasks = [task(f"t{i}", pool="p", deferrable=True) for i in range(4)]
    counted = dataclasses.replace(WIDE_OPEN, pools={"p": 2}, pools_count_deferred=frozenset({"p"}))
    uncounted = dataclasses.replace(WIDE_OPEN, pools={"p": 2})
    bounded, _ = run(tasks, 3600.0, limits=counted)
    unbounded, _ = run(tasks, 3600.0, limits=uncounted)
    assert bounded.peak_running_tasks == 2
    assert unbounded.peak_running_tasks == 4


def test_a_task_pod_naming_a_priority_class_the_cluster_lacks_is_refused():
    plan, _ = run([task("t", priority_class_name="airkube-nope")], 60.0)
    assert plan.failed == {"t": "task pod refused: no PriorityClass 'airkube-nope' in the cluster"}


def test_higher_priority_pending_pods_are_placed_first():
    """One node with room for one 3000m pod at a time: the later, higher-priority task goes before the
    earlier ordinary one once the first task's pod leaves."""
    tasks = [
        task("first", cpu_m=3000),
        task("ordinary", cpu_m=3000),
        task("urgent", cpu_m=3000, priority_class_name="hi"),
    ]
    workload = Workload("p", {t.task_id: t for t in tasks}, 10)
    limits = dataclasses.replace(WIDE_OPEN, creation_batch_size=1)
    outcome = Simulation(workload, {"first": 300.0, "ordinary": 300.0, "urgent": 300.0}, limits,
                         [pool(max_nodes=1)], A, priority_classes={"hi": 1000}).run()  # fmt: skip
    placed = {p.task_id: p.placed_at for p in outcome.pods if p.kind == "task"}
    assert placed["first"] < placed["urgent"] < placed["ordinary"]
