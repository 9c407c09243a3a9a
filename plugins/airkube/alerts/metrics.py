"""What Airflow's own metrics do not say about a task's try, to DogStatsD: `airkube.task.finished`.

Airflow already sends `task.duration` and `ti.finish` (tags `dag_id`, `task_id`, `state`) from the
task's process, and the Helm values ship them to Datadog; airkube does not send them again. Its one
metric adds what Airflow's lack: the owning `team`, the platform's `env`, and for a failed try the
`failure_reason` Kubernetes gave (`OOMKilled`, `ImagePullBackOff`, read from the pod's status by
AirkubePodOperator) or the local process's (`Error`, `SIGKILL`). `state` is Airflow's: `success`,
`up_for_retry`, or `failed` after the last try.

An Airflow listener (registered by the airkube plugin). Airflow calls it where a try ends: in the task's
process, and in the scheduler for a task whose process died without reporting (Airflow's
"killed externally"); both say the try was running. The api-server calls it too when someone sets a
task's state through the REST API or the UI (previous_state None): no try ended there, so nothing is
sent.

Sent only where an agent is configured (DD_AGENT_HOST, which the Helm values set), over an unconnected
UDP socket: a connected one (the datadog client's) hears the ICMP "port unreachable" of a missing agent
and fails its next send with ECONNREFUSED, which the client logs as a warning in every task's log.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from airflow.listeners import hookimpl

from airkube.alerts.settings import alert_settings
from airkube.pod_defaults import TEAM_LABEL

log = logging.getLogger(__name__)
METRIC = "airkube.task.finished"
# Task instance states by value: the task process's (the Task SDK's enum) and the scheduler's (the
# model's) are different str enums with the same values.
RUNNING, SUCCESS = "running", "success"
# Airflow's word for a task instance the executor reported finished while it was still running.
KILLED_EXTERNALLY = "killed_externally"


def _tag_value(value: object) -> str:
    """DogStatsD separates tags with `,` and fields with `|`: neither may appear inside a value."""
    return "".join("_" if char in ",|#\n" else char for char in str(value))


def _team(task: Any) -> str:
    """The task's team: the operator's (task process), else its pod label (the scheduler's serialized
    task, which has the labels but not the attribute), else its owner."""
    labels = getattr(task, "labels", None)
    label = labels.get(TEAM_LABEL) if isinstance(labels, dict) else None
    return getattr(task, "team", None) or label or getattr(task, "owner", None) or "unknown"


def failure_reason(task_instance: Any, error: Any) -> str:
    """What the operator read from the pod or process; else the error's type (a timeout is
    `AirflowTaskTimeout`); a message (the scheduler's, for a process that died) means the task's own
    process never reported."""
    reason = getattr(getattr(task_instance, "task", None), "failure_reason", None)
    if reason:
        return reason
    if isinstance(error, BaseException):
        return type(error).__name__
    return KILLED_EXTERNALLY if isinstance(error, str) else "unknown"


def finished_tags(task_instance: Any, error: Any = None) -> list[str]:
    """The metric's tags, with Airflow's names for what Airflow's metrics also carry."""
    state = task_instance.state
    state = getattr(state, "value", state)
    tags = {
        "dag_id": task_instance.dag_id,
        "task_id": task_instance.task_id,
        "team": _team(getattr(task_instance, "task", None)),
        "env": alert_settings().environment,
        "state": state,
    }
    if state != SUCCESS:
        tags["failure_reason"] = failure_reason(task_instance, error)
    return [f"{name}:{_tag_value(value)}" for name, value in tags.items()]


def send(name: str, tags: list[str]) -> None:
    """One count to the agent; nothing when none is configured, and never an error or a warning."""
    settings = alert_settings()
    if settings.statsd_host is None:
        return
    datagram = f"{name}:1|c|#{','.join(tags)}".encode()
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            settings.statsd_host, settings.statsd_port, type=socket.SOCK_DGRAM
        )[0]
        with socket.socket(family, kind, proto) as sock:
            sock.sendto(datagram, address)
    except OSError as err:  # e.g. an agent host name that does not resolve: fire and forget
        log.debug("%s not sent to %s: %s", name, settings.statsd_host, err)


def _try_ended(previous_state: Any) -> bool:
    return previous_state == RUNNING


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    if _try_ended(previous_state):
        send(METRIC, finished_tags(task_instance))


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    if _try_ended(previous_state):
        send(METRIC, finished_tags(task_instance, error))
