"""A whole local platform for the end-to-end tests: PostgreSQL, PgBouncer and Airflow's four
components on free ports, started once for the module that asks for it and stopped afterwards."""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from airkube_dev.api import AirflowApi
from airkube_dev.layout import Layout, Ports
from airkube_dev.platform import Platform
from airkube_dev.processes import free_port
from e2e_support import RunningPlatform
from paths import REPO

FAILING_DAG = """
    from datetime import timedelta

    import pendulum
    from airflow.sdk import DAG, CronDataIntervalTimetable

    from airkube import TaskTemplate

    # Retried quickly so the test sees every try; the platform minimum of 2 retries stays.
    quick = {"retry_delay": timedelta(seconds=1), "retry_exponential_backoff": 0}
    pipeline = TaskTemplate(image="pipeline", command=["airkube-pipeline"], operator_kwargs=quick)

    with DAG(
        dag_id="e2e_failing",
        description="A data-quality gate that cannot pass: validate with --max-invalid-ratio 0.",
        schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["test"],
        default_args={"owner": "data-eng"},
    ):
        extract = pipeline.task("extract", arguments=["extract", "--source", "orders"])
        strict = pipeline.task(
            "validate_strict", arguments=["validate", "--max-invalid-ratio", "0"], inputs=[extract], retries=2
        )
        pipeline.task("clean", arguments=["clean"], inputs=[strict])
"""


@pytest.fixture(scope="module")
def running_platform() -> Iterator[RunningPlatform]:
    root = Path(tempfile.mkdtemp(prefix="airkube-e2e-"))
    root.chmod(0o755)  # PostgreSQL runs as an unprivileged user when the tests run as root
    dags = root / "dags"
    dags.mkdir()
    for dag_file in (REPO / "dags").glob("*.py"):
        shutil.copy(dag_file, dags / dag_file.name)
    (dags / "e2e_failing.py").write_text(textwrap.dedent(FAILING_DAG))
    platform = Platform(Layout(root / "state"), dags_folder=dags)
    try:
        platform.up(Ports(postgres=free_port(), pgbouncer=free_port(), api=free_port()))
        yield RunningPlatform(platform, AirflowApi(platform.api_url(), *platform.login()))
    finally:
        platform.down()
        shutil.rmtree(root, ignore_errors=True)
