"""The one error type a DAG author sees from airkube."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow.sdk.exceptions import AirflowFailException


class AirkubeDagError(AirflowFailException, ValueError):
    """A task definition that airkube refuses, naming the DAG, the task and the offending field.

    Raised while the DAG file is parsed, so the mistake shows up as an import error in the UI and
    in the DAG integrity tests instead of as a failed pod at 3 a.m. A value known only at run time
    (a mapped task's values from an upstream task's result, the argv a decorated function returns,
    a task's result) gets the same error then; it is an AirflowFailException, so the task fails at
    once instead of retrying what cannot succeed.
    """

    def __init__(self, dag_id: str | None, task_id: str, field: str, problem: str) -> None:
        self.dag_id = dag_id or "<no DAG>"
        self.task_id = task_id
        self.field = field
        self.problem = problem
        super().__init__(f"DAG '{self.dag_id}', task '{task_id}', field '{field}': {problem}")


class FieldError(ValueError):
    """One bad field, from a check that does not know which task it checks (airkube.validation,
    airkube.images, airkube.resources); `task_errors` names the DAG and the task."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


@contextmanager
def task_errors(dag_id: str | None, task_id: str) -> Iterator[None]:
    """Turn a FieldError raised inside into the AirkubeDagError of this task: the one translation."""
    try:
        yield
    except FieldError as err:
        raise AirkubeDagError(dag_id, task_id, err.field, err.problem) from err
