"""The benchmark's baseline: dags/high_priorities.py written with bare KubernetesPodOperator.

Same 201 tasks, same pods (image, command, resources, security context, scratch volume, labels,
annotations, contract environment, retries, timeouts), built by hand without the airkube library, so
the two parse times differ only by what airkube adds.
"""

from __future__ import annotations

import functools
import json
import os
from datetime import timedelta

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG, CronDataIntervalTimetable
from kubernetes.client import models as k8s
from nightly_shape import build_source_chains

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
    published = build_source_chains(functools.partial(bare_task, memory="512Mi", cpu=("250m", "500m")))
    summary = bare_task(
        "summarize", "summarize", ["summarize"], [t.task_id for t in published], "2Gi", ("1", "2")
    )
    published >> summary
