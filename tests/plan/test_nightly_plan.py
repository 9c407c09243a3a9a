"""The nightly plan of high_priorities, made from the repository as it is (the DAG as Airflow parses it, the
rendered chart, Terraform's node groups, bench/durations/high_priorities.json), against the platform's
promise: the night within 8 hours on at most 60 nodes, at no more than 1.25 times the node-hours lower
bound; and Airflow's rendered concurrency settings able to run what the night needs at once. The same goal
is checked on DAG shapes other than the flagship. Kubernetes and AWS are the planner's model here
(tools/airkube_plan): the figures are a plan, not a measurement."""

from __future__ import annotations

import dataclasses

import pytest

from airkube import pod_defaults
from airkube.resources import SIZES, pool_slots, resource_requirements
from airkube_plan import readme_plan
from airkube_plan.planner import load_environment, parse_environment, plan_dag, simulate
from airkube_plan.quantities import Resources
from airkube_plan.workload import TaskSpec, Workload, load_workload, with_priority_weights
from paths import REPO

ENVS = ("staging", "prod")
DAG_FILE = REPO / "dags" / "high_priorities.py"
DURATIONS = REPO / "bench" / "durations" / "high_priorities.json"
NIGHT_SECONDS = 8 * 3600
GOAL_RATIO = 1.25
UNLIMITED = 1_000_000
WORKER_POOL = dict(pod_defaults.WORKER_NODE_SELECTOR)


@pytest.fixture(scope="module")
def environments():
    return {env: load_environment(env) for env in ENVS}


@pytest.fixture(scope="module")
def nightly_plans():
    return {env: plan_dag(DAG_FILE, "high_priorities", env, durations_file=DURATIONS)[0] for env in ENVS}


def meets_the_goal(plan, max_nodes: int) -> list[str]:
    """Each broken promise, worded; empty when the plan keeps them all."""
    broken = []
    if plan.failed:
        broken.append(f"{len(plan.failed)} tasks fail: {sorted(plan.failed.items())[:3]}")
    if plan.makespan_seconds > NIGHT_SECONDS:
        broken.append(f"makespan {plan.makespan_seconds / 3600:.2f} h > 8 h")
    if plan.peak_nodes > max_nodes:
        broken.append(f"peak {plan.peak_nodes} nodes > {max_nodes}")
    if plan.efficiency_ratio > GOAL_RATIO:
        broken.append(
            f"{plan.node_hours_above_minimum:.2f} node-hours above the minimum = {plan.efficiency_ratio:.2f} "
            f"x the lower bound {plan.node_hours_lower_bound:.2f} (> {GOAL_RATIO})"
        )
    return broken


@pytest.mark.parametrize("env", ENVS)
def test_the_nightly_run_fits_the_night_on_the_node_pool_at_near_the_lower_bound(nightly_plans, env):
    plan = nightly_plans[env]
    assert meets_the_goal(plan, plan.worker_pool.max_nodes) == []


@pytest.mark.parametrize("env", ENVS)
def test_the_rendered_configuration_reaches_the_concurrency_the_night_needs(environments, nightly_plans, env):
    """What the night runs at once with no Airflow limit at all, against what the rendered chart allows;
    and the planned run is never held back by an Airflow setting."""
    environment = environments[env]
    limits = environment.limits
    workload = load_workload(DAG_FILE, "high_priorities", parse_environment(environment))
    unlimited = dataclasses.replace(
        environment,
        limits=dataclasses.replace(
            limits, parallelism=UNLIMITED, max_active_tasks_per_dag=UNLIMITED, creation_batch_size=UNLIMITED,
            max_tis_per_query=UNLIMITED, pools={"default_pool": UNLIMITED},
        ),
    )  # fmt: skip
    durations = nightly_plans[env].details["durations"]
    needed = simulate(unlimited, dataclasses.replace(workload, max_active_tasks=UNLIMITED), durations)[0]
    allowed = {
        "max_active_tasks": workload.max_active_tasks,
        "parallelism x schedulers": limits.total_parallelism,
        "default_pool slots": limits.pools["default_pool"],
    }
    assert {name: cap for name, cap in allowed.items() if cap < needed.peak_running_tasks} == {}, (
        f"the night runs {needed.peak_running_tasks} tasks at once"
    )
    held_back = [
        item for item in nightly_plans[env].limited_by if item["factor"].startswith(("[", "pool ", "the DAG"))
    ]
    assert held_back == []


@pytest.mark.parametrize("env", ENVS)
def test_the_node_maximum_holds_the_nights_peak(environments, nightly_plans, env):
    environment = environments[env]
    pools = tuple(
        dataclasses.replace(p, max_nodes=UNLIMITED) if p.autoscaled else p for p in environment.pools
    )
    workload = load_workload(DAG_FILE, "high_priorities", parse_environment(environment))
    roomy = simulate(
        dataclasses.replace(environment, pools=pools), workload, nightly_plans[env].details["durations"]
    )[0]
    assert roomy.peak_nodes <= environment.worker_pool.max_nodes


def shape(name: str, layers: list[tuple[int, str, float]], fan: str = "all") -> Workload:
    """A layered DAG: each layer's tasks (count, size requests, seconds) depend on the layer before it
    (`all`: every task of it; `one`: the task with the same index, i.e. parallel chains)."""
    sizes = {
        name: Resources.from_requests(resource_requirements(size).requests) for name, size in SIZES.items()
    }
    tasks: dict[str, TaskSpec] = {}
    previous: list[str] = []
    for depth, (count, size, seconds) in enumerate(layers):
        current = []
        for i in range(count):
            chain = previous[i % len(previous) : i % len(previous) + 1] if previous else []
            upstream = previous if fan == "all" else chain
            # Durations vary by +-40% within a layer, deterministically.
            duration = seconds * (0.6 + 0.8 * ((i * 37 + depth * 11) % 100) / 100)
            task_id = f"l{depth}_{i}"
            tasks[task_id] = TaskSpec(
                task_id, tuple(upstream), sizes[size], expected_duration=duration, node_selector=WORKER_POOL,
                scheduler_name=pod_defaults.SCHEDULER_NAME, pool_slots=pool_slots(SIZES[size]),
            )  # fmt: skip
            current.append(task_id)
        previous = current
    return Workload(name, with_priority_weights(tasks, {}), max_active_tasks=64)


SHAPES = {
    # 24 parallel chains of large then medium tasks of unequal lengths: a long, tailing night.
    "large_chains": shape(
        "large_chains", [(24, "large", 3600), (24, "large", 2400), (24, "medium", 1800)], fan="one"
    ),
    # 300 independent medium tasks then one summary: a wide backfill-like burst that needs many nodes.
    "wide_fan_out": shape("wide_fan_out", [(300, "medium", 1800), (1, "small", 600)]),
    # Four layers of 60, each waiting for the whole layer before: a stepped load that rises and falls.
    "layered_etl": shape(
        "layered_etl", [(60, "small", 1200), (60, "medium", 1800), (60, "small", 900), (20, "large", 2400)]
    ),
}
# Shapes whose plan misses the 1.25 goal, and why (measured with this repository's settings). Task and worker
# pods cannot move once placed, so a node stays while any of its pods runs: when durations vary within a
# wave (+-40% here), the wave's end leaves long tasks scattered one or two to a node, and no scheduler
# scoring or autoscaler timing recovers those node-hours. Kept as strict expected failures: if a change
# makes one meet the goal, this test says so and the entry goes.
MISSES_THE_GOAL = {
    "wide_fan_out": "1.28 x: the last of 5 waves of 64 medium tasks (3 a node) tails off over 12 minutes",
    "layered_etl": "1.45 x: each of 4 layers waits for its slowest task while its nodes drain",
}


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=MISSES_THE_GOAL[name]))
        if name in MISSES_THE_GOAL
        else name
        for name in SHAPES
    ],
)
def test_the_goal_holds_on_other_dag_shapes(environments, env, name):
    environment = environments[env]
    workload = SHAPES[name]
    durations = {task_id: task.expected_duration for task_id, task in workload.tasks.items()}
    plan = simulate(environment, workload, durations)[0]
    assert meets_the_goal(plan, environment.worker_pool.max_nodes) == []


def test_the_readme_shows_the_plan_the_planner_makes_now(nightly_plans):
    """README.md's planned night is generated (`make cost-table`); a settings, size or price change that
    moves the plan fails here until the README is regenerated."""
    assert readme_plan.readme_section(REPO) == readme_plan.render_section(REPO, nightly_plans)
    assert (REPO / readme_plan.PICTURE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_burst_beyond_the_node_maximum_waits_in_the_pool_and_no_task_fails(environments, env, size):
    """600 independent tasks of one size, no DAG cap: Airflow's pool, sized in slots to what the worker nodes
    hold, admits no more than fits, so none sits Pending past its schedule timeout at the node maximum."""
    workload = dataclasses.replace(shape(f"burst_{size}", [(600, size, 1800)]), max_active_tasks=UNLIMITED)
    durations = {task_id: task.expected_duration for task_id, task in workload.tasks.items()}
    plan = simulate(environments[env], workload, durations)[0]
    assert plan.failed == {}
    assert plan.peak_nodes <= environments[env].worker_pool.max_nodes
    assert any(
        item["factor"].startswith(("pool default_pool", "[core] parallelism")) for item in plan.limited_by
    )
