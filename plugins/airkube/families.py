"""Task families: what a family of tasks shares, declared once, so DAGs carry no boilerplate.

A TaskFamily holds what its tasks share (image, command, size, secrets, team, any operator argument);
a DAG then states only what differs: the task id, the arguments and the inputs. (It was named
TaskTemplate, which read as a Jinja template or a KubernetesPodOperator pod_template_file; the old
name stays an alias, so DAGs written with it keep working.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import XComArg

from airkube.errors import AirkubeDagError
from airkube.pod_operator import AirkubePodOperator, _task_ref

if TYPE_CHECKING:
    from airflow.sdk.definitions.mappedoperator import MappedOperator
    from airflow.sdk.types import Operator


@dataclass(frozen=True)
class TaskFamily:
    """Shared defaults of a family of containerized tasks."""

    image: str
    command: Sequence[str]
    size: str = "small"
    secrets: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    team: str | None = None
    expected_duration: timedelta | None = None
    """How long each task of the family usually runs (see AirkubePodOperator); a task may override it."""
    operator_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Any other AirkubePodOperator / BaseOperator argument shared by the family."""

    def operator_arguments(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The AirkubePodOperator arguments of one task of the family: the shared values, then
        `overrides` (also how ``@airkube.task(family=...)`` starts from a family)."""
        base = {
            "image": self.image,
            "command": list(self.command),
            "size": self.size,
            "secrets": list(self.secrets),
            "env": dict(self.env),
            **({"team": self.team} if self.team is not None else {}),
            **({"expected_duration": self.expected_duration} if self.expected_duration is not None else {}),
            **self.operator_kwargs,
        }
        return {**base, **overrides}

    def task(
        self,
        task_id: str,
        *,
        arguments: Sequence[str] = (),
        inputs: Sequence[Operator] = (),
        **overrides: Any,
    ) -> AirkubePodOperator:
        """One task of the family; `inputs` are the upstream tasks whose outputs it reads."""
        return AirkubePodOperator(
            task_id=task_id,
            arguments=list(arguments),
            inputs=list(inputs),
            **self.operator_arguments(overrides),
        )

    def chain(
        self,
        steps: Sequence[tuple[str, Sequence[str]]],
        *,
        inputs: Sequence[Operator] = (),
        **overrides: Any,
    ) -> list[AirkubePodOperator]:
        """A linear pipeline: each (task_id, arguments) step reads the output of the one before it;
        the first step reads `inputs`."""
        tasks: list[AirkubePodOperator] = []
        for task_id, arguments in steps:
            previous = [tasks[-1]] if tasks else list(inputs)
            tasks.append(self.task(task_id, arguments=arguments, inputs=previous, **overrides))
        return tasks

    def map(
        self,
        task_id: str,
        *,
        inputs: Sequence[Operator] = (),
        expand: Mapping[str, Any] | None = None,
        expand_from: Operator | XComArg | None = None,
        arguments: Callable[[Any], Sequence[str]] | None = None,
        **overrides: Any,
    ) -> MappedOperator:
        """A dynamically mapped task (one instance per value), reading `inputs`.

        Map over values written in the DAG file with ``expand={"arguments": [[...], ...]}``, or over
        what an upstream task found at run time with ``expand_from=<task>``: one instance per item of
        that task's result (its XCom), whose arguments are ``arguments(item)`` (or the item itself,
        when each item is already a list of arguments). Values from a result are checked when each
        instance starts, with the same errors as at parse time; such an error fails the instance
        without a retry.

        Each instance writes its own sub-partition (`map_index=N`); a downstream task that takes
        the mapped task as input reads those of the run's instances, all of them and no others: a
        rerun with fewer instances replaces the partition (see `airkube.contract`).
        """
        ref = _task_ref(task_id, overrides)
        if (expand is None) == (expand_from is None):
            raise AirkubeDagError(
                *ref, "expand", "give exactly one of expand= (literal values) or expand_from="
            )
        if expand_from is not None:
            expand = {"arguments": _arguments_from(ref, expand_from, arguments)}
            overrides.setdefault("map_index_template", "{{ task.arguments | join(' ') }}")
        elif arguments is not None:
            raise AirkubeDagError(*ref, "arguments", "a function of each item goes with expand_from=")
        partial = AirkubePodOperator.partial(
            task_id=task_id, inputs=[item.task_id for item in inputs], **self.operator_arguments(overrides)
        )
        mapped = partial.expand(**expand)
        if inputs:
            mapped.set_upstream(list(inputs))
        return mapped


def _arguments_from(
    ref: tuple[str | None, str],
    upstream: Operator | XComArg,
    arguments: Callable[[Any], Sequence[str]] | None,
) -> XComArg:
    """The upstream task's result, each item turned into an instance's arguments at run time."""
    result = upstream if isinstance(upstream, XComArg) else getattr(upstream, "output", None)
    if not isinstance(result, XComArg):
        raise AirkubeDagError(*ref, "expand_from", f"{upstream!r} is not a task")
    if arguments is None:
        return result
    if not callable(arguments):
        raise AirkubeDagError(*ref, "arguments", "with expand_from=, a function of each result item")

    def instance_arguments(item: Any) -> Any:
        try:
            return arguments(item)
        except Exception as err:
            raise AirkubeDagError(
                *ref, "arguments", f"cannot make arguments of result item {item!r}: {err!r}"
            ) from err

    return result.map(instance_arguments)


TaskTemplate = TaskFamily
"""TaskFamily's former name, kept for the DAGs that use it."""
