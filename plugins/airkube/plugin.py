"""Registers airkube with Airflow, through the package's `airflow.plugins` entry point (pyproject.toml),
so the plugin comes with the installed library: in the Airflow image as in the dev venv.

Loading it makes every Airflow process that loads plugins import the library once: with
`[core] lazy_load_plugins = False` the scheduler does so at start-up, and the LocalExecutor's
workers and their task processes, forked from it, inherit KubernetesPodOperator and airkube instead
of importing them again for every task (about 0.85 s of CPU each; see bench/platform_run.py).
"""

from __future__ import annotations

from typing import ClassVar

from airflow.plugins_manager import AirflowPlugin

import airkube
from airkube.alerts import metrics, streaks


class AirkubePlugin(AirflowPlugin):
    """The platform's plugin: per-task DogStatsD metrics, failure streaks and recoveries."""

    name = "airkube"
    version = airkube.__version__
    listeners: ClassVar[list] = [metrics, streaks]
