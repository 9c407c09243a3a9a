"""The environment every local Airflow component runs with: configuration, not code.

Only `AIRFLOW__*` and `AIRKUBE_*` variables differ from the production chart's; everything here is
an Airflow configuration option, documented at airflow.apache.org (configurations-ref).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from airkube_dev import production_guards
from airkube_dev.layout import Layout, State

ADMIN_USER = "admin"
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
# LocalExecutor starts one worker process (about 130 MB) per slot; tasks here are local processes
# that mostly use CPU, so a few more slots than the 2 cores keeps both busy while others start up.
DEFAULT_PARALLELISM = 4


def airflow_env(
    layout: Layout,
    state: State,
    *,
    sql_alchemy_conn: str,
    dags_folder: Path,
    plugins_folder: Path,
    parallelism: int = DEFAULT_PARALLELISM,
    schedules: bool = True,
) -> dict[str, str]:
    """Variables for `airflow api-server|scheduler|dag-processor|triggerer|db ...`."""
    api = f"http://127.0.0.1:{state.ports.api}"
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")}
    return {
        **keep,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), keep.get("PATH", "")]),
        "AIRFLOW_HOME": str(layout.airflow_home),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__FERNET_KEY": state.secrets.fernet_key,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        # The auth manager production runs (the chart's default): users and roles in the metadata DB.
        "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
        # As in production (the chart's defaults): DAGs arrive paused, and an unpaused one runs by its
        # timetable and by the assets it is scheduled on (use_job_schedule covers both). Without
        # `schedules`, nothing runs by itself: DAGs arrive unpaused and runs start only when triggered.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(schedules),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(schedules),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "15",
        # Load plugins (airkube's, plugins/airkube/plugin.py, imports KubernetesPodOperator) when each
        # component starts: task processes, forked from the scheduler's workers, then inherit them
        # instead of importing them again per task (measured: 0.85 s of CPU per task).
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
        # The task supervisor notices its task's exit only at its next wake-up, at most this many
        # seconds apart; the 5 s default left each LocalExecutor slot idle for up to 5 s per task
        # (measured: 201 tasks in 147-162 s with 5, see the note on issue 3).
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        # A fault costs seconds here, not minutes (tests/faults); production keeps Airflow's defaults,
        # in brackets, which the chart does not change. A scheduler that stops heartbeating for 30 s
        # (the default, kept: a live scheduler stalls for up to about 20 s while PgBouncer reconnects
        # to a restarted PostgreSQL, server_login_retry being 15 s, and a shorter threshold declares it
        # dead and resets the tasks it is running) is dead to the other, which resets the queued and
        # running tasks it held within 5 s [300] (LocalExecutor cannot adopt them; KubernetesExecutor
        # adopts their pods).
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",  # [5]
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "5",  # [300]
        # A task whose heartbeats stop (its supervising process died) is failed after 60 s [300],
        # looked for every 5 s [10]. A task rides out an api-server restart with production's
        # `[workers] max_failed_heartbeats` (3): tests/faults restarts it under a 40 s task.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",  # [300]
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",  # [10]
        # Production's own value (helm/values.yaml): a task's API calls ride out a database restart.
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": str(production_guards.execution_api_retries()),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
        "AIRFLOW__API__PORT": str(state.ports.api),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": state.secrets.api_secret_key,
        "AIRFLOW__API_AUTH__JWT_SECRET": state.secrets.jwt_secret,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(layout.airflow_home / "logs"),
        "AIRKUBE_RUNNER": "local",
        "AIRKUBE_DATA_URL": f"file://{layout.data_dir}",
        "AIRKUBE_ENV": "dev",
    }
