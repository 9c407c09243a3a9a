"""From a DAG file and an environment name to a Plan: the repository's layers read, then one simulated run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from airkube_plan import durations as durations_mod
from airkube_plan.assumptions import Assumptions, with_overrides
from airkube_plan.limits import AirflowLimits, components_requests, limits_from_chart
from airkube_plan.nodes import (
    SYSTEM_POOL,
    WORKER_POOL,
    NodePool,
    pool_from_terraform,
    repo_root,
    system_pool_leftover,
)
from airkube_plan.pricing import load_pricing
from airkube_plan.quantities import Resources
from airkube_plan.report import Plan, make_plan
from airkube_plan.schedulers import (
    BUILT_IN_PRIORITY_CLASSES,
    DEFAULT_SCHEDULER,
    platform_scheduler_scorings,
    priority_classes,
    render_platform_scheduler,
)
from airkube_plan.simulation import Outcome, Simulation
from airkube_plan.terraform_vars import duration_seconds, environment_variables, platform_variables
from airkube_plan.workload import Workload, expand_instances, load_workload

DEFERRABLE_MODES = ("as-declared", "all", "none")


@dataclasses.dataclass(frozen=True)
class Environment:
    """What an environment offers a run: Airflow's limits and the node pools, with the assumptions."""

    name: str
    limits: AirflowLimits
    pools: tuple[NodePool, ...]
    assumptions: Assumptions
    scorings: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Scheduler name -> placement, for every scheduler that runs in the cluster."""
    priority_classes: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """PriorityClass name -> value, for every class the cluster has (besides the built-in ones)."""
    system_pods: Resources = Resources()
    """What the long-running pods on the system nodes request: Airflow's chart, the platform's scheduler,
    the cluster add-ons."""

    @property
    def worker_pool(self) -> NodePool:
        return next(p for p in self.pools if p.name == WORKER_POOL)


def load_environment(env: str, overrides: Sequence[str] = (), repo: Path | None = None) -> Environment:
    """The rendered chart of `env`, its Terraform node groups and terraform/pricing.yaml."""
    from airkube_dev import chart

    repo = repo or repo_root()
    tf = environment_variables(repo, env)  # first: it names an environment that does not exist
    assumptions = with_overrides(autoscaler_timings(repo, env), overrides)
    limits = limits_from_chart(chart.environment_values(env))
    pricing = load_pricing(repo)
    worker = pool_from_terraform(tf, env, WORKER_POOL, pricing, assumptions)
    scheduler_chart = render_platform_scheduler(repo)
    scorings = {DEFAULT_SCHEDULER: assumptions.placement, **platform_scheduler_scorings(scheduler_chart)}
    system_pods = limits.system_components + components_requests(scheduler_chart)
    for addon in assumptions.system_addons.values():
        system_pods = system_pods + addon
    system = system_pool_leftover(
        pool_from_terraform(tf, env, SYSTEM_POOL, pricing, assumptions), system_pods
    )
    classes = {**BUILT_IN_PRIORITY_CLASSES, **priority_classes(scheduler_chart)}
    return Environment(env, limits, (worker, system), assumptions, scorings, classes, system_pods)


# Cluster Autoscaler flags the platform layer sets (terraform/platform) -> the assumption each one decides.
AUTOSCALER_VARIABLES = {
    "autoscaler_scan_interval": "scan_interval_seconds",
    "autoscaler_scale_down_unneeded_time": "scale_down_unneeded_seconds",
    "autoscaler_scale_down_delay_after_add": "scale_down_delay_after_add_seconds",
}


def autoscaler_timings(repo: Path, env: str) -> Assumptions:
    """The default assumptions with the autoscaler's timings as Terraform deploys them for `env`."""
    values = platform_variables(repo, env)
    timings = {
        field: duration_seconds(values[name], name)
        for name, field in AUTOSCALER_VARIABLES.items()
        if name in values
    }
    return dataclasses.replace(Assumptions(), **timings)


def with_deferrable(workload: Workload, mode: str) -> Workload:
    """Every pod task deferrable (`all`), none (`none`), or as the DAG says: to compare the two."""
    if mode not in DEFERRABLE_MODES:
        raise ValueError(f"--deferrable {mode!r} is not one of {', '.join(DEFERRABLE_MODES)}")
    if mode == "as-declared":
        return workload
    tasks = {
        task_id: dataclasses.replace(task, deferrable=(mode == "all") and task.pod is not None)
        for task_id, task in workload.tasks.items()
    }
    return dataclasses.replace(workload, tasks=tasks)


def parse_environment(environment: Environment) -> dict[str, str]:
    """The settings a DAG file parses under in that environment."""
    return {
        **environment.limits.library_env,
        "AIRKUBE_RUNNER": "kubernetes",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(environment.limits.max_active_tasks_per_dag),
    }


def simulate(
    environment: Environment, workload: Workload, seconds: dict[str, float], details: dict | None = None
) -> tuple[Plan, Outcome]:
    """One simulated run and its plan."""
    outcome = Simulation(
        workload,
        seconds,
        environment.limits,
        environment.pools,
        environment.assumptions,
        environment.scorings,
        environment.priority_classes,
    ).run()
    plan = make_plan(
        environment.name,
        workload,
        seconds,
        outcome,
        environment.worker_pool,
        environment.assumptions,
        details,
    )
    return plan, outcome


def plan_dag(
    dag_file: Path,
    dag_id: str,
    env: str,
    *,
    durations_file: Path | None = None,
    from_db: str | None = None,
    overrides: Sequence[str] = (),
    deferrable: str = "as-declared",
) -> tuple[Plan, Outcome, Environment]:
    """The whole planner: read every layer, resolve durations, simulate."""
    environment = load_environment(env, overrides)
    workload = with_deferrable(load_workload(dag_file, dag_id, parse_environment(environment)), deferrable)
    history = durations_mod.read_history(from_db, dag_id) if from_db else None
    declared = durations_mod.read_durations_file(durations_file, dag_id) if durations_file else None
    resolved = durations_mod.resolve(workload, history=history, declared_file=declared)
    details = {
        "durations_from": resolved.summary(),
        "durations": dict(resolved.seconds),
        "settings": dict(environment.limits.sources),
        "deferrable": deferrable,
        "assumptions": {name: value for name, value, _ in environment.assumptions.describe()},
    }
    instances, seconds = expand_instances(workload, resolved.seconds)
    plan, outcome = simulate(environment, instances, seconds, details)
    return plan, outcome, environment
