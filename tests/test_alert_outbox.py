"""The alert outbox (airkube.alerts.outbox, airkube.alerts.drainer) against a real PostgreSQL, the
platform's metadata database, and the unit tests' SQLite: alerts queued in a caller's transaction go out
after its commit, once, to real HTTP receivers standing in for Slack and Datadog; never after a rollback;
never twice from two drainers; still after a drainer is killed; and an error of ours never breaks the
caller's transaction. The drainer's lifecycle is driven by Airflow's own Job, as in a scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from airkube.alerts import drainer, outbox
from airkube.alerts.alert import Alert
from airkube_dev.database import ServiceUser
from receivers import HttpReceiver, alert_env
from throwaway_postgres import throwaway_postgres

SessionFactory = Callable[[], AbstractContextManager[Session]]


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL cluster (as an unprivileged user when run as root, as make dev does)."""
    folder = tmp_path_factory.mktemp("outbox-pg")
    with throwaway_postgres(folder, ServiceUser.for_current_process()) as cluster:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{cluster.port}/postgres"


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty outbox on PostgreSQL (the platform) and on SQLite (`dag.test()` in unit tests)."""
    if request.param == "postgresql":
        engine = create_engine(request.getfixturevalue("postgres_url"))
    else:
        engine = create_engine(f"sqlite:///{tmp_path / 'airflow.db'}")
    with engine.begin() as connection:
        outbox.ensure_table(connection)
        connection.execute(delete(outbox.OUTBOX))
        connection.execute(text("DROP TABLE IF EXISTS scheduler_work"))
        connection.execute(text("CREATE TABLE scheduler_work (step text)"))
    yield engine
    engine.dispose()


def _scheduler_changes_a_run(session: Session, step: str = "run failed") -> None:
    """What precedes the listener in the scheduler's transaction: a write (the run's new state)."""
    session.execute(text("INSERT INTO scheduler_work VALUES (:step)"), {"step": step})


def _scheduler_steps(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return connection.execute(text("SELECT step FROM scheduler_work ORDER BY step")).scalars().all()


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        outbox.ensure_table(connection)
        connection.execute(delete(outbox.OUTBOX))
    yield engine
    engine.dispose()


def sessions(engine: Engine) -> SessionFactory:
    """What the drainer opens per drain: a session of its own (Airflow's create_session, elsewhere)."""
    maker = sessionmaker(engine)

    @contextmanager
    def session() -> Iterator[Session]:
        with maker() as opened:
            yield opened

    return session


@pytest.fixture
def channels(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., HttpReceiver]]:
    """Slack's and Datadog's stand-ins, wired in as the platform wires them; returns Slack's."""
    started: list[HttpReceiver] = []

    def start(slack_delay: float = 0.0) -> HttpReceiver:
        slack, datadog = HttpReceiver(delay=slack_delay).__enter__(), HttpReceiver().__enter__()
        started.extend([slack, datadog])
        for name, value in alert_env(slack, datadog, _NoStatsd(), timeout_seconds=30).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AIRKUBE_DATA_URL", f"file://{tmp_path}/data")
        return slack

    yield start
    for receiver in started:
        receiver.__exit__()


class _NoStatsd:
    port = 9


def _alert(number: int = 1) -> Alert:
    return Alert.streak(
        "escalation", dag_id=f"nightly_{number}", run_id=f"scheduled__{number}", failed_runs=3
    )


def _queue(engine: Engine, *alerts: Alert) -> None:
    with Session(engine) as session:
        for alert in alerts:
            outbox.enqueue(session, lambda alert=alert: alert)
        session.commit()


def _rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(outbox.OUTBOX)).scalar_one()


def _texts(slack: HttpReceiver) -> list[str]:
    return [body["text"] for body in slack.posts_to("/services/")]


def test_an_alert_queued_in_a_transaction_that_rolls_back_is_never_sent(database, channels):
    slack = channels()
    with Session(database) as session:
        _scheduler_changes_a_run(session)
        assert outbox.enqueue(session, _alert) == _alert()
        session.rollback()  # the scheduler's transaction did not make it
    assert drainer.Drainer(sessions(database)).drain_once() == 0
    assert _rows(database) == 0 and slack.requests == [] and _scheduler_steps(database) == []


def test_a_committed_alert_is_sent_once_and_only_after_the_commit(database, channels):
    slack = channels()
    sender = drainer.Drainer(sessions(database))
    with Session(database) as session:
        _scheduler_changes_a_run(session)
        outbox.enqueue(session, _alert)
        if database.dialect.name == "postgresql":  # SQLite's single writer would wait for the commit
            assert sender.drain_once() == 0, "not before the caller's commit"
        session.commit()
    assert sender.drain_once() == 1
    assert sender.drain_once() == 0
    assert _texts(slack) == [":rotating_light: *nightly_1* has failed 3 runs in a row (latest: scheduled__1)"]
    assert _rows(database) == 0


def test_an_error_of_ours_cannot_break_the_callers_transaction(database):
    with Session(database) as session:
        _scheduler_changes_a_run(session, "before")

        def broken_read() -> Alert:
            session.execute(text("SELECT * FROM no_such_table"))  # aborts a transaction: ours only
            return _alert()

        def broken_code() -> Alert:
            raise RuntimeError("a bug in the listener")

        assert outbox.enqueue(session, broken_read) is None
        assert outbox.enqueue(session, broken_code) is None
        _scheduler_changes_a_run(session, "after")
        session.commit()
    assert _scheduler_steps(database) == ["after", "before"], "the scheduler's own rows commit"
    assert _rows(database) == 0


def test_queueing_passes_the_schedulers_commit_guard(database, channels):
    """The scheduler runs the listener inside Airflow's prohibit_commit, which fails any commit of the
    session it did not make itself, a released Session savepoint included."""
    from airflow.utils.sqlalchemy import prohibit_commit

    slack = channels()
    with Session(database) as session, prohibit_commit(session) as guard:
        _scheduler_changes_a_run(session)
        assert outbox.enqueue(session, _alert) == _alert()
        guard.commit()
    assert _scheduler_steps(database) == ["run failed"] and _rows(database) == 1
    assert drainer.Drainer(sessions(database)).drain_once() == 1 and len(_texts(slack)) == 1


def test_two_drainers_at_once_send_each_alert_once(postgres, channels):
    slack = channels(slack_delay=0.2)  # long enough for the two to overlap on every row
    _queue(postgres, *(_alert(number) for number in range(6)))
    drainers = [drainer.Drainer(sessions(postgres)) for _ in range(2)]
    counts: list[int] = []
    threads = [threading.Thread(target=lambda d=d: counts.append(d.drain_once())) for d in drainers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    texts = _texts(slack)
    assert sorted(texts) == sorted(set(texts)) and len(texts) == 6, texts
    assert sum(counts) == 6 and min(counts) >= 1, f"both drained, neither twice: {counts}"
    assert _rows(postgres) == 0


KILLED_SENDER = """
import sys
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from airkube.alerts import outbox
with Session(create_engine(sys.argv[1])) as session:
    outbox.send_next(session)
"""


def test_the_rows_of_a_killed_drainer_are_sent_by_the_next(postgres, postgres_url, channels):
    slack = channels(slack_delay=60)  # the first sender hangs in its send, holding its claim
    _queue(postgres, _alert())
    killed = subprocess.Popen([sys.executable, "-c", KILLED_SENDER, postgres_url], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while not slack.requests and time.monotonic() < deadline:
            assert killed.poll() is None, "the first sender ended before sending"
            time.sleep(0.1)
        assert len(slack.requests) == 1, "the first sender is sending"
        assert drainer.Drainer(sessions(postgres)).drain_once() == 0, "its claimed row is skipped"
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
    slack.delay = 0
    assert _rows(postgres) == 1, "a killed sender deleted nothing"
    assert drainer.Drainer(sessions(postgres)).drain_once() == 1
    assert len(_texts(slack)) == 2 and _rows(postgres) == 0


def test_a_scheduler_job_runs_one_drainer_which_sends_what_was_committed(airflow_db, channels):
    """Through Airflow's Job lifecycle (on_starting, before_stopping) and its own metadata database."""
    from airflow.jobs.job import Job, run_job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.listeners.listener import get_listener_manager

    assert get_listener_manager().pm.is_registered(drainer), "the airkube plugin registers the drainer"
    slack = channels()
    with drainer.airflow_session() as session:
        outbox.ensure_table(session.connection())
        session.execute(delete(outbox.OUTBOX))  # what earlier dag.test() runs queued
        outbox.enqueue(session, _alert)
    job = Job()
    assert len(drainer._drainers) == 1
    runner = SchedulerJobRunner(job=job)
    assert job.job_type == drainer.SCHEDULER_JOB_TYPE == runner.job_type

    def scheduler_loop() -> int:
        deadline = time.monotonic() + 30
        while not slack.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        return 0

    run_job(job, execute_callable=scheduler_loop)
    assert len(_texts(slack)) == 1
    assert drainer._drainers == {}, "stopped with the job"


def test_other_jobs_start_no_drainer(airflow_db, channels):
    from airflow.jobs.job import Job
    from airflow.jobs.triggerer_job_runner import TriggererJobRunner

    slack = channels()
    with drainer.airflow_session() as session:
        outbox.ensure_table(session.connection())
        session.execute(delete(outbox.OUTBOX))
        outbox.enqueue(session, _alert)
    job = Job()
    (started,) = drainer._drainers.values()
    TriggererJobRunner(job=job)
    deadline = time.monotonic() + 10
    while started.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not started.is_alive() and slack.requests == [], "only a scheduler drains"
    drainer.before_stopping(component=job)
    with drainer.airflow_session() as session:
        session.execute(delete(outbox.OUTBOX))
