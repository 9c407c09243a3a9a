"""What two pods per task cost: the same 20 tasks on LocalExecutor and on KubernetesExecutor.

Production runs every task as a KubernetesExecutor worker pod that runs KubernetesPodOperator, which
starts the task pod: two pods before the task's code runs. `make dev` runs tasks as local processes
instead, so its timings say nothing about that. This runs one run of bench/dags/nightly_slice.py
(4 sources x extract..publish of high_priorities, same TaskFamily and commands, at most 4 tasks at
once) on a LocalExecutor platform, then on the Kubernetes platform (tools/kube_standin: worker pods
are local processes, task pods podman containers of the task image), each started, used and
stopped here on free ports in a temp dir, one after the other. It prints side by side:

- wall time of the run: trigger -> the run's end_date (success), and the ratio k8s / local;
- per task, median and p95 of queued (TI queued_when) -> task code starting: on Kubernetes the task
  container running, on LocalExecutor the local runner's "Running command" log line; and the stages
  in between: queued -> TI start_date (executor + worker start), then -> task code; and task code
  exited -> TI end_date.

Pod times come from a watch on the stand-in's pods (this process's clock when each change arrived,
milliseconds after the stand-in's kubelet made it), not from containerStatuses' startedAt, which has
one-second resolution (kept in the JSON for reference). Both platforms and this script share one
clock. Figures also go to bench/results/k8s_overhead.json.

Takes about 6-10 minutes: two platform start-ups (1-2 minutes each) and two runs. Needs
`make images-local` and `make kube-tools`. Configuration differs only where noted: LocalExecutor runs
with the local platform's parallelism of 4, Kubernetes with the chart's (the DAG never has more than
4 tasks ready at once, so neither limit binds); and both platforms run only the measured run (the
local one with `schedules=False`, the Kubernetes one with `[scheduler] use_job_schedule = False`),
because with production's scheduling unpausing the DAG starts a scheduled run at once, and under
max_active_runs=1 the measured run would queue behind it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pendulum
from pod_watch import PodTimes, PodWatcher, stamp

from airkube_dev.api import AirflowApi
from airkube_dev.k8s_platform import KubernetesPlatform
from airkube_dev.layout import Layout, Ports
from airkube_dev.platform import Platform
from airkube_dev.processes import free_port

# As `make dev` has it (airflow_env.py); the chart leaves Airflow's default, True.
NO_JOB_SCHEDULE = {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}

REPO = Path(__file__).resolve().parents[1]
SLICE_DAG = REPO / "bench" / "dags" / "nightly_slice.py"
SHAPE_MODULE = REPO / "bench" / "dags" / "nightly_shape.py"
DAG_ID = "nightly_slice"
TASKS = 20
RUN_TIMEOUT = 1800
DAY = pendulum.datetime(2026, 10, 1, tz="UTC")
RESULTS = REPO / "bench" / "results" / "k8s_overhead.json"


@dataclass
class TaskTimes:
    """One task instance, epoch seconds."""

    task_id: str
    try_number: int
    queued: float
    start: float
    end: float
    code_start: float | None = None  # the task container running, or the local command starting
    code_exit: float | None = None
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Result:
    executor: str
    startup_seconds: float
    wall_seconds: float
    tasks: list[TaskTimes]


def local_command_times(log_folder: Path, run_id: str, task_id: str, try_number: int) -> tuple[float, float]:
    """When the local runner's command started and exited, from the task's log (JSON lines)."""
    path = (
        log_folder
        / f"dag_id={DAG_ID}"
        / f"run_id={run_id}"
        / f"task_id={task_id}"
        / f"attempt={try_number}.log"
    )
    start = exit_ = None
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        event = str(record.get("event", ""))
        if event.startswith("Running command:"):
            start = stamp(record["timestamp"])
        elif event.startswith("Command exited with return code"):
            exit_ = stamp(record["timestamp"])
    if start is None or exit_ is None:
        raise SystemExit(f"no 'Running command' / 'Command exited' line in {path}")
    return start, exit_


def run_once(
    executor: str, make_platform: Callable[[Path, Path], Platform], ports: Callable[[], Ports]
) -> Result:
    """Start a platform of its own, run the slice once, collect every task's times, stop it."""
    root = Path(tempfile.mkdtemp(prefix=f"airkube-bench-{executor}-"))
    root.chmod(0o755)  # PostgreSQL runs as an unprivileged user, task containers as uid 10001
    dags = root / "dags"
    dags.mkdir()
    for dag_file in (
        SLICE_DAG,
        SHAPE_MODULE,
    ):  # linked: nightly_shape finds high_priorities from its own path
        (dags / dag_file.name).symlink_to(dag_file)
    platform = make_platform(root / "state", dags)
    watcher: PodWatcher | None = None
    try:
        print(f"{executor}: starting the platform in {root}", flush=True)
        started = time.monotonic()
        platform.up(ports())
        startup = time.monotonic() - started
        api = AirflowApi(platform.api_url(), *platform.login())
        api.wait_for_dag(DAG_ID)
        api.unpause(DAG_ID)
        if isinstance(platform, KubernetesPlatform):
            watcher = PodWatcher(platform.kubeconfig)
            watcher.start()
        print(f"{executor}: up in {startup:.0f}s; running {DAG_ID}", flush=True)
        triggered = time.time()
        run_id = api.trigger(DAG_ID, DAY, DAY.add(days=1))
        progress = api.wait_for_run(DAG_ID, run_id, RUN_TIMEOUT)
        if progress.state != "success":
            raise SystemExit(f"{executor}: run {run_id} ended {progress.state}: {dict(progress.task_states)}")
        runs = {r["dag_run_id"]: r for r in api.runs(DAG_ID)}
        if list(runs) != [run_id]:
            raise SystemExit(
                f"{executor}: other runs shared the platform with the measured one: {list(runs)}"
            )
        wall = stamp(runs[run_id]["end_date"]) - triggered
        instances = api.task_instances(DAG_ID, run_id)
        pods = watcher.stop() if watcher else {}
        watcher = None
        tasks = []
        for ti in instances:
            times = TaskTimes(
                ti["task_id"],
                ti["try_number"],
                stamp(ti["queued_when"]),
                stamp(ti["start_date"]),
                stamp(ti["end_date"]),
            )
            if isinstance(platform, KubernetesPlatform):
                attach_pods(times, run_id, pods.values())
            else:
                log_folder = platform.layout.airflow_home / "logs"
                times.code_start, times.code_exit = local_command_times(
                    log_folder, run_id, ti["task_id"], ti["try_number"]
                )
            tasks.append(times)
        if len(tasks) != TASKS:
            raise SystemExit(f"{executor}: expected {TASKS} task instances, got {len(tasks)}")
        print(f"{executor}: run took {wall:.1f}s", flush=True)
        return Result(executor, startup, wall, tasks)
    finally:
        if watcher is not None:
            watcher.stopping.set()
        platform.down()
        shutil.rmtree(root, ignore_errors=True)


def attach_pods(times: TaskTimes, run_id: str, pods: Iterable[PodTimes]) -> None:
    """The worker pod and task pod of this try, found by their labels."""
    from airflow.providers.cncf.kubernetes.pod_generator import make_safe_label_value

    key = (make_safe_label_value(run_id), make_safe_label_value(times.task_id), str(times.try_number))
    for pod in pods:
        if (pod.run_id, pod.task_id, pod.try_number) == key:
            if pod.kind in times.pods:
                raise SystemExit(f"two {pod.kind} pods for {times.task_id} try {times.try_number}")
            times.pods[pod.kind] = asdict(pod)
    missing = {"worker", "task"} - set(times.pods)
    if missing:
        raise SystemExit(f"the watch saw no {', '.join(sorted(missing))} pod for {times.task_id}")
    task_pod = times.pods["task"]
    if task_pod["running"] is None or task_pod["exited"] is None:
        raise SystemExit(f"the watch missed the task container of {times.task_id} starting or exiting")
    times.code_start, times.code_exit = task_pod["running"], task_pod["exited"]


# Stages of a task: (label, function of TaskTimes giving seconds, or None where it does not apply).
Stage = tuple[str, Callable[[TaskTimes], float | None]]
STAGES: list[Stage] = [
    ("queued -> TI start (executor, worker)", lambda t: t.start - t.queued),
    ("TI start -> task code", lambda t: t.code_start - t.start),
    ("queued -> task code starting", lambda t: t.code_start - t.queued),
    ("task code exited -> TI end", lambda t: t.end - t.code_exit),
    ("TI start -> TI end", lambda t: t.end - t.start),
]
K8S_STAGES: list[Stage] = [
    ("  queued -> worker pod created", lambda t: t.pods["worker"]["created"] - t.queued),
    (
        "  worker created -> its process running",
        lambda t: t.pods["worker"]["running"] - t.pods["worker"]["created"],
    ),
    ("  worker running -> TI start", lambda t: t.start - t.pods["worker"]["running"]),
    ("  TI start -> task pod created", lambda t: t.pods["task"]["created"] - t.start),
    (
        "  task pod created -> container running",
        lambda t: t.pods["task"]["running"] - t.pods["task"]["created"],
    ),
]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def summary(result: Result, stage: Stage) -> dict[str, float]:
    values = [stage[1](t) for t in result.tasks]
    return {"median": statistics.median(values), "p95": p95(values)}


def report(local: Result, k8s: Result) -> dict[str, Any]:
    ratio = k8s.wall_seconds / local.wall_seconds
    print(f"\n{DAG_ID}: {TASKS} tasks (4 chains of 5), one run each; seconds")
    print(f"{'':44} {'LocalExecutor':>17} {'Kubernetes':>17} {'k8s/local':>10}")
    print(f"{'platform start-up':44} {local.startup_seconds:17.1f} {k8s.startup_seconds:17.1f}")
    print(
        f"{'wall time, trigger -> success':44} {local.wall_seconds:17.1f} {k8s.wall_seconds:17.1f} "
        f"{ratio:10.2f}"
    )
    print(f"{'per task':44} {'median':>8} {'p95':>8} {'median':>8} {'p95':>8} {'median':>10}")
    figures: dict[str, Any] = {}
    for stage in STAGES:
        mine, theirs = summary(local, stage), summary(k8s, stage)
        figures[stage[0]] = {"local": mine, "kubernetes": theirs}
        scale = f"{theirs['median'] / mine['median']:10.2f}" if mine["median"] > 0.05 else ""
        print(
            f"{stage[0]:44} {mine['median']:8.2f} {mine['p95']:8.2f} "
            f"{theirs['median']:8.2f} {theirs['p95']:8.2f} {scale}"
        )
    print("Kubernetes, queued -> task code, by stage")
    for stage in K8S_STAGES:
        theirs = summary(k8s, stage)
        figures[stage[0].strip()] = {"kubernetes": theirs}
        print(f"{stage[0]:44} {'':8} {'':8} {theirs['median']:8.2f} {theirs['p95']:8.2f}")
    key = "queued -> task code starting"
    overhead = figures[key]["kubernetes"]["median"] - figures[key]["local"]["median"]
    print(f"two pods per task add {overhead:.1f}s (median) between queued and the task's code starting")
    return {
        "dag_id": DAG_ID,
        "tasks": TASKS,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": {"local": local.wall_seconds, "kubernetes": k8s.wall_seconds, "ratio": ratio},
        "startup_seconds": {"local": local.startup_seconds, "kubernetes": k8s.startup_seconds},
        "per_task_seconds": figures,
        "queued_to_code_overhead_median": overhead,
        "raw": {result.executor: [asdict(t) for t in result.tasks] for result in (local, k8s)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the figures ({RESULTS})")
    args = parser.parse_args()
    local = run_once(
        "local",
        lambda state, dags: Platform(Layout(state), dags_folder=dags, schedules=False),
        lambda: Ports(postgres=free_port(), pgbouncer=free_port(), api=free_port()),
    )
    k8s = run_once(
        "kubernetes",
        lambda state, dags: KubernetesPlatform(Layout(state), dags_folder=dags, extra_env=NO_JOB_SCHEDULE),
        lambda: Ports(postgres=free_port(), pgbouncer=free_port(), api=free_port(), kube=free_port()),
    )
    figures = report(local, k8s)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
