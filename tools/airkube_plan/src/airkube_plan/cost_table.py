"""README.md's "What an environment costs" table, generated from terraform/pricing.yaml and the Terraform.

Kept by hand, the table repeated every price and every node count, and nothing noticed when one copy
changed. Generated, it has no figure of its own: prices come from terraform/pricing.yaml, the shape of each
environment from its Terraform variables (terraform_vars), and the KMS key and secret counts from the
Terraform files. `python -m airkube_plan.cost_table --write` rewrites the README between the markers;
tests/plan/test_cost_table.py fails while the README and the sources disagree.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from airkube_plan.nodes import repo_root
from airkube_plan.pricing import InstanceType, Pricing, PricingError, RdsInstanceClass, load_pricing
from airkube_plan.terraform_vars import environment_variables, load_hcl, variable

# The two environments terraform/envs/root/variables.tf accepts, in the table's column order.
ENVIRONMENTS = ("staging", "prod")
README = Path("README.md")
BEGIN = "<!-- cost-table:begin -->"
END = "<!-- cost-table:end -->"
README_WIDTH = 104  # the README's prose wraps at about this width
CENT = Decimal("0.01")


class CostTableError(ValueError):
    """The Terraform variables, the README's markers or an extra row cannot make a table."""


@dataclass(frozen=True)
class Environment:
    """What an environment runs, as `terraform apply` would resolve its variables, with prices attached."""

    name: str
    system_type: InstanceType
    system_nodes: int
    worker_type: InstanceType
    worker_min_nodes: int
    worker_max_nodes: int
    node_disk_gb: int
    nat_gateways: int
    db_class: RdsInstanceClass
    db_multi_az: bool
    db_storage_gb: int


@dataclass(frozen=True)
class Column:
    """One figure column: an environment with its worker node group held at `workers` all month."""

    env: Environment
    workers: int

    @property
    def title(self) -> str:
        return f"{self.env.name}, {self.workers} node{'' if self.workers == 1 else 's'}"


@dataclass(frozen=True)
class Line:
    """One row of the table: what it is, its unit price and its monthly USD per column (in cents)."""

    item: str
    unit_price: str
    amounts: tuple[Decimal, ...]


def _whole(values: dict[str, Any], name: str, env: str) -> int:
    value = variable(values, name, env)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise CostTableError(f"Terraform environment {env!r}: {name} must be a whole number, got {value!r}")
    return int(value)


def _flag(values: dict[str, Any], name: str, env: str) -> bool:
    value = variable(values, name, env)
    if not isinstance(value, bool):
        raise CostTableError(f"Terraform environment {env!r}: {name} must be true or false, got {value!r}")
    return value


def _priced(env: str, name: str, value: str, lookup: Callable[[str], Any]) -> Any:
    """A price lookup whose error also says which environment and variable asked for it."""
    try:
        return lookup(value)
    except PricingError as exc:
        raise CostTableError(f"Terraform environment {env!r}, {name} = {value!r}: {exc}") from None


def load_environment(repo: Path, env: str, pricing: Pricing) -> Environment:
    """One environment's shape and prices; a type pricing.yaml does not know is an error naming both."""
    values = environment_variables(repo, env)

    def first_type(name: str) -> InstanceType:
        # A managed node group's on-demand capacity takes the first listed type first: price that one.
        types = list(variable(values, name, env))
        if not types:
            raise CostTableError(f"Terraform environment {env!r}: {name} lists no instance type")
        return _priced(env, name, types[0], pricing.instance)

    # As terraform/modules/network's nat_count: one NAT gateway, or one per availability zone.
    single_nat = _flag(values, "single_nat_gateway", env)
    zones = variable(values, "availability_zones", env)
    return Environment(
        name=env,
        system_type=first_type("system_instance_types"),
        system_nodes=_whole(values, "system_node_count", env),
        worker_type=first_type("worker_instance_types"),
        worker_min_nodes=_whole(values, "worker_min_nodes", env),
        worker_max_nodes=_whole(values, "worker_max_nodes", env),
        node_disk_gb=_whole(values, "node_disk_size_gb", env),
        nat_gateways=1 if single_nat else len(zones),
        db_class=_priced(
            env, "db_instance_class", variable(values, "db_instance_class", env), pricing.rds_class
        ),
        db_multi_az=_flag(values, "db_multi_az", env),
        db_storage_gb=_whole(values, "allocated_storage_gb", env),
    )


def _count_blocks(files: Sequence[Path], kind: str, type_name: str) -> int:
    """How many `resource`/`data` blocks of one type the files declare (none of them uses count)."""
    total = 0
    for tf in files:
        for block in load_hcl(tf).get(kind, []):
            total += sum(1 for label in block if label == type_name)
    return total


def kms_keys_and_secrets(repo: Path) -> tuple[int, int]:
    """Customer-managed KMS keys an environment creates, and the Secrets Manager secrets it keeps.

    The keys are the aws_kms_key resources of the modules terraform/modules/environment calls; the secrets
    are the ones the platform layer reads (RDS's managed master password and the hand-made DAG deploy key).
    """
    environment_tf = repo / "terraform" / "modules" / "environment" / "main.tf"
    calls = load_hcl(environment_tf).get("module", [])
    module_dirs = sorted(
        {(environment_tf.parent / body["source"]).resolve() for call in calls for body in call.values()}
    )
    keys = _count_blocks(
        [tf for d in module_dirs for tf in sorted(d.glob("*.tf"))], "resource", "aws_kms_key"
    )
    platform = sorted((repo / "terraform" / "platform").glob("*.tf"))
    return keys, _count_blocks(platform, "data", "aws_secretsmanager_secret_version")


def _usd(value: float | int) -> Decimal:
    """A price as the decimal written in pricing.yaml (0.107, not 0.10699999...)."""
    return Decimal(repr(value))


def _unit(value: float | int) -> str:
    """A unit price as the README writes it: $1, $0.10, $0.107."""
    amount = _usd(value)
    if amount == amount.to_integral_value():
        return f"${int(amount)}"
    cents = amount.quantize(CENT)
    return f"${cents if cents == amount else amount}"


def _per_env(envs: Sequence[Environment], describe: Callable[[Environment], str]) -> str:
    """One description when every environment agrees, else 'staging a, prod b'."""
    described = [describe(e) for e in envs]
    if len(set(described)) == 1:
        return described[0]
    return ", ".join(f"{e.name} {d}" for e, d in zip(envs, described, strict=True))


def _columns(envs: Sequence[Environment]) -> list[Column]:
    return [Column(e, n) for e in envs for n in (e.worker_min_nodes, e.worker_max_nodes)]


def cost_lines(repo: Path) -> tuple[list[Column], list[Line]]:
    """The table's columns and lines, in USD a month rounded to the cent (the total sums these)."""
    pricing = load_pricing(repo)
    envs = [load_environment(repo, name, pricing) for name in ENVIRONMENTS]
    columns = _columns(envs)
    hours = Decimal(pricing.hours_per_month)
    keys, secrets = kms_keys_and_secrets(repo)

    def line(item: str, unit_price: str, monthly: Callable[[Column], Decimal]) -> Line:
        amounts = tuple(monthly(c).quantize(CENT, ROUND_HALF_UP) for c in columns)
        return Line(item, unit_price, amounts)

    def rds_hourly(e: Environment) -> float:
        return e.db_class.usd_per_hour(e.db_multi_az)

    nat_hourly = _usd(pricing.nat_gateway_usd_per_hour) + _usd(pricing.public_ipv4_usd_per_hour)
    return columns, [
        line(
            "EKS control plane",
            f"{_unit(pricing.eks_control_plane_usd_per_hour)}/h",
            lambda c: _usd(pricing.eks_control_plane_usd_per_hour) * hours,
        ),
        line(
            f"system node group, {_per_env(envs, lambda e: f'{e.system_nodes} x `{e.system_type.name}`')}",
            f"{_per_env(envs, lambda e: _unit(e.system_type.usd_per_hour) + '/h')} each",
            lambda c: c.env.system_nodes * _usd(c.env.system_type.usd_per_hour) * hours,
        ),
        line(
            f"worker node group, {_per_env(envs, lambda e: f'`{e.worker_type.name}`')}",
            f"{_per_env(envs, lambda e: _unit(e.worker_type.usd_per_hour) + '/h')} each",
            lambda c: c.workers * _usd(c.env.worker_type.usd_per_hour) * hours,
        ),
        line(
            f"node root volumes, {_per_env(envs, lambda e: f'{e.node_disk_gb} GiB')} gp3 each",
            f"{_unit(pricing.ebs_gp3_usd_per_gb_month)}/GB-month",
            lambda c: (
                (c.env.system_nodes + c.workers) * c.env.node_disk_gb * _usd(pricing.ebs_gp3_usd_per_gb_month)
            ),
        ),
        line(
            f"NAT gateways and their public IPv4 ({', '.join(f'{e.name} {e.nat_gateways}' for e in envs)})",
            f"{_unit(pricing.nat_gateway_usd_per_hour)}/h + {_unit(pricing.public_ipv4_usd_per_hour)}/h each",
            lambda c: c.env.nat_gateways * nat_hourly * hours,
        ),
        line(
            "RDS PostgreSQL: "
            + ", ".join(
                f"{e.name} `{e.db_class.name}` {'Multi-AZ' if e.db_multi_az else 'single-AZ'}" for e in envs
            )
            + f", {_per_env(envs, lambda e: f'{e.db_storage_gb} GB')} gp3",
            "; ".join(f"{_unit(rds_hourly(e))}/h" for e in envs),
            lambda c: (
                _usd(rds_hourly(c.env)) * hours
                + c.env.db_storage_gb * _usd(pricing.rds_gp3_usd_per_gb_month(c.env.db_multi_az))
            ),
        ),
        line(
            f"KMS keys ({keys}) and Secrets Manager secrets ({secrets})",
            f"{_unit(pricing.kms_usd_per_key_month)} and "
            f"{_unit(pricing.secrets_manager_usd_per_secret_month)} a month each",
            lambda c: (
                keys * _usd(pricing.kms_usd_per_key_month)
                + secrets * _usd(pricing.secrets_manager_usd_per_secret_month)
            ),
        ),
    ]


def _row(cells: Sequence[str]) -> str:
    return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"


def render_cost_table(repo: Path, extra_rows: Sequence[tuple[str, ...]] = ()) -> str:
    """The markdown table. `extra_rows` (item, unit price, one cell per column) follow the total, unsummed."""
    columns, lines = cost_lines(repo)
    width = 2 + len(columns)
    rows = [
        _row(["item (instance type)", "unit price", *(c.title for c in columns)]),
        "|---|---|" + "---:|" * len(columns),
    ]
    rows += [_row([ln.item, ln.unit_price, *(f"{a:,.2f}" for a in ln.amounts)]) for ln in lines]
    totals = [sum((ln.amounts[i] for ln in lines), Decimal(0)) for i in range(len(columns))]
    rows.append(_row(["**total, USD a month**", "", *(f"**{t:,.2f}**" for t in totals)]))
    for extra in extra_rows:
        if len(extra) != width:
            raise CostTableError(f"extra row {extra!r} has {len(extra)} cells; the table has {width}")
        rows.append(_row(extra))
    return "\n".join(rows) + "\n"


def render_usage_paragraph(repo: Path) -> str:
    """The paragraph under the table: the usage-based prices, and why the ceiling column is not a forecast."""
    pricing = load_pricing(repo)
    envs = [load_environment(repo, name, pricing) for name in ENVIRONMENTS]

    ceilings = sorted({e.worker_max_nodes for e in envs})
    if len(ceilings) == 1:
        ceiling = f"The {ceilings[0]}-node columns are ceilings, not forecasts"
    else:
        ceiling = f"The {' and '.join(f'{n}-node' for n in ceilings)} columns are ceilings, not forecasts"
    text = (
        "Not in the table because they follow usage: "
        f"NAT data processing ({_unit(pricing.nat_gateway_usd_per_gb)}/GB), "
        f"S3 ({_unit(pricing.s3_usd_per_gb_month)}/GB-month), "
        f"EFS for task logs ({_unit(pricing.efs_usd_per_gb_month)}/GB-month plus elastic throughput), "
        "CloudWatch Logs for the control plane and the database "
        f"({_unit(pricing.cloudwatch_logs_usd_per_gb_ingested)}/GB ingested), "
        f"ECR storage ({_unit(pricing.ecr_usd_per_gb_month)}/GB-month). "
        f"{ceiling}: the Cluster Autoscaler adds worker nodes while the nightly run's pods are pending and "
        "removes them when idle: what a night really adds is planned below."
    )
    return textwrap.fill(text, README_WIDTH, break_on_hyphens=False, break_long_words=False) + "\n"


def render_cost_section(repo: Path, extra_rows: Sequence[tuple[str, ...]] = ()) -> str:
    """What belongs between the README's markers: the table, a blank line, the usage paragraph."""
    return render_cost_table(repo, extra_rows) + "\n" + render_usage_paragraph(repo)


def _split_readme(text: str, readme: Path) -> tuple[str, str, str]:
    """The README around and between its markers, each present once and in order."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise CostTableError(f"{readme} must hold {BEGIN} and then {END} once each, on lines of their own")
    head, rest = text.split(BEGIN + "\n", 1)
    body, tail = rest.split(END, 1)
    return head + BEGIN + "\n", body, END + tail


def readme_section(repo: Path) -> str:
    """What the README holds between its markers now."""
    readme = repo / README
    return _split_readme(readme.read_text(), readme)[1]


def write_readme(repo: Path, section: str) -> bool:
    """Put `section` between the README's markers; True when the file changed."""
    readme = repo / README
    text = readme.read_text()
    head, _, tail = _split_readme(text, readme)
    new = head + section + tail
    if new != text:
        readme.write_text(new)
    return new != text


def main(argv: Sequence[str] | None = None) -> int:
    """Print the README's cost section, --write it into README.md, or --check that README.md has it."""
    parser = argparse.ArgumentParser(prog="python -m airkube_plan.cost_table", description=main.__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite README.md between the cost-table markers")
    mode.add_argument("--check", action="store_true", help="exit 1 when README.md's table is out of date")
    parser.add_argument("--repo", type=Path, default=repo_root(), help="the repository's root")
    args = parser.parse_args(argv)
    try:
        section = render_cost_section(args.repo)
        if args.write:
            changed = write_readme(args.repo, section)
            print(f"{args.repo / README}: cost table {'rewritten' if changed else 'already up to date'}")
        elif args.check:
            if readme_section(args.repo) != section:
                print(
                    f"{args.repo / README}: the cost table differs from terraform/pricing.yaml and the "
                    "Terraform variables; run python -m airkube_plan.cost_table --write",
                    file=sys.stderr,
                )
                return 1
        else:
            sys.stdout.write(section)
    except (CostTableError, PricingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
