"""README.md's "The planned night" section: the nightly plan of high_priorities per environment, next to the
month's 1-node and max-node costs of the table above it, and its picture. Generated like the cost table, so
the README's plan is the planner's, not a copy of an old run: `make cost-table` writes it, and
tests/plan/test_readme_plan.py fails while the README and the planner disagree.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from airkube_plan.cost_table import ENVIRONMENTS, cost_lines
from airkube_plan.nodes import repo_root
from airkube_plan.report import Plan

DAG_ID = "high_priorities"
DAG_FILE = Path("dags") / f"{DAG_ID}.py"
DURATIONS = Path("bench") / "durations" / f"{DAG_ID}.json"
PICTURE = Path("docs") / f"capacity-{DAG_ID}-prod.png"
README = Path("README.md")
BEGIN = "<!-- nightly-plan:begin -->"
END = "<!-- nightly-plan:end -->"
NIGHTS_PER_MONTH = 30


def nightly_plans(repo: Path) -> dict[str, tuple[Plan, object]]:
    """The plan (and simulated run, for the picture) of the flagship in every environment."""
    from airkube_plan.planner import plan_dag

    plans = {}
    for env in ENVIRONMENTS:
        plan, outcome, _ = plan_dag(repo / DAG_FILE, DAG_ID, env, durations_file=repo / DURATIONS)
        plans[env] = (plan, outcome)
    return plans


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d}"


def month_totals(repo: Path) -> dict[tuple[str, int], Decimal]:
    """(environment, worker nodes all month) -> the cost table's monthly total."""
    columns, lines = cost_lines(repo)
    return {
        (column.env.name, column.workers): sum((line.amounts[i] for line in lines), Decimal(0))
        for i, column in enumerate(columns)
    }


def render_section(repo: Path, plans: Mapping[str, Plan]) -> str:
    """The markdown between the markers: one row per environment, then where the figures come from."""
    totals = month_totals(repo)
    rows = [
        "| environment | makespan | critical path | peak running tasks | peak nodes | node-hours above the "
        "floor (lower bound, ratio) | a night | 30 nights | month at 1 node | month at max nodes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for env in ENVIRONMENTS:
        plan = plans[env]
        pool = plan.worker_pool
        night = Decimal(str(plan.node_hours_above_minimum * pool.usd_per_hour))
        rows.append(
            f"| {env} | {_hours(plan.makespan_seconds)} | {_hours(plan.critical_path_seconds)} | "
            f"{plan.peak_running_tasks} | {plan.peak_nodes} of {pool.max_nodes} | "
            f"{plan.node_hours_above_minimum:.1f} ({plan.node_hours_lower_bound:.1f}, "
            f"{plan.efficiency_ratio:.2f}) | {night:,.2f} | {night * NIGHTS_PER_MONTH:,.2f} | "
            f"{totals[(env, pool.min_nodes)]:,.2f} | {totals[(env, pool.max_nodes)]:,.2f} |"
        )
    limits = {env: plans[env].limited_by[0]["factor"] for env in ENVIRONMENTS if plans[env].limited_by}
    limit_text = "; ".join(f"{env}: {factor}" for env, factor in limits.items())
    return (
        "\n".join(rows)
        + '\n\nUSD at on-demand prices; "a night" is what the worker nodes above the always-on one cost '
        "(that one is in the month's 1-node figure). What limited the run most: " + limit_text + ".\n\n"
        f"![{DAG_ID} planned on prod: worker nodes, running tasks and pending pods]({PICTURE.as_posix()})\n"
    )


def _split(text: str) -> tuple[str, str, str]:
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"{README} must hold {BEGIN} and then {END} once each")
    head, rest = text.split(BEGIN + "\n", 1)
    body, tail = rest.split(END, 1)
    return head + BEGIN + "\n", body, END + tail


def readme_section(repo: Path) -> str:
    return _split((repo / README).read_text())[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the README's planned-night section, or --write it (and its picture) into the repository."""
    parser = argparse.ArgumentParser(prog="python -m airkube_plan.readme_plan", description=main.__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite README.md's section and the picture")
    parser.add_argument("--repo", type=Path, default=repo_root(), help="the repository's root")
    args = parser.parse_args(argv)
    from airkube_plan.cli import stdout_to_stderr

    with stdout_to_stderr():  # Airflow logs while parsing the DAG; standard output is the section alone
        planned = nightly_plans(args.repo)
    section = render_section(args.repo, {env: plan for env, (plan, _) in planned.items()})
    if not args.write:
        sys.stdout.write(section)
        return 0
    from airkube_plan.plot import draw

    plan, outcome = planned["prod"]
    (args.repo / PICTURE).parent.mkdir(parents=True, exist_ok=True)
    draw(plan, outcome, args.repo / PICTURE)
    readme = args.repo / README
    head, _, tail = _split(readme.read_text())
    readme.write_text(head + section + tail)
    print(f"{readme}: planned night written; {args.repo / PICTURE} drawn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
