"""The platform defaults every airkube task gets, read from the pod KubernetesPodOperator builds."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pendulum
import pytest
from airflow.sdk import DAG

from airkube import SIZES, AirkubePodOperator, TaskFamily
from pods import render_pod, task_instances

REGISTRY = os.environ["AIRKUBE_IMAGE_REGISTRY"]
DATA_URL = os.environ["AIRKUBE_DATA_URL"]


def _task(**overrides) -> AirkubePodOperator:
    with DAG("defaults_dag", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
        upstream = AirkubePodOperator(task_id="upstream", image="pipeline", command=["airkube-pipeline"])
        kwargs = {"image": "pipeline", "command": ["airkube-pipeline"], "owner": "data-eng", **overrides}
        return AirkubePodOperator(task_id="step", inputs=[upstream], **kwargs)


def _container(pod: dict) -> dict:
    (container,) = pod["spec"]["containers"]
    return container


def test_image_comes_from_the_registry_and_tag_settings():
    assert _container(render_pod(_task()))["image"] == f"{REGISTRY}/pipeline:0.1.0"


@pytest.mark.parametrize("size", sorted(SIZES))
def test_named_size_sets_requests_and_limits(size):
    resources = _container(render_pod(_task(size=size)))["resources"]
    expected = SIZES[size]
    assert resources["requests"] == {"cpu": expected.cpu_request, "memory": expected.memory}
    assert resources["limits"] == {"cpu": expected.cpu_limit, "memory": expected.memory}


def test_explicit_cpu_and_memory_replace_the_size():
    resources = _container(render_pod(_task(size="large", cpu="750m", memory="3Gi")))["resources"]
    assert resources["requests"] == {"cpu": "750m", "memory": "3Gi"}
    assert resources["limits"] == {"cpu": "750m", "memory": "3Gi"}


def test_restricted_security_context_and_writable_scratch():
    pod = render_pod(_task())
    assert pod["spec"]["securityContext"] == {
        "fsGroup": 10001,
        "runAsGroup": 10001,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container = _container(pod)
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert {"name": "scratch", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "scratch", "emptyDir": {"sizeLimit": SIZES["small"].scratch}} in pod["spec"]["volumes"]


def test_secrets_by_name_become_env_from():
    container = _container(render_pod(_task(secrets=["pipeline-db", "vendor-api"])))
    assert container["envFrom"] == [
        {"secretRef": {"name": "pipeline-db"}},
        {"secretRef": {"name": "vendor-api"}},
    ]


def test_contract_env_depends_only_on_dag_task_and_interval():
    env = {
        item["name"]: item.get("value")
        for item in _container(render_pod(_task(env={"LEVEL": "debug"})))["env"]
    }
    assert env["AIRKUBE_OUTPUT_URL"] == f"{DATA_URL}/defaults_dag/step/20261122T000000"
    assert env["AIRKUBE_INPUT_URLS"] == f"{DATA_URL}/defaults_dag/upstream/20261122T000000"
    assert env["AIRKUBE_DATA_INTERVAL_START"] == "2026-11-22T00:00:00+00:00"
    assert env["AIRKUBE_DATA_INTERVAL_END"] == "2026-11-23T00:00:00+00:00"
    assert env["AIRKUBE_DATA_URL"] == DATA_URL
    assert env["LEVEL"] == "debug"


def test_labels_and_annotations_carry_team_dag_task_and_run_for_datadog():
    metadata = render_pod(_task())["metadata"]
    labels = metadata["labels"]
    assert labels["airkube.io/team"] == "data-eng"
    assert labels["tags.datadoghq.com/env"] == "test"
    assert labels["tags.datadoghq.com/service"] == "defaults_dag"
    assert (labels["dag_id"], labels["task_id"], labels["try_number"]) == ("defaults_dag", "step", "1")
    assert "run_id" in labels
    tags = json.loads(metadata["annotations"]["ad.datadoghq.com/tags"])
    assert tags == {
        "team": "data-eng",
        "dag_id": "defaults_dag",
        "task_id": "step",
        "run_id": "scheduled__2026-11-22T00:00:00+00:00",
    }


def test_namespace_and_service_account_come_from_settings():
    pod = render_pod(_task())
    assert pod["metadata"]["namespace"] == "airflow"
    assert pod["spec"]["serviceAccountName"] == "airkube-task"


def test_task_pods_run_on_the_worker_node_group_placed_by_the_bin_packing_scheduler():
    """The system nodes hold Airflow's own pods; the default scheduler would spread task pods over every
    node and keep each from scaling down (tests/plan/test_layers_agree.py ties both names to their layers)."""
    spec = render_pod(_task())["spec"]
    assert spec["nodeSelector"] == {"airkube/pool": "worker"}
    assert spec["schedulerName"] == "airkube-binpack"


def test_an_author_may_add_to_the_node_selector_and_choose_another_scheduler():
    spec = render_pod(_task(node_selector={"disktype": "ssd"}, schedulername="default-scheduler"))["spec"]
    assert spec["nodeSelector"] == {"airkube/pool": "worker", "disktype": "ssd"}
    assert spec["schedulerName"] == "default-scheduler"


@pytest.mark.parametrize(("size", "slots"), [("small", 1), ("medium", 3), ("large", 9)])
def test_a_task_takes_pool_slots_for_its_size_so_the_pool_admits_what_the_nodes_hold(size, slots):
    assert _task(size=size).pool_slots == slots
    assert _task(size="small", memory="6Gi").pool_slots == 4  # memory counts too: 6Gi over 1536Mi slots
    assert _task(size=size, pool_slots=1).pool_slots == 1  # an author's own choice stands


def test_a_mapped_task_carries_its_pool_slots_as_a_partial_argument():
    with DAG("mapped_slots", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
        template = TaskFamily(image="pipeline", command=["airkube-pipeline"], size="medium")
        mapped = template.map("fan", expand={"arguments": [["a"], ["b"]]})
    assert mapped.partial_kwargs["pool_slots"] == 3


def test_operational_defaults():
    task = _task()
    assert task.retries == 3
    assert task.retry_exponential_backoff == 2.0
    assert task.retry_delay == timedelta(minutes=1)
    assert task.max_retry_delay == timedelta(minutes=30)
    assert task.execution_timeout == timedelta(hours=2)
    assert task.expected_duration is None  # declared by the author, never guessed
    # Failed pods stay for debugging; succeeded ones go.
    assert task.on_finish_action.value == "delete_succeeded_pod"
    # Reattach to a running pod after a worker restart instead of starting a second one.
    assert task.durable is True
    assert task.upstream_task_ids == {"upstream"}


def test_template_shares_defaults_and_chain_wires_inputs():
    template = TaskFamily(image="pipeline", command=["airkube-pipeline"], size="medium", team="growth")
    with DAG("template_dag", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
        first, second, third = template.chain([("a", ["a"]), ("b", ["b"]), ("c", ["c"])])
        fourth = template.task("d", arguments=["d"], size="large")
    assert (second.upstream_task_ids, third.upstream_task_ids) == ({"a"}, {"b"})
    assert first.upstream_task_ids == set()
    assert third.env_vars["AIRKUBE_INPUT_URLS"].endswith(
        "/template_dag/b/{{ data_interval_start | ts_nodash }}"
    )
    assert {task.team for task in (first, second, third, fourth)} == {"growth"}
    assert _container(render_pod(second))["resources"]["requests"]["memory"] == SIZES["medium"].memory
    assert _container(render_pod(fourth))["resources"]["requests"]["memory"] == SIZES["large"].memory


def test_expected_duration_from_the_template_reaches_every_task_and_a_task_may_override_it():
    template = TaskFamily(
        image="pipeline", command=["airkube-pipeline"], expected_duration=timedelta(minutes=20)
    )
    with DAG("duration_dag", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
        first, second = template.chain([("a", ["a"]), ("b", ["b"])])
        quick = template.task("quick", expected_duration=timedelta(minutes=2))
        mapped = template.map("mapped", expand={"arguments": [["x"], ["y"]]})
        mapped_quick = template.map(
            "mapped_quick", expand={"arguments": [["x"]]}, expected_duration=timedelta(minutes=3)
        )
        undeclared = AirkubePodOperator.partial(task_id="undeclared", image="pipeline", command=["x"]).expand(
            arguments=[["x"]]
        )
    assert first.expected_duration == second.expected_duration == timedelta(minutes=20)
    assert quick.expected_duration == timedelta(minutes=2)
    # A MappedOperator has no attribute of its own for it: its partial kwargs carry it...
    assert mapped.partial_kwargs["expected_duration"] == timedelta(minutes=20)
    assert mapped_quick.partial_kwargs["expected_duration"] == timedelta(minutes=3)
    assert undeclared.partial_kwargs["expected_duration"] is None
    # ...and every instance, once unmapped, has it as the plain task has.
    assert [task.expected_duration for _, task in task_instances(mapped)] == [timedelta(minutes=20)] * 2


def test_expected_duration_from_default_args_reaches_plain_and_mapped_tasks():
    default_args = {"expected_duration": timedelta(minutes=7)}
    with DAG(
        "duration_defaults",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1),
        default_args=default_args,
    ):
        plain = AirkubePodOperator(task_id="plain", image="pipeline", command=["x"])
        mapped = TaskFamily(image="pipeline", command=["x"]).map("mapped", expand={"arguments": [["x"]]})
    assert plain.expected_duration == mapped.partial_kwargs["expected_duration"] == timedelta(minutes=7)
