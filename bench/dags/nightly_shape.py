"""The shape of dags/high_priorities.py (its SOURCES and STEPS), for the benchmark's twin DAGs.

Read from the file, not imported: importing it would build the airkube DAG inside the benchmark's
measurement. Costs about 0.3 ms, 0.2% of a 201-task parse, which the baseline is charged with.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow.sdk import TaskGroup

AIRKUBE_DAG = Path(__file__).resolve().parents[2] / "dags" / "high_priorities.py"


def nightly_shape() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(SOURCES, STEPS) as dags/high_priorities.py defines them."""
    tree = ast.parse(AIRKUBE_DAG.read_text())
    found = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id in ("SOURCES", "STEPS")
    }
    return found["SOURCES"], found["STEPS"]


def build_source_chains(make_task: Callable[[str, str, list[str], list[str]], Any]) -> list[Any]:
    """In the open DAG, one TaskGroup per source holding the chain of STEPS, each step reading the
    one before it; returns the last task of every chain. `make_task(task_id, full_task_id,
    arguments, input_task_ids)` builds one task of the twin's operator."""
    sources, steps = nightly_shape()
    last_tasks = []
    for source in sources:
        with TaskGroup(group_id=source):
            previous = None
            for step in steps:
                arguments = [step, "--source", source] if step == "extract" else [step]
                inputs = [f"{source}.{previous.task_id.split('.')[-1]}"] if previous else []
                task = make_task(step, f"{source}.{step}", arguments, inputs)
                if previous:
                    previous >> task
                previous = task
        last_tasks.append(previous)
    return last_tasks
