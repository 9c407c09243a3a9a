"""airkube: containerized, idempotent Airflow tasks with the platform's defaults.

DAG authors import from here; the submodules are implementation detail.
"""

from __future__ import annotations

__version__ = "0.1.0"

from airkube.alerts.overrun import overrun_deadline
from airkube.alerts.streaks import alert_params
from airkube.errors import AirkubeDagError
from airkube.families import TaskFamily, TaskTemplate
from airkube.pod_operator import AirkubePodOperator, output_asset
from airkube.resources import SIZES

__all__ = [
    "SIZES",
    "AirkubeDagError",
    "AirkubePodOperator",
    "TaskFamily",
    "TaskTemplate",
    "__version__",
    "alert_params",
    "output_asset",
    "overrun_deadline",
    "task",
]


def __getattr__(name: str) -> object:
    """``airkube.task`` (the decorator) is imported on first use, so DAG files that do not use it
    do not pay for Airflow's decorator machinery at parse time."""
    if name == "task":
        from airkube.decorator import task

        return task
    raise AttributeError(f"module 'airkube' has no attribute {name!r}")
