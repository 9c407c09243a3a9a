"""Parse-time checks of the values a DAG author gives a task, in one table (FIELD_CHECKS).

Each check raises `FieldError(field, problem)` (airkube.errors), which the caller turns into the
task's AirkubeDagError. The operator's constructor and a mapped task's `.partial()` run the same table;
this module only checks and normalizes values (the Kubernetes objects are built by airkube.resources
and airkube.pod_defaults).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from airkube.errors import FieldError
from airkube.images import task_image
from airkube.pod_defaults import is_label_value
from airkube.resources import (
    DEFAULT_SIZE,
    SIZES,
    SLOT_CPU_MILLICORES,
    SLOT_MEMORY_MIB,
    SLOTS_PER_NODE,
    Size,
    check_quantity,
    pool_slots,
)
from airkube.settings import PlatformSettings

MIN_RETRIES = 2
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = re.compile(r"^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$")
RESERVED_ENV_PREFIX = "AIRKUBE_"


def check_command(command: Any) -> list[str]:
    if isinstance(command, str):
        raise FieldError("command", f"{command!r} is a string; give a list such as ['airkube-pipeline']")
    if not isinstance(command, Sequence) or not command:
        raise FieldError("command", "is empty; the container needs an executable to run")
    if not all(isinstance(part, str) and part.strip() for part in command):
        raise FieldError("command", f"{list(command)!r} holds an empty or non-string part")
    return list(command)


def check_arguments(arguments: Any) -> list[str]:
    if arguments is None:
        return []
    if isinstance(arguments, str) or not isinstance(arguments, Sequence):
        raise FieldError("arguments", f"{arguments!r} is not a list of strings")
    if not all(isinstance(part, str) for part in arguments):
        raise FieldError("arguments", f"{list(arguments)!r} holds a non-string part")
    return list(arguments)


def check_size(size: Any, cpu: Any, memory: Any) -> Size:
    """A named size, optionally with an explicit CPU and/or memory that replaces the size's."""
    if size not in SIZES:
        raise FieldError("size", f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    chosen = SIZES[size]
    if cpu is None and memory is None:
        return chosen
    chosen = Size(
        cpu_request=_quantity("cpu", cpu) if cpu is not None else chosen.cpu_request,
        cpu_limit=_quantity("cpu", cpu) if cpu is not None else chosen.cpu_limit,
        memory=_quantity("memory", memory) if memory is not None else chosen.memory,
        scratch=chosen.scratch,
    )
    if pool_slots(chosen) > SLOTS_PER_NODE:
        field = "cpu" if cpu is not None else "memory"
        raise FieldError(
            field,
            f"cpu {chosen.cpu_request} and memory {chosen.memory} do not fit one worker node with the task's "
            f"worker pod: at most {SLOTS_PER_NODE * SLOT_CPU_MILLICORES}m CPU and "
            f"{SLOTS_PER_NODE * SLOT_MEMORY_MIB}Mi (size large: {SIZES['large'].cpu_request} CPU, "
            f"{SIZES['large'].memory})",
        )
    return chosen


def _quantity(field: str, value: Any) -> str:
    check_quantity(value, kind=field)
    return str(value)


def check_retries(retries: Any) -> int:
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < MIN_RETRIES:
        raise FieldError(
            "retries", f"{retries!r} is below the platform minimum of {MIN_RETRIES}; pods get evicted"
        )
    return retries


def check_team(team: Any) -> str:
    if not isinstance(team, str) or not team or not is_label_value(team):
        raise FieldError(
            "team",
            f"{team!r} cannot be a Kubernetes label value (1-63 characters: letters, digits, - _ .; "
            "it comes from `team=` or else the task's owner)",
        )
    return team


def check_secrets(secrets: Any) -> list[str]:
    if isinstance(secrets, str) or not isinstance(secrets, Sequence):
        raise FieldError("secrets", f"{secrets!r} is not a list of Kubernetes Secret names")
    for name in secrets:
        if not isinstance(name, str) or not _SECRET_NAME.match(name):
            raise FieldError("secrets", f"{name!r} is not a Kubernetes Secret name (lower-case DNS name)")
    return list(secrets)


def check_env(env: Any) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, Mapping):
        raise FieldError("env", f"{env!r} is not a mapping of variable names to strings")
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise FieldError("env", f"{name!r} is not a valid environment variable name")
        if name.startswith(RESERVED_ENV_PREFIX):
            raise FieldError("env", f"{name!r} is set by the platform (the {RESERVED_ENV_PREFIX}* contract)")
        if not isinstance(value, str):
            raise FieldError("env", f"{name}={value!r} is not a string")
    return dict(env)


def check_expected_duration(expected_duration: Any, execution_timeout: Any) -> timedelta | None:
    """How long the task usually runs (the capacity planner's estimate); below its execution_timeout."""
    if expected_duration is None:
        return None
    if not isinstance(expected_duration, timedelta):
        raise FieldError(
            "expected_duration",
            f"{expected_duration!r} is not a datetime.timedelta (such as timedelta(minutes=20))",
        )
    if expected_duration <= timedelta(0):
        raise FieldError("expected_duration", f"{expected_duration!r} must be greater than zero")
    if isinstance(execution_timeout, timedelta) and expected_duration >= execution_timeout:
        raise FieldError(
            "expected_duration",
            f"{expected_duration} is not below the execution_timeout of {execution_timeout}; "
            "a task expected to run that long would always be killed",
        )
    return expected_duration


Check = Callable[[Mapping[str, Any], PlatformSettings], Any]

FIELD_CHECKS: dict[str, tuple[tuple[str, ...], Check]] = {
    "image": (("image",), lambda v, s: task_image(v["image"], registry=s.image_registry, tag=s.image_tag)),
    "command": (("command",), lambda v, _: check_command(v["command"])),
    "arguments": (("arguments",), lambda v, _: check_arguments(v["arguments"])),
    "size": (
        ("size", "cpu", "memory"),
        lambda v, _: check_size(v.get("size", DEFAULT_SIZE), v.get("cpu"), v.get("memory")),
    ),
    "retries": (("retries",), lambda v, _: check_retries(v["retries"])),
    "team": (("team",), lambda v, _: check_team(v["team"])),
    "secrets": (("secrets",), lambda v, _: check_secrets(v["secrets"])),
    "env": (("env",), lambda v, _: check_env(v["env"])),
    "expected_duration": (
        ("expected_duration", "execution_timeout"),
        lambda v, _: check_expected_duration(v.get("expected_duration"), v.get("execution_timeout")),
    ),
}
"""field -> (the fields its check reads, the check): the value it returns is the field's normalized
value (a full image reference, a list, a Size). Every parse-time check of a task's own values."""


def check_fields(
    values: Mapping[str, Any],
    settings: PlatformSettings,
    *,
    known_later: Callable[[Any], bool] = lambda value: False,
) -> dict[str, Any]:
    """Check every field of FIELD_CHECKS whose check reads a value in `values`, and return the checked
    values by field. A check that reads a value `known_later` (a mapped task's value from an upstream
    task's result) is skipped: it runs on the instance, when the value exists."""
    checked = {}
    for field, (reads, check) in FIELD_CHECKS.items():
        given = [values[name] for name in reads if name in values]
        if given and not any(known_later(value) for value in given):
            checked[field] = check(values, settings)
    return checked
