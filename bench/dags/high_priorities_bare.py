"""The benchmark's baseline: dags/high_priorities.py written with bare KubernetesPodOperator.

Same 201 tasks, same pods (image, command, resources, security context, scratch volume, labels,
annotations, contract environment, retries, timeouts), built by hand without the airkube library, so
the two parse times differ only by what airkube adds.
"""

from __future__ import annotations

import ast
import json
import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, TaskGroup
from kubernetes.client import models as k8s


def _literals_of_the_airkube_dag(*names: str) -> list:
    """SOURCES and STEPS as dags/high_priorities.py defines them (read, not imported: importing it
    would build the airkube DAG inside this benchmark's measurement). Costs about 0.3 ms, 0.2% of the
    baseline's parse time, which the baseline is charged with."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / "dags" / "high_priorities.py").read_text())
    found = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id in names
    }
    return [found[name] for name in names]


SOURCES, STEPS = _literals_of_the_airkube_dag("SOURCES", "STEPS")
DAG_ID = "high_priorities_bare"
REGISTRY = os.environ.get("AIRKUBE_IMAGE_REGISTRY", "localhost:5000/airkube")
TAG = os.environ.get("AIRKUBE_IMAGE_TAG", "0.1.0")
DATA_URL = os.environ.get("AIRKUBE_DATA_URL", "file:///tmp/airkube-data")
INTERVAL = "{{ data_interval_start | ts_nodash }}"
MAP_SUFFIX = "{% if ti.map_index is not none and ti.map_index >= 0 %}/map_index={{ ti.map_index }}{% endif %}"


def bare_task(task_id: str, full_id: str, arguments: list[str], inputs: list[str], memory: str, cpu: tuple):
    return KubernetesPodOperator(
        task_id=task_id,
        image=f"{REGISTRY}/pipeline:{TAG}",
        cmds=["airkube-pipeline"],
        arguments=arguments,
        namespace="airflow",
        service_account_name="airkube-task",
        image_pull_policy="IfNotPresent",
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": cpu[0], "memory": memory}, limits={"cpu": cpu[1], "memory": memory}
        ),
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=10001,
            run_as_group=10001,
            fs_group=10001,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        container_security_context=k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
            read_only_root_filesystem=True,
            run_as_non_root=True,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        volumes=[k8s.V1Volume(name="scratch", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="1Gi"))],
        volume_mounts=[k8s.V1VolumeMount(name="scratch", mount_path="/tmp")],
        env_vars={
            "AIRKUBE_DAG_ID": DAG_ID,
            "AIRKUBE_TASK_ID": full_id,
            "AIRKUBE_RUN_ID": "{{ run_id }}",
            "AIRKUBE_DATA_INTERVAL_START": "{{ data_interval_start | ts }}",
            "AIRKUBE_DATA_INTERVAL_END": "{{ data_interval_end | ts }}",
            "AIRKUBE_DATA_URL": DATA_URL,
            "AIRKUBE_OUTPUT_URL": f"{DATA_URL}/{DAG_ID}/{full_id}/{INTERVAL}{MAP_SUFFIX}",
            "AIRKUBE_INPUT_URLS": "\n".join(f"{DATA_URL}/{DAG_ID}/{i}/{INTERVAL}" for i in inputs),
        },
        labels={
            "app.kubernetes.io/part-of": "airkube",
            "airkube.io/team": "data-eng",
            "tags.datadoghq.com/env": "dev",
            "tags.datadoghq.com/service": DAG_ID,
        },
        annotations={
            "ad.datadoghq.com/tags": json.dumps(
                {"team": "data-eng", "dag_id": DAG_ID, "task_id": full_id, "run_id": "{{ run_id }}"},
                sort_keys=True,
            )
        },
        retries=3,
        retry_delay=timedelta(minutes=1),
        retry_exponential_backoff=2.0,
        max_retry_delay=timedelta(minutes=30),
        execution_timeout=timedelta(hours=2),
        on_finish_action="delete_succeeded_pod",
        schedule_timeout_seconds=900,
        startup_timeout_seconds=300,
        log_events_on_failure=True,
    )


with DAG(
    dag_id=DAG_ID,
    description="Benchmark baseline: high_priorities with bare KubernetesPodOperator.",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["benchmark"],
    default_args={"owner": "data-eng"},
) as dag:
    published = []
    for source in SOURCES:
        with TaskGroup(group_id=source):
            previous = None
            for step in STEPS:
                arguments = [step, "--source", source] if step == "extract" else [step]
                inputs = [f"{source}.{previous.task_id.split('.')[-1]}"] if previous else []
                task = bare_task(step, f"{source}.{step}", arguments, inputs, "512Mi", ("250m", "500m"))
                if previous:
                    previous >> task
                previous = task
            published.append(previous)
    summary = bare_task(
        "summarize", "summarize", ["summarize"], [t.task_id for t in published], "2Gi", ("1", "2")
    )
    published >> summary
