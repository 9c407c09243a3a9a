"""Reusable task templates: a family of tasks declared once, so DAGs carry no boilerplate.

A template holds what a family of tasks shares (image, command, size, secrets, team, any operator
argument); a DAG then states only what differs: the task id, the arguments and the inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airkube.pod_operator import AirkubePodOperator

if TYPE_CHECKING:
    from airflow.sdk.definitions.mappedoperator import MappedOperator
    from airflow.sdk.types import Operator


@dataclass(frozen=True)
class TaskTemplate:
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

    def _kwargs(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
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
            task_id=task_id, arguments=list(arguments), inputs=list(inputs), **self._kwargs(overrides)
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
        expand: Mapping[str, Any],
        **overrides: Any,
    ) -> MappedOperator:
        """A dynamically mapped task (one instance per expanded value), reading `inputs`.

        Each instance writes its own sub-partition (`map_index=N`); a downstream task that takes
        the mapped task as input reads those of the run's instances, all of them and no others: a
        rerun with fewer instances replaces the partition (see `airkube.contract`).
        """
        partial = AirkubePodOperator.partial(
            task_id=task_id, inputs=[item.task_id for item in inputs], **self._kwargs(overrides)
        )
        mapped = partial.expand(**expand)
        if inputs:
            mapped.set_upstream(list(inputs))
        return mapped
