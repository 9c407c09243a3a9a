"""airkube: containerized, idempotent Airflow tasks with the platform's defaults.

DAG authors import from here; the submodules are implementation detail.
"""

from __future__ import annotations

__version__ = "0.1.0"

from airkube.errors import AirkubeDagError
from airkube.pod_operator import AirkubePodOperator
from airkube.resources import SIZES
from airkube.templates import TaskTemplate

__all__ = ["SIZES", "AirkubeDagError", "AirkubePodOperator", "TaskTemplate", "__version__"]
