"""One sender of the alert outbox per scheduler: a long-lived thread, started and stopped with the
scheduler through Airflow's lifecycle listener hooks.

Airflow calls `on_starting(component)` when a job is built (scheduler, triggerer, dag-processor: the
component is the `Job`; task processes pass a marker without a `job_type`) and `before_stopping` when
it completes. The job's type is set just after `on_starting`, by its runner (`SchedulerJobRunner`), so
the thread first waits for it and ends at once in anything but a scheduler. In a scheduler it sends
what is committed in the outbox (airkube.alerts.outbox) every `interval` seconds, rows left by a
scheduler that was killed included, and drains once more when the scheduler stops. Two schedulers each
run one: SKIP LOCKED keeps them from sending the same row.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from airflow.listeners import hookimpl
from sqlalchemy.orm import Session

from airkube.alerts import outbox

log = logging.getLogger(__name__)

SCHEDULER_JOB_TYPE = "SchedulerJob"
"""`SchedulerJobRunner.job_type`, which the runner gives its `Job` (tests/test_alert_outbox.py)."""
INTERVAL_SECONDS = 2.0
JOB_TYPE_WAIT_SECONDS = 60.0


def airflow_session() -> AbstractContextManager[Session]:
    """A session of its own on Airflow's metadata database, for the drainer's thread.

    airflow.utils.session is not part of Airflow's public interface, and there is no public way for a
    scheduler-side plugin to reach the metadata database outside a listener's session; the drainer's
    test on Airflow's own database (tests/test_alert_outbox.py) fails if it moves."""
    from airflow.utils.session import create_session

    return create_session(scoped=False)  # not the scheduler thread's scoped session


class Drainer:
    """Sends the outbox every `interval` seconds on a thread of its own, until stopped."""

    def __init__(
        self,
        session_factory: Callable[[], AbstractContextManager[Session]] = airflow_session,
        *,
        interval: float = INTERVAL_SECONDS,
        job_type: Callable[[], str | None] = lambda: SCHEDULER_JOB_TYPE,
    ) -> None:
        self.session_factory = session_factory
        self.interval = interval
        self.job_type = job_type
        self._stop = threading.Event()
        self._table_ready = False
        self._thread = threading.Thread(target=self._run, name="airkube-alert-outbox", daemon=True)

    def start(self) -> Drainer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after one last drain (bounded by `timeout`), so what the scheduler committed last goes out."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _is_scheduler(self) -> bool:
        deadline = time.monotonic() + JOB_TYPE_WAIT_SECONDS
        while (job_type := self.job_type()) is None and time.monotonic() < deadline:
            if self._stop.wait(0.05):
                return self.job_type() == SCHEDULER_JOB_TYPE
        return job_type == SCHEDULER_JOB_TYPE

    def drain_once(self) -> int:
        """Create the table if missing, then send every committed alert; never raises (logged)."""
        try:
            with self.session_factory() as session:
                if not self._table_ready:
                    outbox.ensure_table(session.connection())
                    session.commit()
                    self._table_ready = True
                return outbox.drain(session)
        except Exception:
            log.exception("airkube alert outbox not drained; trying again in %ss", self.interval)
            return 0

    def _run(self) -> None:
        if not self._is_scheduler():
            return
        while not self._stop.is_set():
            self.drain_once()
            self._stop.wait(self.interval)
        self.drain_once()


_drainers: dict[int, Drainer] = {}
"""The drainer of each running job in this process, by the job object's id."""


@hookimpl
def on_starting(component: Any) -> None:
    if not hasattr(component, "job_type"):  # a task process's marker, not a job
        return
    try:
        _drainers[id(component)] = Drainer(job_type=lambda: getattr(component, "job_type", None)).start()
    except Exception:  # never stop a component from starting: its rows wait for the next drainer
        log.exception("airkube alert outbox drainer not started")


@hookimpl
def before_stopping(component: Any) -> None:
    drainer = _drainers.pop(id(component), None)
    if drainer is not None:
        try:
            drainer.stop()
        except Exception:
            log.exception("airkube alert outbox drainer did not stop cleanly")
