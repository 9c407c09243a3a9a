"""README.md's cost table against its sources: terraform/pricing.yaml and the environments' Terraform.

The table has no figures of its own, so a price or a node count edited in one place only must fail here;
a bad price or an instance type pricing.yaml does not know must fail with the entry and field named.
"""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from airkube_plan.cost_table import (
    CostTableError,
    cost_lines,
    load_environment,
    readme_section,
    render_cost_section,
    render_cost_table,
)
from airkube_plan.pricing import PricingError, load_pricing
from paths import REPO


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The files the table is made from, in a scratch repository the test may break."""
    shutil.copytree(REPO / "terraform", tmp_path / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    return tmp_path


def _edit_pricing(repo: Path, edit) -> None:
    path = repo / "terraform" / "pricing.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))


def _figures(table: str) -> dict[str, list[Decimal]]:
    """The table's rows as item -> figures, read back from the markdown as a reader sees it."""
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = [Decimal(re.sub(r"[*,]", "", c)) for c in cells[2:]]
    return rows


def test_readme_table_is_generated_from_pricing_and_terraform() -> None:
    assert readme_section(REPO) == render_cost_section(REPO), (
        "README.md's cost table differs from terraform/pricing.yaml and the Terraform variables: edit "
        "the sources, then run `python -m airkube_plan.cost_table --write`"
    )


def test_a_price_edited_only_in_pricing_yaml_makes_the_readme_stale(repo_copy: Path) -> None:
    _edit_pricing(repo_copy, lambda d: d["instance_types"]["m6i.xlarge"].update(usd_per_hour=0.215))
    assert readme_section(repo_copy) != render_cost_section(repo_copy)


def test_a_node_count_edited_only_in_tfvars_makes_the_readme_stale(repo_copy: Path) -> None:
    tfvars = repo_copy / "terraform" / "envs" / "prod" / "terraform.tfvars"
    tfvars.write_text(tfvars.read_text().replace("worker_max_nodes = 60", "worker_max_nodes = 80"))
    assert "| prod, 80 nodes |" in render_cost_table(repo_copy)
    assert readme_section(repo_copy) != render_cost_section(repo_copy)


def test_totals_are_the_sums_of_the_lines() -> None:
    rows = _figures(render_cost_table(REPO))
    total = rows.pop("**total, USD a month**")
    assert [sum(column) for column in zip(*rows.values(), strict=True)] == total


def test_worker_and_system_lines_follow_the_loaded_prices_and_node_counts() -> None:
    pricing = load_pricing(REPO)
    columns, lines = cost_lines(REPO)
    by_item = {line.item.split(",")[0]: line.amounts for line in lines}
    hours = pricing.hours_per_month
    for i, column in enumerate(columns):
        env = column.env
        assert by_item["worker node group"][i] == round(
            Decimal(repr(env.worker_type.usd_per_hour)) * column.workers * hours, 2
        )
        assert by_item["system node group"][i] == round(
            Decimal(repr(env.system_type.usd_per_hour)) * env.system_nodes * hours, 2
        )
    # One figure checked by hand: 60 x m6i.xlarge x $0.214/h x 730 h = $9,373.20 (staging's ceiling).
    assert columns[1].title == "staging, 60 nodes"
    assert by_item["worker node group"][1] == Decimal("9373.20")


def test_environment_takes_module_defaults_where_tfvars_are_silent() -> None:
    pricing = load_pricing(REPO)
    staging, prod = (load_environment(REPO, env, pricing) for env in ("staging", "prod"))
    # system_node_count and node_disk_size_gb: terraform/modules/eks; allocated_storage_gb: modules/rds.
    assert (staging.system_nodes, staging.node_disk_gb, staging.db_storage_gb) == (3, 50, 50)
    assert (staging.nat_gateways, prod.nat_gateways) == (1, 3)  # single_nat_gateway vs one per zone


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (
            lambda d: d["instance_types"]["m6i.xlarge"].update(max_pods="many"),
            "instance_types.m6i.xlarge.max_pods",
        ),
        (
            lambda d: d["instance_types"]["c6i.large"].update(usd_per_hour=-0.1),
            "instance_types.c6i.large.usd_per_hour",
        ),
        (
            lambda d: d["instance_types"]["r6i.large"].pop("vcpu"),
            "instance_types.r6i.large lacks field(s) vcpu",
        ),
        (
            lambda d: d["instance_types"]["m6a.large"].update(usd_per_hr=1),
            "instance_types.m6a.large has unknown",
        ),
        (
            lambda d: d["rds"]["instance_classes"]["db.m7g.large"].update(multi_az_usd_per_hour=None),
            "rds.instance_classes.db.m7g.large.multi_az_usd_per_hour",
        ),
        (lambda d: d["vpc"].update(nat_gateway_usd_per_hour="0.048"), "vpc.nat_gateway_usd_per_hour"),
        (lambda d: d.pop("as_of"), "top level lacks field(s) as_of"),
    ],
)
def test_a_bad_pricing_entry_is_named_with_its_field(repo_copy: Path, edit, named: str) -> None:
    _edit_pricing(repo_copy, edit)
    with pytest.raises(PricingError, match=re.escape(named)) as raised:
        load_pricing(repo_copy)
    assert "pricing.yaml" in str(raised.value)


def test_an_instance_type_pricing_yaml_lacks_is_a_clear_error(repo_copy: Path) -> None:
    tfvars = repo_copy / "terraform" / "envs" / "staging" / "terraform.tfvars"
    tfvars.write_text(tfvars.read_text() + 'worker_instance_types = ["m5.large"]\n')
    with pytest.raises(CostTableError) as raised:
        render_cost_table(repo_copy)
    message = str(raised.value)
    for part in ("'staging'", "worker_instance_types", "'m5.large'", "terraform/pricing.yaml"):
        assert part in message


def test_extra_rows_follow_the_total_and_must_fill_the_table() -> None:
    row = ("planned nightly run", "", "1.00", "2.00", "3.00", "4.00")
    table = render_cost_table(REPO, extra_rows=[row])
    assert table.splitlines()[-1] == "| planned nightly run | | 1.00 | 2.00 | 3.00 | 4.00 |"
    with pytest.raises(CostTableError, match="has 2 cells; the table has 6"):
        render_cost_table(REPO, extra_rows=[("too", "short")])
