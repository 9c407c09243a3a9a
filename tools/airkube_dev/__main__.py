"""`python -m airkube_dev up|down|clean|status|demo`: what `make dev`, `make stop`, ... run."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from airkube_dev import components, processes, supervisor
from airkube_dev.errors import PlatformError
from airkube_dev.k8s_platform import DEFAULT_K8S_PORTS, KubernetesPlatform
from airkube_dev.layout import Layout
from airkube_dev.platform import DEFAULT_PORTS, REPO, Platform, ports_from_environment
from airkube_dev.sample_data import seed_source_registry


def _platform(kubernetes: bool = False) -> Platform:
    """`make dev`'s platform, or `make dev-k8s`'s (a state folder of its own, so both can exist)."""
    if kubernetes:
        root = Path(os.environ.get("AIRKUBE_DEV_K8S_STATE", REPO / ".local" / "dev-k8s")).resolve()
        return KubernetesPlatform(Layout(root))
    root = Path(os.environ.get("AIRKUBE_DEV_STATE", REPO / ".local" / "dev")).resolve()
    return Platform(Layout(root))


def _both() -> list[Platform]:
    return [_platform(), _platform(kubernetes=True)]


def cmd_up(args: argparse.Namespace) -> None:
    platform = _platform(args.kubernetes)
    print(f"starting the local airkube platform in {platform.layout.root} ...", flush=True)
    defaults = DEFAULT_K8S_PORTS if args.kubernetes else DEFAULT_PORTS
    state = platform.up(ports_from_environment(defaults))
    seeded = seed_source_registry(platform.layout.data_dir)
    user, password = platform.login()
    executor = "KubernetesExecutor on the Kubernetes stand-in" if args.kubernetes else "LocalExecutor"
    lines = [
        f"\nairkube is up: Airflow {_airflow_version()} with {executor}, PostgreSQL on "
        f"127.0.0.1:{state.ports.postgres} behind PgBouncer on 127.0.0.1:{state.ports.pgbouncer}",
        f"  UI:     http://127.0.0.1:{state.ports.api}",
        f"  page:   http://127.0.0.1:{state.ports.api}/plugin/airkube (the navigation's Platform)",
        f"  login:  {user} / {password}",
        f"  logs:   {platform.layout.logs}",
        f"  data:   {platform.layout.data_dir}",
    ]
    if seeded:
        lines.append(f"  sources:  {', '.join(seeded)} registered for sources_fanout (see images/pipeline)")
    if isinstance(platform, KubernetesPlatform):
        lines += [
            f"kubeconfig: {platform.kubeconfig}",
            (
                "(a stand-in for EKS's API server and kubelet: `KUBECONFIG=<that path> kubectl "
                "get pods -n airflow`)"
            ),
            "next: trigger a DAG in the UI; `make stop` stops everything, task containers included.",
        ]
    else:
        lines.append("next: `make demo` runs high_priorities once; `make stop` stops everything.")
    print("\n".join(lines))


def cmd_down(_: argparse.Namespace) -> None:
    stopped = [name for platform in _both() for name in platform.down()]
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def cmd_clean(_: argparse.Namespace) -> None:
    for platform in _both():
        platform.clean()
        print(f"removed {platform.layout.root}")


def cmd_status(_: argparse.Namespace) -> None:
    for platform in _both():
        if not platform.layout.state_file.exists():
            continue
        print(f"{platform.layout.root}:")
        supervised = supervisor.read_status(platform.layout)
        print(f"  {'supervisor':14} {_pid_text(processes.read_pid(supervisor.pid_file(platform.layout)))}")
        for name, pid in components.running(platform.layout).items():
            entry = supervised.get(name, supervisor.ComponentStatus())
            line = f"  {name:14} {_pid_text(pid):12} restarts {entry.restarts}"
            if entry.last_exit_at is not None:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.last_exit_at))
                line += f" (last: {entry.last_exit} at {when})"
            print(line)
        if isinstance(platform, KubernetesPlatform):
            print(f"  {'kube-standin':14} {'running' if platform.kube_running() else 'not running'}")
        try:
            print(f"  health: {components.health(platform.api_url())}")
        except OSError as err:
            print(f"  health: no answer ({err})")


def _pid_text(pid: int | None) -> str:
    return f"pid {pid}" if pid else "not running"


def cmd_supervise(args: argparse.Namespace) -> None:
    """The supervisor's own process, started by `make dev` (airkube_dev.supervisor)."""
    supervisor.Supervisor(Layout(Path(args.root))).run()


def cmd_demo(args: argparse.Namespace) -> None:
    from airkube_dev.demo import run_demo

    platform = _platform()
    pids = components.running(platform.layout).values()
    if not pids or any(pid is None for pid in pids):
        cmd_up(argparse.Namespace(kubernetes=False))
    sys.exit(run_demo(platform, dag_id=args.dag_id, date=args.date))


def cmd_airflow(args: argparse.Namespace) -> None:
    """The real Airflow CLI with the local platform's configuration, e.g. `backfill create ...`."""
    platform = _platform()
    binary = components.airflow_binary()
    os.execve(binary, [binary, *args.airflow_args], platform.env())


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow")


def main() -> None:
    parser = argparse.ArgumentParser(prog="airkube_dev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the platform (safe to run twice)")
    up.add_argument("--kubernetes", action="store_true", help="KubernetesExecutor on the Kubernetes stand-in")
    up.set_defaults(func=cmd_up)
    commands.add_parser("down", help="stop what `up` started").set_defaults(func=cmd_down)
    commands.add_parser("clean", help="stop and delete the local state").set_defaults(func=cmd_clean)
    commands.add_parser("status", help="components and health").set_defaults(func=cmd_status)
    supervise = commands.add_parser(
        "supervise", help="restart the components of a state folder (make dev starts it)"
    )
    supervise.add_argument("root", help="the state folder")
    supervise.set_defaults(func=cmd_supervise)
    demo = commands.add_parser("demo", help="one full run through the scheduler, with a summary")
    demo.add_argument("--dag-id", default="high_priorities")
    demo.add_argument("--date", help="data interval start, YYYY-MM-DD (default: yesterday, UTC)")
    demo.set_defaults(func=cmd_demo)
    airflow = commands.add_parser("airflow", help="run the airflow CLI against the local platform")
    airflow.add_argument("airflow_args", nargs=argparse.REMAINDER)
    airflow.set_defaults(func=cmd_airflow)
    args = parser.parse_args()
    try:
        args.func(args)
    except PlatformError as err:
        print(f"airkube dev: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
