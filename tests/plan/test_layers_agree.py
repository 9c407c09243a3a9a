"""The library's sizes, the chart's settings and Terraform's node groups, read together by the capacity
planner: a size no worker node can hold, a pod selecting a node group that has not that label, a scheduler
name no scheduler serves, or Airflow's own pods outgrowing the system nodes each fail here, naming what
disagrees. The environments are read as the planner reads them (the chart rendered by the real helm, the
Terraform variables resolved from the tfvars and the modules' defaults)."""

from __future__ import annotations

import pytest

from airkube import pod_defaults
from airkube.resources import SIZES, SLOTS_PER_NODE, Size, pool_slots, resource_requirements
from airkube_dev import chart
from airkube_plan.nodes import POOL_LABEL
from airkube_plan.planner import load_environment
from airkube_plan.quantities import Resources
from airkube_plan.terraform_vars import load_hcl
from paths import REPO
from pods import render_pod

ENVS = ("staging", "prod")


@pytest.fixture(scope="module")
def environments():
    return {env: load_environment(env) for env in ENVS}


def node_group_labels() -> dict[str, dict[str, str]]:
    """aws_eks_node_group name -> its Kubernetes labels, from terraform/modules/eks/main.tf."""
    groups = {}
    for block in load_hcl(REPO / "terraform" / "modules" / "eks" / "main.tf")["resource"]:
        groups.update({name: body["labels"] for name, body in block.get("aws_eks_node_group", {}).items()})
    return groups


def size_requests(size: Size) -> Resources:
    return Resources.from_requests(resource_requirements(size).requests)


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("name", sorted(SIZES))
def test_every_named_size_fits_one_worker_node_after_the_daemonsets(environments, env, name):
    """The worker pod is scheduled on its own (possibly on another node), so the task pod alone must fit."""
    worker = environments[env].worker_pool
    assert size_requests(SIZES[name]).fits_in(worker.allocatable), (
        f'size="{name}" requests {size_requests(SIZES[name])}; a {worker.instance_type} worker node offers '
        f"{worker.allocatable} after EKS's reservations and the DaemonSets"
    )


def test_the_check_refuses_a_size_as_big_as_the_node(environments):
    """The size "large" had before: 4 CPUs on a 4-vCPU node, which never schedules."""
    too_big = Size(cpu_request="4", cpu_limit="4", memory="8Gi", scratch="16Gi")
    assert not size_requests(too_big).fits_in(environments["prod"].worker_pool.allocatable)


@pytest.mark.parametrize("env", ENVS)
def test_the_worker_pod_fits_a_worker_node(environments, env):
    assert environments[env].limits.worker_pod.fits_in(environments[env].worker_pool.allocatable)


def test_task_pods_and_worker_pods_select_the_worker_node_group(environments, dagbag):
    worker_labels = node_group_labels()["worker"]
    task = dagbag.dags["high_priorities"].get_task("orders.extract")
    selector = render_pod(task)["spec"]["nodeSelector"]
    assert selector.items() <= worker_labels.items(), (
        f"task pods select {selector}, worker nodes have {worker_labels}"
    )
    for env in ENVS:
        worker_selector = environments[env].limits.worker_node_selector
        assert worker_selector and worker_selector.items() <= worker_labels.items(), env


@pytest.mark.parametrize("env", ENVS)
def test_airflows_own_pods_select_the_system_node_group(env):
    system_labels = node_group_labels()["system"]
    for manifest in chart.render(chart.environment_values(env)):
        if manifest["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob"):
            spec = manifest["spec"]
            pod = (
                spec["jobTemplate"]["spec"]["template"] if manifest["kind"] == "CronJob" else spec["template"]
            )
            selector = pod["spec"].get("nodeSelector") or {}
            assert selector and selector.items() <= system_labels.items(), (
                manifest["kind"],
                manifest["metadata"]["name"],
            )
    assert system_labels[POOL_LABEL] == "system"


@pytest.mark.parametrize("env", ENVS)
def test_task_pods_and_worker_pods_name_the_bin_packing_scheduler_that_runs(environments, env, dagbag):
    scorings = environments[env].scorings
    task = dagbag.dags["high_priorities"].get_task("orders.extract")
    task_scheduler = render_pod(task)["spec"]["schedulerName"]
    assert task_scheduler == pod_defaults.SCHEDULER_NAME
    assert scorings.get(task_scheduler) == "most-allocated", scorings
    assert scorings.get(environments[env].limits.worker_scheduler_name) == "most-allocated", scorings


@pytest.mark.parametrize("env", ENVS)
def test_the_system_pods_fit_on_the_system_node_group(environments, env):
    """Airflow's long-running pods, the platform's scheduler and the cluster add-ons, on the fixed nodes."""
    system = next(p for p in environments[env].pools if p.name == "system")
    assert system.allocatable.cpu_m >= 0 and system.allocatable.memory_mib >= 0, (
        f"{environments[env].system_pods} requested on {system.max_nodes} {system.instance_type} "
        f"system nodes leaves {system.allocatable} per node"
    )


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("name", sorted(SIZES))
def test_a_worker_node_holds_its_pool_slots_worth_of_each_size_with_their_worker_pods(
    environments, env, name
):
    """A node's SLOTS_PER_NODE slots, spent on one size: that many tasks and their worker pods fit on it."""
    environment = environments[env]
    tasks = SLOTS_PER_NODE // pool_slots(SIZES[name])
    one = size_requests(SIZES[name]) + environment.limits.worker_pod
    assert one.times(tasks).fits_in(environment.worker_pool.allocatable), (name, tasks, one)


@pytest.mark.parametrize("env", ENVS)
def test_the_default_pool_admits_no_more_than_the_worker_nodes_hold(environments, env):
    environment = environments[env]
    slots = environment.limits.pools["default_pool"]
    assert slots <= SLOTS_PER_NODE * environment.worker_pool.max_nodes, (
        f"default_pool has {slots} slots; {environment.worker_pool.max_nodes} worker nodes hold "
        f"{SLOTS_PER_NODE * environment.worker_pool.max_nodes}"
    )
