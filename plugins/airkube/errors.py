"""The one error type a DAG author sees from airkube."""

from __future__ import annotations

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
