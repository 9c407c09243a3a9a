"""The alert outbox: alerts decided inside the scheduler's transaction, sent only after it commits.

The dag-run listener runs inside the scheduler's (or the api-server's) open transaction, which may still
roll back. So it does not send: `enqueue` inserts the alert into the `airkube_alert_outbox` table of the
metadata database, in that same transaction, inside a SAVEPOINT, so that an error of ours (a query, a
missing table) rolls back to the savepoint and never aborts the caller's transaction. A rolled-back
transaction leaves no row, so no alert; a committed one leaves a row, which survives the scheduler being
stopped or killed.

`send_next` sends committed rows, one per transaction of its own: it claims the oldest row with
`SELECT ... FOR UPDATE SKIP LOCKED` (two schedulers never claim the same row), sends it
(airkube.alerts.alert.send, bounded by the alert timeout), and deletes it in the same transaction. A
sender killed mid-send leaves its row unclaimed and undeleted: the next sender sends it (at least once;
a kill between the send and the commit can repeat one alert, never lose one). airkube.alerts.drainer
runs it in the scheduler.

The table is airkube's, outside Airflow's migrations: `ensure_table` creates it when missing
(`CREATE TABLE` only if absent; SQLAlchemy's checkfirst), run by the drainer at start and before each
insert, in the caller's connection, so it works the same on PostgreSQL (the platform) and SQLite
(`dag.test()`), and on a database where no scheduler has run yet. It holds rows only between a commit
and the next drain, so it needs no migration of its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, Text, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from airkube.alerts.alert import Alert, send

log = logging.getLogger(__name__)

OUTBOX = Table(
    "airkube_alert_outbox",
    MetaData(),  # airkube's own, not Airflow's: Airflow's migrations and `db reset` never see it
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("alert", Text, nullable=False),
)


def ensure_table(connection: Connection) -> None:
    """Create the outbox table if it does not exist, in `connection`'s transaction."""
    OUTBOX.create(connection, checkfirst=True)


def enqueue(session: Session, decide: Callable[[], Alert | None]) -> Alert | None:
    """Run `decide` (which may read in `session`) and queue the alert it returns, in `session`'s
    transaction, without committing it. Never raises: all of it runs in a SAVEPOINT, rolled back on
    any error, so the caller's transaction carries on as if nothing had been tried.

    The savepoint is the connection's, not the Session's: the scheduler guards its session against any
    commit (airflow.utils.sqlalchemy.prohibit_commit, "UNEXPECTED COMMIT"), and releasing a Session
    savepoint fires the Session's before_commit event. The caller's pending changes are flushed first,
    outside the savepoint (so that rolling it back cannot undo them, and `decide` reads them), and
    nothing is flushed inside it."""
    try:
        session.flush()
        connection = session.connection()
        with connection.begin_nested(), session.no_autoflush:
            alert = decide()
            if alert is not None:
                ensure_table(connection)
                connection.execute(
                    insert(OUTBOX).values(
                        queued_at=datetime.now(UTC), alert=json.dumps(alert.as_json(), sort_keys=True)
                    )
                )
        return alert
    except Exception:
        log.exception("airkube alert not queued; the caller's transaction goes on without it")
        return None


def send_next(session: Session) -> bool:
    """Send the oldest committed alert no other sender holds, and delete it; commit. False when there
    is none. `session` is the sender's own, not a caller's transaction."""
    row = session.execute(
        select(OUTBOX.c.id, OUTBOX.c.alert).order_by(OUTBOX.c.id).limit(1).with_for_update(skip_locked=True)
    ).first()
    if row is None:
        session.rollback()
        return False
    try:
        alert = Alert.from_json(json.loads(row.alert))
    except (TypeError, ValueError):  # not an alert this version can read: dropped, not retried forever
        log.exception("outbox row %s is not an alert; dropped", row.id)
    else:
        send(alert)  # never raises
    session.execute(delete(OUTBOX).where(OUTBOX.c.id == row.id))
    session.commit()
    return True


def drain(session: Session, *, limit: int = 1000) -> int:
    """Send every committed alert (at most `limit`, so a stop is never held up for long); how many."""
    sent = 0
    while sent < limit and send_next(session):
        sent += 1
    return sent
