"""Every task's duration and outcome to DogStatsD, tagged dag, task, team and env.

An Airflow listener (registered by the airkube plugin): Airflow calls it in the task's process when a
try ends. UDP, fire and forget: a missing agent costs nothing and raises nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.listeners import hookimpl
from datadog.dogstatsd import DogStatsd

from airkube.alerts.settings import alert_settings


def _emit(task_instance: Any, outcome: str) -> None:
    settings = alert_settings()
    task = getattr(task_instance, "task", None)
    tags = [
        f"dag:{task_instance.dag_id}",
        f"task:{task_instance.task_id}",
        f"team:{getattr(task, 'team', None) or getattr(task, 'owner', 'unknown')}",
        f"env:{settings.environment}",
        f"outcome:{outcome}",
    ]
    statsd = DogStatsd(host=settings.statsd_host, port=settings.statsd_port, disable_telemetry=True)
    started = getattr(task_instance, "start_date", None)
    if started is not None:
        seconds = (datetime.now(UTC) - started).total_seconds()
        statsd.timing("airkube.task.duration", seconds * 1000, tags=tags)
    statsd.increment("airkube.task.finished", tags=tags)
    statsd.flush()
    statsd.close_socket()


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    _emit(task_instance, "success")


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    _emit(task_instance, "failed")
