"""`python -m airkube_dev up|down|clean|status|demo`: what `make dev`, `make stop`, ... run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from airkube_dev import components
from airkube_dev.errors import PlatformError
from airkube_dev.layout import Layout
from airkube_dev.platform import REPO, Platform, ports_from_environment


def _platform() -> Platform:
    root = Path(os.environ.get("AIRKUBE_DEV_STATE", REPO / ".local" / "dev")).resolve()
    return Platform(Layout(root))


def cmd_up(_: argparse.Namespace) -> None:
    platform = _platform()
    print(f"starting the local airkube platform in {platform.layout.root} ...", flush=True)
    state = platform.up(ports_from_environment())
    user, password = platform.login()
    print(
        f"\nairkube is up: Airflow {_airflow_version()} with LocalExecutor, PostgreSQL on "
        f"127.0.0.1:{state.ports.postgres} behind PgBouncer on 127.0.0.1:{state.ports.pgbouncer}\n"
        f"  UI:     http://127.0.0.1:{state.ports.api}\n"
        f"  login:  {user} / {password}\n"
        f"  logs:   {platform.layout.logs}\n"
        f"  data:   {platform.layout.data_dir}\n"
        f"next: `make demo` runs high_priorities once; `make stop` stops everything."
    )


def cmd_down(_: argparse.Namespace) -> None:
    stopped = _platform().down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def cmd_clean(_: argparse.Namespace) -> None:
    platform = _platform()
    platform.clean()
    print(f"removed {platform.layout.root}")


def cmd_status(_: argparse.Namespace) -> None:
    platform = _platform()
    for name, pid in components.running(platform.layout).items():
        print(f"  {name:14} {'pid ' + str(pid) if pid else 'not running'}")
    try:
        print(f"  health: {components.health(platform.api_url())}")
    except OSError as err:
        print(f"  health: no answer ({err})")


def cmd_demo(args: argparse.Namespace) -> None:
    from airkube_dev.demo import run_demo

    platform = _platform()
    if any(pid is None for pid in components.running(platform.layout).values()):
        cmd_up(args)
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
    commands.add_parser("up", help="start the platform (safe to run twice)").set_defaults(func=cmd_up)
    commands.add_parser("down", help="stop what `up` started").set_defaults(func=cmd_down)
    commands.add_parser("clean", help="stop and delete the local state").set_defaults(func=cmd_clean)
    commands.add_parser("status", help="components and health").set_defaults(func=cmd_status)
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
