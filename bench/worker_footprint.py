"""What a KubernetesExecutor worker pod really uses while it waits for its task's pod, sync and deferrable.

helm/values.yaml gives every worker pod requests of 250m CPU and 1Gi (workers.kubernetes.resources), yet
a worker pod only runs KubernetesPodOperator, which starts the task's own pod and waits on it. This
measures that wait, to right-size the request with a figure. On a Kubernetes platform of its own
(tools/kube_standin, started here on free ports in a temp dir, stopped at the end) it runs one run of
each DAG of bench/dags/worker_footprint.py, one after the other: 4 tasks at once, each a pod that
sleeps 60 s, first with `deferrable=False` (the worker pod waits the whole minute), then with
`deferrable=True` (the worker pod starts the task pod, defers and exits; the triggerer watches the
pod; a second worker pod resumes and finishes the task).

While a run goes, every 0.5 s it reads the processes of every worker pod. The stand-in runs a worker
pod (the Airflow image) as processes of the dev venv in one session, whose leader's pid it writes to
<state>/kube/pids/k8s_base_<pod>_<namespace>_<uid>.pid (tools/kube_standin/runtime.py); a task pod is
a podman container and is not measured. Per worker pod, summed over its processes: RSS, PSS and
Pss_Anon (from /proc/<pid>/smaps_rollup; PSS counts a page shared by n processes 1/n in each, so the
pages the supervisor shares with its forked task runner are not counted twice; Pss_Anon is the private
memory a container's cgroup would be charged for whatever else runs on the node), and CPU seconds
(utime + stime + reaped children's, so a child that exits between two samples still counts). Pod
times (created, container running, container exited, deleted) come from a watch on the stand-in's
pods, this process's clock when each change arrived. The triggerer's processes are sampled too: in
deferrable mode it does the waiting. The sampler's own CPU is printed: on a 2-core machine it slows
what it measures a little (start-ups, not the wait).

It prints, per mode: worker pods per task, worker-pod-seconds per task (created -> container exited,
the time a pod's requests are held on a node; and -> deleted), peak RSS, PSS and anonymous memory per
worker pod (median, max), CPU milli-cores of a task's worker pods averaged over the time its task pod
runs (and without its first and last 5 s), CPU seconds of a task's worker pods over their lives, the
task's duration (TI start -> end) and where it goes; then the processes of one worker pod and of the
triggerer, and one JSON line with every figure, for another program to read (--json also writes them,
with every pod's raw times, to a file).

Takes about 5 minutes (a platform start-up of about 1 minute, two runs of about 90 s). Needs
`make images-local` and `make kube-tools`. What it does not see: the chart's git-sync init container
(helm/values-local.yaml turns git-sync off; in production every worker pod, the resuming one included,
first runs git-sync), and log following: the task's container prints nothing, while in sync mode a
worker pod follows a chatty container's log for the whole wait.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pendulum
import yaml
from pod_watch import PodTimes, PodWatcher, stamp

from airkube_dev import components
from airkube_dev.api import AirflowApi
from airkube_dev.k8s_platform import DEFAULT_K8S_PORTS, KubernetesPlatform
from airkube_dev.layout import Layout, Ports
from airkube_dev.platform import DEFAULT_PORTS
from airkube_dev.processes import free_port

REPO = Path(__file__).resolve().parents[1]
DAG_FILE = REPO / "bench" / "dags" / "worker_footprint.py"
MODES = {"sync": "worker_footprint_sync", "deferrable": "worker_footprint_deferrable"}
TASKS = 4
RUN_TIMEOUT = 600
PODS_GONE_TIMEOUT = 60
SAMPLE_SECONDS = 0.5
TITLE_EVERY = 4  # samples between two reads of a process's title (it changes once, at start-up)
STEADY_SKIP = 5.0  # seconds left out at each end of a wait for its steady figure
DAY = pendulum.datetime(2026, 10, 1, tz="UTC")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MIB = 2**20
# Ports of `make dev` and `make dev-k8s`: never taken here, so a developer's platform can keep running.
RESERVED_PORTS = {*asdict(DEFAULT_PORTS).values(), *asdict(DEFAULT_K8S_PORTS).values()}


def worker_requests() -> dict[str, str]:
    """What helm/values.yaml requests for each worker pod, the figure this measures against."""
    values = yaml.safe_load((REPO / "helm" / "values.yaml").read_text())
    return dict(values["workers"]["kubernetes"]["resources"]["requests"])


def own_port() -> int:
    """A free port that is none of the default ports of `make dev` or `make dev-k8s`."""
    while (port := free_port()) in RESERVED_PORTS:
        pass
    return port


# --- process sampling -------------------------------------------------------------------------------


class Sample(NamedTuple):
    """A group of processes (a worker pod, or the triggerer) at one moment; memory in bytes."""

    time: float
    rss: int
    pss: int
    anon: int  # Pss_Anon: private memory, a page shared after fork counted once across the group
    cpu: float  # cumulative CPU seconds, never decreasing
    processes: int


@dataclass
class ProcInfo:
    """One process of a group: what it runs (its latest title), its own peaks, when it was seen."""

    pid: int
    ppid: int
    command: str
    first_seen: float
    last_seen: float
    first_pss: int = 0
    peak_rss: int = 0
    peak_pss: int = 0
    peak_anon: int = 0
    own_cpu_seconds: float = 0.0  # utime + stime, without its children's


@dataclass
class Usage:
    """A group of processes over time: a worker pod (its session) or the triggerer (its tree)."""

    name: str
    leader: int
    samples: list[Sample] = field(default_factory=list)
    processes: dict[int, ProcInfo] = field(default_factory=dict)

    def peak(self, what: str) -> int:
        return max((getattr(s, what) for s in self.samples), default=0)

    def cpu_at(self, moment: float) -> float:
        """Cumulative CPU seconds at the last sample at or before `moment` (0 before the first)."""
        cpu = 0.0
        for sample in self.samples:
            if sample.time > moment:
                break
            cpu = sample.cpu
        return cpu

    def record(self, now: float, pid: int, stat: Stat, memory: tuple[int, int, int], title: bool) -> None:
        info = self.processes.get(pid)
        if info is None:
            info = self.processes[pid] = ProcInfo(pid, stat.ppid, "", now, now, memory[1])
        if title or not info.command:  # a title set after start-up replaces argv
            info.command = read_command(pid) or info.command
        info.last_seen = now
        info.peak_rss = max(info.peak_rss, memory[0])
        info.peak_pss = max(info.peak_pss, memory[1])
        info.peak_anon = max(info.peak_anon, memory[2])
        info.own_cpu_seconds = max(info.own_cpu_seconds, stat.own_cpu)

    def add_sample(self, now: float, members: list[tuple[Stat, tuple[int, int, int]]]) -> None:
        previous = self.samples[-1].cpu if self.samples else 0.0
        self.samples.append(
            Sample(
                now,
                sum(m[1][0] for m in members),
                sum(m[1][1] for m in members),
                sum(m[1][2] for m in members),
                # utime + stime + reaped children's: a process's CPU outlives it in its parent's cutime
                max(previous, sum(m[0].cpu for m in members)),
                len(members),
            )
        )


class Stat(NamedTuple):
    """The part of /proc/<pid>/stat used here: who a process belongs to, and its CPU."""

    ppid: int
    session: int
    own_cpu: float  # utime + stime
    cpu: float  # and its reaped children's (cutime + cstime)


def read_stat(pid: int) -> Stat | None:
    """What /proc/<pid>/stat says; None for a process that just exited."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command's ")": state ppid pgrp session ... utime(11) stime(12) cutime(13) cstime(14)
    own, children = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
    return Stat(int(fields[1]), int(fields[3]), own / CLOCK_TICKS, (own + children) / CLOCK_TICKS)


def read_memory(pid: int) -> tuple[int, int, int]:
    """(RSS, PSS, Pss_Anon) in bytes from /proc/<pid>/smaps_rollup (cheap, unlike a full smaps)."""
    found = {"Rss:": 0, "Pss:": 0, "Pss_Anon:": 0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(" ")
            if key in found:
                found[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return found["Rss:"], found["Pss:"], found["Pss_Anon:"]


def descendants(root: int, stats: dict[int, Stat]) -> set[int]:
    """`root` and every process under it, from the parent pids of one pass over /proc."""
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat.ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def read_command(pid: int) -> str:
    """The process title: Airflow retitles its processes (supervisor, task runner) after start-up."""
    try:
        parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    words = [part.decode(errors="replace") for part in parts if part]
    if words:
        words[0] = Path(words[0]).name  # the venv's path says nothing
    text = " ".join(words)
    return text if len(text) <= 100 else text[:97] + "..."


class Sampler(threading.Thread):
    """Every SAMPLE_SECONDS: each worker pod's processes (by the session its pid file names) and the
    triggerer's process tree."""

    def __init__(self, pid_dir: Path, triggerer_pid: int | None) -> None:
        super().__init__(daemon=True)
        self.pid_dir = pid_dir
        self.pods: dict[str, Usage] = {}
        self.triggerer = Usage("triggerer", triggerer_pid or 0)
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.busy_seconds = 0.0  # this thread's own CPU time spent sampling
        self.ticks = 0

    def sessions(self) -> dict[int, str]:
        """Session leader pid -> worker pod name, from the stand-in's pid files of its process pods."""
        found = {}
        for pid_file in self.pid_dir.glob("k8s_base_*.pid"):
            # k8s_<container>_<pod>_<namespace>_<uid8>.pid: pod names and namespaces have no "_"
            parts = pid_file.stem.split("_")
            try:
                found[int(pid_file.read_text())] = parts[2]
            except (OSError, ValueError, IndexError):
                continue
        return found

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                started, cpu = time.monotonic(), time.thread_time()
                self.sample()
                self.busy_seconds += time.thread_time() - cpu
                self.ticks += 1
                self.stopping.wait(max(0.0, SAMPLE_SECONDS - (time.monotonic() - started)))
        except BaseException as err:  # reported by stop()
            self.error = err

    def sample(self) -> None:
        """One pass over /proc: every process's stat, then memory only for the processes measured."""
        now = time.time()
        sessions = self.sessions()
        stats = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None:
                stats[int(entry.name)] = stat
        triggerer = descendants(self.triggerer.leader, stats) if self.triggerer.leader in stats else set()
        titles = self.ticks % TITLE_EVERY == 0
        members: dict[str, list[tuple[Stat, tuple[int, int, int]]]] = {}
        for pid, stat in stats.items():
            if stat.session in sessions:
                name = sessions[stat.session]
                usage = self.pods.setdefault(name, Usage(name, stat.session))
            elif pid in triggerer:
                name, usage = "triggerer", self.triggerer
            else:
                continue
            memory = read_memory(pid)
            usage.record(now, pid, stat, memory, titles)
            members.setdefault(name, []).append((stat, memory))
        for name, found in members.items():
            (self.triggerer if name == "triggerer" else self.pods[name]).add_sample(now, found)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)
        if self.error is not None:
            raise RuntimeError(f"the process sampler failed: {self.error!r}") from self.error


# --- one mode -----------------------------------------------------------------------------------


@dataclass
class ModeResult:
    """Everything measured in one run of one mode."""

    mode: str
    dag_id: str
    run_seconds: float  # trigger -> the run's end_date
    tasks: list[dict[str, Any]]  # per task: its TI times, its pods, its worker pods' CPU while it waits
    workers: list[dict[str, Any]]  # per worker pod: lifetime, peaks, CPU
    triggerer: Usage
    example: list[dict[str, Any]]  # the processes of one worker pod
    sampler_millicores: float

    def workers_by_name(self, name: str) -> dict[str, Any]:
        return next(w for w in self.workers if w["name"] == name)


def run_mode(
    mode: str, api: AirflowApi, watcher: PodWatcher, pid_dir: Path, triggerer_pid: int | None
) -> ModeResult:
    """One run of the mode's DAG, sampled from trigger until its worker pods are gone."""
    dag_id = MODES[mode]
    api.unpause(dag_id)
    sampler = Sampler(pid_dir, triggerer_pid)
    sampler.start()
    try:
        print(f"{mode}: running {dag_id}", flush=True)
        triggered = time.time()
        run_id = api.trigger(dag_id, DAY, DAY.add(days=1))
        progress = api.wait_for_run(dag_id, run_id, RUN_TIMEOUT)
        if progress.state != "success":
            raise SystemExit(f"{mode}: run {run_id} ended {progress.state}: {dict(progress.task_states)}")
        wait_for_pods_gone(watcher, dag_id)
    finally:
        sampler.stop()
    run = next(r for r in api.runs(dag_id) if r["dag_run_id"] == run_id)
    pods = [p for p in watcher.snapshot().values() if p.dag_id == dag_id]
    instances = api.task_instances(dag_id, run_id)
    if len(instances) != TASKS or any(ti["try_number"] != 1 for ti in instances):
        raise SystemExit(f"{mode}: expected {TASKS} task instances at try 1, got {instances}")
    workers = {
        pod.name: worker_figures(mode, pod, sampler.pods.get(pod.name))
        for pod in pods
        if pod.kind == "worker"
    }
    tasks = [task_figures(mode, ti, pods, workers, sampler.pods) for ti in instances]
    example = max(sampler.pods.values(), key=lambda u: (len(u.processes), -u.samples[0].time))
    overhead = 1000 * sampler.busy_seconds / max(1.0, sampler.ticks * SAMPLE_SECONDS)
    result = ModeResult(
        mode,
        dag_id,
        stamp(run["end_date"]) - triggered,
        tasks,
        sorted(workers.values(), key=lambda w: w["created"]),
        sampler.triggerer,
        process_list(example),
        overhead,
    )
    print(
        f"{mode}: run took {result.run_seconds:.1f}s; {len(workers)} worker pods sampled "
        f"(the sampler itself used ~{overhead:.0f} milli-cores)",
        flush=True,
    )
    return result


def worker_figures(mode: str, pod: PodTimes, usage: Usage | None) -> dict[str, Any]:
    """One worker pod: how long it was held, its peaks, its CPU, when its processes went."""
    if usage is None or not usage.samples:
        raise SystemExit(f"{mode}: no process of worker pod {pod.name} was ever sampled")
    leader = usage.processes[usage.leader]
    children = [p for p in usage.processes.values() if p.pid != usage.leader]
    return {
        **asdict(pod),
        # created -> container exited: while a pod is not terminal, its requests are held on a node
        "held_seconds": (pod.exited or pod.deleted or usage.samples[-1].time) - pod.created,
        "until_deleted_seconds": (pod.deleted - pod.created) if pod.deleted else None,
        "peak_rss": usage.peak("rss"),
        "peak_pss": usage.peak("pss"),
        "peak_anon": usage.peak("anon"),
        "cpu_seconds": usage.samples[-1].cpu,
        "processes": max(s.processes for s in usage.samples),
        "leader_last_seen": leader.last_seen,
        "children_last_seen": max((c.last_seen for c in children), default=None),
    }


def task_figures(
    mode: str,
    ti: dict[str, Any],
    pods: list[PodTimes],
    workers: dict[str, dict[str, Any]],
    usage: dict[str, Usage],
) -> dict[str, Any]:
    """One task: its times, its worker pods, and their CPU while its task pod ran."""
    task_id = ti["task_id"]
    task_pods = [p for p in pods if p.kind == "task" and p.task_id == task_id]
    mine = sorted((w for w in workers.values() if w["task_id"] == task_id), key=lambda w: w["created"])
    if len(task_pods) != 1 or task_pods[0].running is None or task_pods[0].exited is None:
        raise SystemExit(f"{mode}: {task_id}: the watch did not see one task pod run and exit")
    if not mine:
        raise SystemExit(f"{mode}: {task_id}: the watch saw no worker pod")
    task_pod = task_pods[0]
    t0, t1 = task_pod.running, task_pod.exited
    steady = (t0 + STEADY_SKIP, t1 - STEADY_SKIP)

    def cpu(start: float, end: float) -> float:
        return sum(usage[w["name"]].cpu_at(end) - usage[w["name"]].cpu_at(start) for w in mine)

    end = stamp(ti["end_date"])
    return {
        "task_id": task_id,
        "start": stamp(ti["start_date"]),  # kept across a deferral
        "end": end,
        "task_pod_created": task_pod.created,
        "task_pod_running": t0,
        "task_pod_exited": t1,
        "worker_pods": [w["name"] for w in mine],
        "worker_pod_seconds": sum(w["held_seconds"] for w in mine),
        "worker_pod_seconds_until_deleted": sum(w["until_deleted_seconds"] or 0 for w in mine),
        "worker_cpu_seconds": sum(w["cpu_seconds"] for w in mine),
        "waiting_millicores": 1000 * cpu(t0, t1) / (t1 - t0),
        "steady_millicores": 1000 * cpu(*steady) / (steady[1] - steady[0]),
        "first_worker_to_end": end - mine[0]["created"],
        "task_pod_exit_to_end": end - t1,
        "end_to_worker_exit": (mine[-1]["exited"] or mine[-1]["leader_last_seen"]) - end,
    }


def process_list(usage: Usage) -> list[dict[str, Any]]:
    """A worker pod's processes, for the report: which they are, their peaks, when each went."""
    start = usage.samples[0].time
    return [
        {
            **asdict(info),
            "role": "leader" if pid == usage.leader else f"child of {info.ppid}",
            "seen_seconds": [round(info.first_seen - start, 1), round(info.last_seen - start, 1)],
        }
        for pid, info in sorted(usage.processes.items())
    ]


def wait_for_pods_gone(watcher: PodWatcher, dag_id: str) -> None:
    """Until every worker pod of the DAG has exited and been deleted (the executor deletes succeeded
    worker pods a moment after the run ends), so that each pod's whole life is measured."""
    deadline = time.monotonic() + PODS_GONE_TIMEOUT
    while time.monotonic() < deadline:
        workers = [p for p in watcher.snapshot().values() if p.dag_id == dag_id and p.kind == "worker"]
        if workers and all(p.exited and p.deleted for p in workers):
            return
        time.sleep(0.5)
    print(f"  (some worker pods of {dag_id} were not deleted within {PODS_GONE_TIMEOUT}s)", flush=True)


# --- report -------------------------------------------------------------------------------------


def med_max(values: list[float], scale: float = 1.0, digits: int = 1) -> dict[str, float]:
    """Median and max: 4 tasks are too few for a p95, and the max shows the worst pod."""
    return {
        "median": round(statistics.median(values) / scale, digits),
        "max": round(max(values) / scale, digits),
    }


def triggerer_figures(result: ModeResult) -> dict[str, Any]:
    """The triggerer while the tasks wait: CPU over the whole wait and over the part when every task's
    trigger runs and no worker pod does (deferrable), its memory before and at its peak."""
    usage = result.triggerer
    if not usage.samples:
        return {}
    wait = (min(t["task_pod_running"] for t in result.tasks), max(t["task_pod_exited"] for t in result.tasks))
    first_exits = [result.workers_by_name(t["worker_pods"][0])["exited"] for t in result.tasks]
    steady = (
        max(max(first_exits), wait[0]) + STEADY_SKIP,
        min(t["task_pod_exited"] for t in result.tasks) - STEADY_SKIP,
    )
    before = [s.pss for s in usage.samples if s.time < wait[0]]

    def millicores(window: tuple[float, float]) -> float | None:
        if window[1] - window[0] < 5:
            return None
        return round(1000 * (usage.cpu_at(window[1]) - usage.cpu_at(window[0])) / (window[1] - window[0]), 1)

    return {
        "millicores_while_tasks_wait": millicores(wait),
        "millicores_steady": millicores(steady),
        "pss_mib_before": round(statistics.median(before) / MIB, 1) if before else None,
        "peak_pss_mib": round(usage.peak("pss") / MIB, 1),
        "peak_anon_mib": round(usage.peak("anon") / MIB, 1),
        "processes": max(s.processes for s in usage.samples),
    }


def figures(result: ModeResult) -> dict[str, Any]:
    """The mode's figures: per task and per worker pod, medians and maxima."""
    tasks, workers = result.tasks, result.workers
    out: dict[str, Any] = {
        "mode": result.mode,
        "tasks": len(tasks),
        "run_seconds": round(result.run_seconds, 1),
        "worker_pods_per_task": statistics.median(len(t["worker_pods"]) for t in tasks),
        "worker_pod_seconds_per_task": med_max([t["worker_pod_seconds"] for t in tasks]),
        "worker_pod_seconds_until_deleted_per_task": med_max(
            [t["worker_pod_seconds_until_deleted"] for t in tasks]
        ),
        "peak_rss_mib": med_max([w["peak_rss"] for w in workers], MIB),
        "peak_pss_mib": med_max([w["peak_pss"] for w in workers], MIB),
        "peak_anon_mib": med_max([w["peak_anon"] for w in workers], MIB),
        "waiting_millicores": med_max([t["waiting_millicores"] for t in tasks]),
        "steady_waiting_millicores": med_max([t["steady_millicores"] for t in tasks]),
        "cpu_seconds_per_worker_pod": med_max([w["cpu_seconds"] for w in workers], digits=2),
        "cpu_seconds_per_task": med_max([t["worker_cpu_seconds"] for t in tasks], digits=2),
        "processes_per_worker_pod": max(w["processes"] for w in workers),
        "task_pod_seconds": med_max([t["task_pod_exited"] - t["task_pod_running"] for t in tasks]),
        "ti_seconds": med_max([t["end"] - t["start"] for t in tasks]),
        "first_worker_created_to_ti_end_seconds": med_max([t["first_worker_to_end"] for t in tasks]),
        "first_worker_created_to_task_pod_running_seconds": med_max(
            [t["task_pod_running"] - result.workers_by_name(t["worker_pods"][0])["created"] for t in tasks]
        ),
        "task_pod_exit_to_ti_end_seconds": med_max([t["task_pod_exit_to_end"] for t in tasks]),
        "ti_end_to_worker_exit_seconds": med_max([t["end_to_worker_exit"] for t in tasks]),
        "triggerer": triggerer_figures(result),
        "sampler_millicores": round(result.sampler_millicores),
    }
    depth = max(len(t["worker_pods"]) for t in tasks)
    if depth > 1:  # deferrable: the first pod (start the task pod, defer), then the resuming one
        by_order = []
        for index in range(depth):
            nth = [
                result.workers_by_name(t["worker_pods"][index])
                for t in tasks
                if len(t["worker_pods"]) > index
            ]
            by_order.append(
                {
                    "held_seconds": med_max([w["held_seconds"] for w in nth]),
                    "peak_pss_mib": med_max([w["peak_pss"] for w in nth], MIB),
                    "cpu_seconds": med_max([w["cpu_seconds"] for w in nth], digits=2),
                }
            )
        out["worker_pods_in_order"] = by_order
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    """The two modes side by side, then where each mode's seconds go."""
    head = (
        f"{'mode':10} {'pods/task':>9} {'pod-s/task':>10} {'RSS MiB med':>11} {'max':>5} "
        f"{'PSS MiB med':>11} {'max':>5} {'anon MiB':>8} {'mcores wait':>11} {'steady':>6} "
        f"{'CPU s/task':>10} {'TI s':>5}"
    )
    print("\n" + head)
    print("-" * len(head))
    for row in rows:
        print(
            f"{row['mode']:10} {row['worker_pods_per_task']:9g} "
            f"{row['worker_pod_seconds_per_task']['median']:10.1f} "
            f"{row['peak_rss_mib']['median']:11.1f} {row['peak_rss_mib']['max']:5.0f} "
            f"{row['peak_pss_mib']['median']:11.1f} {row['peak_pss_mib']['max']:5.0f} "
            f"{row['peak_anon_mib']['median']:8.1f} "
            f"{row['waiting_millicores']['median']:11.1f} {row['steady_waiting_millicores']['median']:6.1f} "
            f"{row['cpu_seconds_per_task']['median']:10.2f} {row['ti_seconds']['median']:5.1f}"
        )
    print(
        "Medians over tasks or worker pods. pod-s/task: the task's worker pods, created -> container "
        "exited, summed.\nRSS, PSS, anon (Pss_Anon): a worker pod's peak, summed over its processes. "
        "mcores wait: CPU of the task's worker pods\nwhile its task pod runs; steady: the same without "
        f"its first and last {STEADY_SKIP:g} s. CPU s/task: the task's worker pods over their lives."
    )
    for row in rows:
        trig = row["triggerer"]
        print(
            f"{row['mode']}: task pod ran {row['task_pod_seconds']['median']:.1f}s; first worker pod created "
            f"-> task pod running {row['first_worker_created_to_task_pod_running_seconds']['median']:.1f}s; "
            f"task pod exit -> TI end {row['task_pod_exit_to_ti_end_seconds']['median']:.1f}s; "
            f"TI end -> last worker pod exit {row['ti_end_to_worker_exit_seconds']['median']:.1f}s; "
            "first worker pod created -> TI end "
            f"{row['first_worker_created_to_ti_end_seconds']['median']:.1f}s; "
            f"pod-s until deleted {row['worker_pod_seconds_until_deleted_per_task']['median']:.1f}"
        )
        steady = trig.get("millicores_steady") or "-"
        print(
            f"  triggerer ({trig.get('processes')} processes) while the {row['tasks']} tasks wait: "
            f"{trig.get('millicores_while_tasks_wait')} mcores (steady {steady}), "
            f"PSS {trig.get('pss_mib_before')} MiB before, peak {trig.get('peak_pss_mib')} MiB"
        )
        for index, order in enumerate(row.get("worker_pods_in_order", [])):
            which = ["first pod (start, defer)", "resume pod"][index] if index < 2 else f"pod {index + 1}"
            held, pss, cpu = order["held_seconds"], order["peak_pss_mib"], order["cpu_seconds"]
            print(
                f"  {which:24} held {held['median']:.1f}s (max {held['max']:.1f}), "
                f"peak PSS {pss['median']:.1f} MiB, CPU {cpu['median']:.2f}s"
            )


def print_processes(result: ModeResult) -> None:
    """Which processes make up a worker pod and the triggerer, and what each weighs."""
    print(
        f"\nprocesses of one {result.mode} worker pod (its session; peaks over its life; "
        "seen: first and last sample, s after the pod's first)"
    )
    for proc in result.example:
        print(
            f"  pid {proc['pid']:>7} {proc['role']:15} RSS {proc['peak_rss'] / MIB:5.1f} MiB  PSS "
            f"{proc['peak_pss'] / MIB:5.1f}  anon {proc['peak_anon'] / MIB:5.1f}  own CPU "
            f"{proc['own_cpu_seconds']:4.2f}s  seen {proc['seen_seconds']}  {proc['command']}"
        )
    if result.triggerer.processes:
        print(f"  the triggerer's processes during the {result.mode} run: PSS at the first sample -> peak")
        for proc in process_list(result.triggerer):
            print(
                f"  pid {proc['pid']:>7} {proc['role']:15} PSS {proc['first_pss'] / MIB:5.1f} -> "
                f"{proc['peak_pss'] / MIB:5.1f} MiB  own CPU {proc['own_cpu_seconds']:6.2f}s (since it "
                f"started)  {proc['command']}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="also write every figure, with raw pods, to this file")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp dir (state, logs) after stopping the platform"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="airkube-bench-footprint-"))
    root.chmod(0o755)  # PostgreSQL runs as an unprivileged user, task containers as uid 10001
    dags = root / "dags"
    dags.mkdir()
    (dags / DAG_FILE.name).symlink_to(DAG_FILE)
    platform = KubernetesPlatform(Layout(root / "state"), dags_folder=dags)
    watcher: PodWatcher | None = None
    began = time.monotonic()
    results = []
    try:
        print(f"starting the platform in {root}", flush=True)
        platform.up(Ports(postgres=own_port(), pgbouncer=own_port(), api=own_port(), kube=own_port()))
        print(f"up in {time.monotonic() - began:.0f}s", flush=True)
        api = AirflowApi(platform.api_url(), *platform.login())
        for dag_id in MODES.values():
            api.wait_for_dag(dag_id)
        watcher = PodWatcher(platform.kubeconfig)
        watcher.start()
        triggerer_pid = components.running(platform.layout).get("triggerer")
        for mode in MODES:
            results.append(run_mode(mode, api, watcher, platform.standin_dir / "pids", triggerer_pid))
    finally:
        if watcher is not None:
            watcher.stopping.set()
        platform.down()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    rows = [figures(result) for result in results]
    print_table(rows)
    for result in results:
        print_processes(result)
    wall = time.monotonic() - began
    print(f"\nwall time {wall:.0f}s")
    summary = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(wall, 1),
        "worker_pod_requests": worker_requests(),
        "modes": {row["mode"]: row for row in rows},
    }
    if args.json:
        raw = {r.mode: {"tasks": r.tasks, "workers": r.workers, "processes": r.example} for r in results}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**summary, "raw": raw}, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
