"""A small client of Airflow 3's REST API (/api/v2), as the UI and scripts use it."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pendulum

from airkube_dev.errors import PlatformError

FINISHED = {"success", "failed"}
PAGE = 100  # the API's maximum page size by default


@dataclass
class RunProgress:
    state: str
    task_states: Counter[str]
    total: int


class AirflowApi:
    """Authenticated with a JWT from the auth manager's /auth/token (FAB's, as in production)."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        token = httpx.post(
            f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        if token.status_code != 201:
            raise PlatformError(f"login to {base_url} failed: HTTP {token.status_code} {token.text[:200]}")
        self.client = httpx.Client(
            base_url=f"{base_url}/api/v2",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=30,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        if response.status_code >= 400:
            raise PlatformError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a read (GET) that times out is tried again, twice: a busy api-server is slow,
        not wrong, and reading twice changes nothing."""
        for attempt in range(3):
            try:
                return self.client.request(method, path, **kwargs)
            except httpx.TimeoutException:
                if method != "GET" or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def wait_for_dag(self, dag_id: str, timeout: float = 180.0) -> None:
        """Until the dag-processor has parsed `dag_id` (a new file takes one refresh interval)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.client.get(f"/dags/{dag_id}")
            if response.status_code == 200:
                return
            time.sleep(2)
        raise PlatformError(
            f"DAG {dag_id} did not appear within {timeout:.0f}s; check logs/dag-processor.log"
        )

    def dag(self, dag_id: str) -> dict[str, Any]:
        """The DAG as the REST API shows it (is_paused, next_dagrun_data_interval_start, ...)."""
        return self._call("GET", f"/dags/{dag_id}")

    def unpause(self, dag_id: str) -> None:
        """The UI's pause toggle: the chart keeps new DAGs paused (dags_are_paused_at_creation)."""
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def import_errors(self) -> list[dict]:
        return self._call("GET", "/importErrors")["import_errors"]

    def trigger(self, dag_id: str, interval_start: pendulum.DateTime, interval_end: pendulum.DateTime) -> str:
        """A manual run for exactly [interval_start, interval_end); returns its run id."""
        stamp = pendulum.now("UTC").format("YYYYMMDDTHHmmss")
        run = self._call(
            "POST",
            f"/dags/{dag_id}/dagRuns",
            json={
                "dag_run_id": f"manual__{interval_start.isoformat()}__{stamp}",
                "logical_date": interval_start.isoformat(),
                "data_interval_start": interval_start.isoformat(),
                "data_interval_end": interval_end.isoformat(),
            },
        )
        return run["dag_run_id"]

    def progress(self, dag_id: str, run_id: str) -> RunProgress:
        run = self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        instances = self.task_instances(dag_id, run_id)
        states = Counter(ti["state"] or "none" for ti in instances)
        return RunProgress(state=run["state"], task_states=states, total=len(instances))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every task instance of a run (the API pages at most 100 at a time)."""
        instances: list[dict] = []
        while True:
            page = self._call(
                "GET",
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                params={"limit": PAGE, "offset": len(instances)},
            )
            instances.extend(page["task_instances"])
            if len(instances) >= page["total_entries"] or not page["task_instances"]:
                return instances

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float, on_progress=None) -> RunProgress:
        deadline = time.monotonic() + timeout
        while True:
            progress = self.progress(dag_id, run_id)
            if on_progress:
                on_progress(progress)
            if progress.state in FINISHED:
                return progress
            if time.monotonic() > deadline:
                raise PlatformError(f"run {run_id} of {dag_id} still {progress.state} after {timeout:.0f}s")
            time.sleep(3)

    def clear_run(self, dag_id: str, run_id: str) -> None:
        """Clear every task of a finished run, so the scheduler runs it again (the UI's Clear)."""
        self._call("POST", f"/dags/{dag_id}/dagRuns/{run_id}/clear", json={"dry_run": False})

    def backfill(self, dag_id: str, from_date: pendulum.DateTime, to_date: pendulum.DateTime) -> int:
        backfill = self._call(
            "POST",
            "/backfills",
            json={"dag_id": dag_id, "from_date": from_date.isoformat(), "to_date": to_date.isoformat()},
        )
        return backfill["id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def wait_for_runs(self, dag_id: str, run_type: str, count: int, timeout: float) -> list[dict]:
        """Until at least `count` runs of `run_type` (e.g. a backfill's) exist and all have finished;
        those runs."""
        deadline = time.monotonic() + timeout
        while True:
            runs = [run for run in self.runs(dag_id) if run["run_type"] == run_type]
            if len(runs) >= count and all(run["state"] in FINISHED for run in runs):
                return runs
            if time.monotonic() > deadline:
                states = sorted(run["state"] for run in runs)
                raise PlatformError(
                    f"{dag_id}: {count} {run_type} runs not finished after {timeout:.0f}s: {states}"
                )
            time.sleep(2)

    def dags(self) -> list[dict]:
        """Every DAG the REST API lists (the DAG list page's content)."""
        return self._call("GET", "/dags", params={"limit": PAGE})["dags"]

    def tasks(self, dag_id: str) -> list[dict]:
        """The DAG's tasks, task group members by their full id (`group.task`)."""
        return self._call("GET", f"/dags/{dag_id}/tasks")["tasks"]

    def result(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        """A task instance's result: its XCom return_value, as the UI's XCom tab shows it."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        return self._call("GET", path, params={"map_index": map_index, "deserialize": True})["value"]

    def assets(self, uri_pattern: str) -> list[dict]:
        """The assets whose URI contains `uri_pattern`, with their producing and consuming tasks."""
        return self._call("GET", "/assets", params={"uri_pattern": uri_pattern, "limit": PAGE})["assets"]

    def asset_events(self, **filters: str) -> list[dict]:
        """Asset events, e.g. of one run: asset_events(source_dag_id=..., source_run_id=...)."""
        return self._call("GET", "/assets/events", params={**filters, "limit": PAGE})["asset_events"]

    def upstream_asset_events(self, dag_id: str, run_id: str) -> list[dict]:
        """The asset events that triggered a run (an asset-scheduled DAG's)."""
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents")["asset_events"]
