"""airkube: containerized, idempotent Airflow tasks with the platform's defaults.

DAG authors import from here; the submodules are implementation detail.
"""

from __future__ import annotations

__version__ = "0.1.0"

from airkube.alerts.overrun import overrun_deadline
from airkube.alerts.streaks import alert_params
from airkube.errors import AirkubeDagError
from airkube.pod_operator import AirkubePodOperator
from airkube.resources import SIZES
from airkube.templates import TaskTemplate

__all__ = [
    "SIZES",
    "AirkubeDagError",
    "AirkubePodOperator",
    "TaskTemplate",
    "__version__",
    "alert_params",
    "overrun_deadline",
]
