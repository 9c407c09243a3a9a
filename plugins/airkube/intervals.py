"""The data interval of a run that has none: an asset-triggered run processes what was published.

Every airkube partition is keyed by its run's data interval, and Airflow gives an asset-triggered run
none. Each airkube task's asset event names the interval it wrote (``pod_operator`` sets the event's
extra), so a run triggered by such events processes that interval. Events of several intervals (the
producer published more than once before the consumer ran) are refused, naming them: one run, one
interval, never a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pendulum

from airkube.errors import AirkubeDagError

if TYPE_CHECKING:
    from airflow.sdk import Context

EXTRA_START = "data_interval_start"
EXTRA_END = "data_interval_end"


def published_interval(context: Context, dag_id: str, task_id: str) -> tuple[Any, Any] | None:
    """(start, end) named by the run's triggering asset events; None when no event names one."""
    events = context.get("triggering_asset_events") or {}
    named = {
        (event.extra[EXTRA_START], event.extra[EXTRA_END])
        for asset_events in events.values()
        for event in asset_events
        if EXTRA_START in (event.extra or {}) and EXTRA_END in (event.extra or {})
    }
    if not named:
        return None
    if len(named) > 1:
        starts = ", ".join(sorted(start for start, _ in named))
        raise AirkubeDagError(
            dag_id,
            task_id,
            "data_interval",
            f"this asset-triggered run consumed events of {len(named)} data intervals ({starts}); "
            "an airkube run processes one: trigger a run per interval instead",
        )
    ((start, end),) = named
    return pendulum.parse(start), pendulum.parse(end)
