"""worker_footprint_sync / worker_footprint_deferrable: 4 waiting tasks, for bench/worker_footprint.py.

Each task is an AirkubePodOperator whose container only sleeps, so its KubernetesExecutor worker pod
does nothing but wait on it: what that worker pod costs while waiting is the figure being measured.
The two DAGs differ only in `deferrable`: the sync one keeps its worker pod for the whole wait, the
deferrable one hands the wait to the triggerer and resumes in a second worker pod. The 4 tasks run at
once (no dependencies), as many pods as a busy slice of the nightly DAG. No schedule: runs only when
the benchmark triggers one, with a data interval (AirkubePodOperator needs one).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airkube import TaskFamily

TASKS = 4
SLEEP_SECONDS = 60

# The task image's own `sleep` (coreutils in the pipeline image): a container that takes time, does nothing.
sleeper = TaskFamily(image="pipeline", command=["sleep"], size="small")

for deferrable in (False, True):
    with DAG(
        dag_id=f"worker_footprint_{'deferrable' if deferrable else 'sync'}",
        description=f"Benchmark: {TASKS} tasks sleeping {SLEEP_SECONDS}s, deferrable={deferrable}.",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["benchmark"],
        default_args={"owner": "data-eng"},
    ):
        for index in range(1, TASKS + 1):
            sleeper.task(f"wait_{index}", arguments=[str(SLEEP_SECONDS)], deferrable=deferrable)
