"""A whole local platform for the end-to-end tests: PostgreSQL, PgBouncer and Airflow's four
components on free ports, started once for the module that asks for it and stopped afterwards."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest

from airkube_dev.sample_data import seed_source_registry
from e2e_support import RunningPlatform
from local_platforms import started_platform
from paths import REPO
from receivers import HttpReceiver, StatsdReceiver, alert_env, slack_connection

FAILING_DAG = """
    from datetime import timedelta

    import pendulum
    from airflow.sdk import DAG, CronDataIntervalTimetable

    from airkube import TaskFamily

    # Retried quickly so the test sees every try; the platform minimum of 2 retries stays.
    quick = {"retry_delay": timedelta(seconds=1), "retry_exponential_backoff": 0}
    pipeline = TaskFamily(image="pipeline", command=["airkube-pipeline"], operator_kwargs=quick)

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


ALERT_DAGS = {
    "e2e_flaky.py": """
        from datetime import timedelta

        import pendulum
        from airflow.sdk import DAG, CronDataIntervalTimetable

        from airkube import TaskFamily, alert_params

        quick = {"retry_delay": timedelta(seconds=1), "retry_exponential_backoff": 0}
        shell = TaskFamily(image="pipeline", command=["sh", "-c"], operator_kwargs=quick)

        with DAG(
            dag_id="e2e_flaky",
            description="Fails while the test's flag file says so: failure streaks and recovery.",
            schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
            start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
            catchup=False,
            max_active_runs=1,
            tags=["test"],
            default_args={"owner": "data-eng", "retries": 2},
            # The platform default is 3, and its default channel slack_alerts: the DAG's own must win.
            params=alert_params(escalate_after=2, slack_conn_id="slack_flaky_owners"),
        ):
            shell.task("maybe_fail", arguments=["exit $(cat FLAG_FILE)"])
    """,
    "e2e_slow.py": """
        from datetime import timedelta

        import pendulum
        from airflow.sdk import DAG, CronDataIntervalTimetable

        from airkube import TaskFamily, overrun_deadline

        shell = TaskFamily(image="pipeline", command=["sh", "-c"])

        with DAG(
            dag_id="e2e_slow",
            description="Expected to take 4 s, takes 20 s: one overrun alert while it runs.",
            schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
            start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
            catchup=False,
            tags=["test"],
            default_args={"owner": "data-eng"},
            deadline=overrun_deadline(timedelta(seconds=4)),
        ):
            shell.task("slow", arguments=["sleep 20"])
    """,
}


@pytest.fixture(scope="module")
def running_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    flag = tmp_path_factory.mktemp("e2e-flag") / "exit_code"
    flag.write_text("0")
    flag.parent.chmod(0o755)
    dag_files = {path.name: path.read_text() for path in (REPO / "dags").glob("*.py")}
    dag_files["e2e_failing.py"] = textwrap.dedent(FAILING_DAG)
    for name, source in ALERT_DAGS.items():
        dag_files[name] = textwrap.dedent(source).replace("FLAG_FILE", str(flag))
    with started_platform("airkube-e2e-", dag_files, env=platform_alert_env) as started:
        seed_source_registry(started.platform.layout.data_dir)  # what `make dev` registers
        yield RunningPlatform(
            started.platform,
            started.api,
            slack=started.slack,
            datadog=started.datadog,
            statsd=started.statsd,
            flag=flag,
        )


def platform_alert_env(slack: HttpReceiver, datadog: HttpReceiver, statsd: StatsdReceiver) -> dict[str, str]:
    """The receivers' wiring, plus the channel of e2e_flaky's owners (alert_params(slack_conn_id=...))."""
    owners = {"AIRFLOW_CONN_SLACK_FLAKY_OWNERS": slack_connection(slack, "OWNERS/B1/secret")}
    return {**alert_env(slack, datadog, statsd), **owners}
