"""`airkube-plan`: the plan of one run of a DAG on an environment, printed or as JSON, optionally drawn."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from airkube_plan.assumptions import Assumptions
from airkube_plan.planner import DEFERRABLE_MODES, plan_dag
from airkube_plan.report import Plan

GOAL_RATIO = 1.25
ENV_DATA_URL = "env"
"""`--record` without a URL: the data root the environment's Airflow components use."""


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{seconds / 60:.1f} min"


def render_text(plan: Plan, assumptions: Assumptions) -> str:
    """The plan as a person reads it: the figures, what limited the run, then what it was planned from."""
    pool = plan.worker_pool
    lines = [
        f"Plan of {plan.dag_id} on {plan.env}: {pool.instance_type} worker nodes, {pool.min_nodes} to "
        f"{pool.max_nodes}, each offering pods {pool.allocatable.cpu_m:.0f}m CPU and "
        f"{pool.allocatable.memory_mib / 1024:.1f} GiB after the DaemonSets",
        f"  makespan             {_hours(plan.makespan_seconds)} "
        f"(critical path {_hours(plan.critical_path_seconds)})",
        f"  peak running tasks   {plan.peak_running_tasks}",
        f"  peak nodes           {plan.peak_nodes}",
        f"  node-hours           {plan.node_hours:.2f} ({plan.node_hours_above_minimum:.2f} above the "
        f"always-on minimum; lower bound {plan.node_hours_lower_bound:.2f}, by {plan.lower_bound_by}; ratio "
        f"{plan.efficiency_ratio:.2f}, goal <= {GOAL_RATIO})",
        f"  cost                 ${plan.cost_usd:.2f} of worker nodes "
        f"(on-demand, ${pool.usd_per_hour}/h each)",
        "Limited by (time during which it held work back; several can hold at once):",
    ]
    lines += [f"  {_hours(item['seconds']):>14}  {item['factor']}" for item in plan.limited_by]
    if plan.failed:
        lines.append(f"FAILED: {len(plan.failed)} task(s) would not finish:")
        lines += [f"  {task_id}: {reason}" for task_id, reason in sorted(plan.failed.items())[:20]]
    lines.append(f"Critical path: {' -> '.join(plan.critical_path)}")
    lines.append("Planned from:")
    lines += [f"  {name}: {value}" for name, value in plan.details.get("settings", {}).items()]
    lines.append(f"  durations: {plan.details.get('durations_from')}")
    lines.append("Assumptions (override with --set NAME=VALUE):")
    lines += [f"  {name} = {value}: {why}" for name, value, why in assumptions.describe()]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    args = argparse.ArgumentParser(prog="airkube-plan", description=__doc__)
    args.add_argument(
        "--dag-file", type=Path, required=True, help="the DAG file, e.g. dags/high_priorities.py"
    )
    args.add_argument("--dag-id", required=True)
    args.add_argument(
        "--env", required=True, help="a Terraform environment and Helm overlay: staging or prod"
    )
    args.add_argument(
        "--durations",
        type=Path,
        help="JSON task_id -> seconds, for tasks without history or expected_duration",
    )
    args.add_argument(
        "--from-db",
        metavar="URL",
        help="a metadata database (SQLAlchemy URL): median of the last successful tries",
    )
    args.add_argument(
        "--deferrable",
        choices=DEFERRABLE_MODES,
        default="as-declared",
        help="plan every pod task deferrable, none, or as declared",
    )
    args.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override an assumption",
    )
    args.add_argument("--json", action="store_true", help="print the plan as one JSON object")
    args.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="draw nodes, running tasks and pending pods"
    )
    args.add_argument(
        "--record",
        nargs="?",
        const=ENV_DATA_URL,
        metavar="DATA_URL",
        help="record the plan for the platform page under DATA_URL/_airkube/plans/ (default: the "
        "environment's own AIRKUBE_DATA_URL, from its Helm values)",
    )
    return args


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Airflow logs to standard output while it parses the DAG file; the plan alone goes there, so
    `--json` output is one JSON object a program can read."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    options = parser().parse_args(argv)
    try:
        with stdout_to_stderr():
            plan, outcome, environment = plan_dag(
                options.dag_file,
                options.dag_id,
                options.env,
                durations_file=options.durations,
                from_db=options.from_db,
                overrides=options.overrides,
                deferrable=options.deferrable,
            )
    except (ValueError, KeyError, OSError) as err:
        print(f"airkube-plan: {err}", file=sys.stderr)
        return 2
    if options.record:
        # Before the output: a plan that cannot be recorded fails the command, stating where.
        data_url = (
            environment.limits.library_env.get("AIRKUBE_DATA_URL")
            if options.record == ENV_DATA_URL
            else options.record
        )
        try:
            if not data_url:
                raise ValueError(
                    f"the Helm values of {options.env} set no AIRKUBE_DATA_URL; give --record URL"
                )
            from airkube import records

            where = records.write_plan(plan.as_json(), data_url=data_url, dag_id=plan.dag_id, env=plan.env)
        except Exception as err:  # any storage error (S3 credentials, permissions): say it, exit 2
            print(f"airkube-plan: plan not recorded: {type(err).__name__}: {err}", file=sys.stderr)
            return 2
        print(f"airkube-plan: plan recorded at {where}", file=sys.stderr)
    if options.plot:
        from airkube_plan.plot import draw

        with stdout_to_stderr():
            draw(plan, outcome, options.plot)
    if options.json:
        print(json.dumps(plan.as_json(), indent=2))
    else:
        print(render_text(plan, environment.assumptions))
    return 1 if plan.failed else 0


if __name__ == "__main__":
    sys.exit(main())
