"""An environment's Terraform variables as `terraform apply` would resolve them, read without Terraform.

terraform/envs/<env>/terraform.tfvars wins; a variable it does not set takes the default of
terraform/envs/<env>/variables.tf, and one the environment root does not expose at all takes the default of
the module that declares it (e.g. system_node_count in terraform/modules/eks). The planner and the README's
cost table read the same values, so neither keeps its own copy of a node count or an instance type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

# Deepest first: the environment module's own default of a variable it passes on wins over the leaf's.
# python-hcl2 keeps a string's quotes unless told not to; values here are what Terraform means.
_AS_TERRAFORM_READS = SerializationOptions(strip_string_quotes=True)
MODULES_WITH_DEFAULTS = ("eks", "rds", "network", "efs", "environment")


class TerraformVarsError(ValueError):
    """An environment or variable the Terraform files do not define."""


def load_hcl(path: Path) -> dict[str, Any]:
    """A Terraform file parsed, its strings (values and block labels) without their quotes."""
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=_AS_TERRAFORM_READS)


def _variable_defaults(variables_tf: Path) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for block in load_hcl(variables_tf).get("variable", []):
        for name, body in block.items():
            if "default" in body:
                defaults[name] = body["default"]
    return defaults


def environment_variables(repo: Path, env: str) -> dict[str, Any]:
    """Every variable of environment `env` with its resolved value (tfvars, then defaults)."""
    env_dir = repo / "terraform" / "envs" / env
    tfvars = env_dir / "terraform.tfvars"
    if not tfvars.exists():
        known = sorted(p.parent.name for p in (repo / "terraform" / "envs").glob("*/terraform.tfvars"))
        raise TerraformVarsError(f"no Terraform environment {env!r}: {tfvars} is missing (known: {known})")
    values: dict[str, Any] = {}
    for module in MODULES_WITH_DEFAULTS:
        module_vars = repo / "terraform" / "modules" / module / "variables.tf"
        if module_vars.exists():
            values.update(_variable_defaults(module_vars))
    values.update(_variable_defaults(env_dir / "variables.tf"))
    values.update(load_hcl(tfvars))
    return values


def variable(values: dict[str, Any], name: str, env: str) -> Any:
    """One resolved variable, with an error naming it and the environment when nothing sets it."""
    if name not in values:
        raise TerraformVarsError(f"Terraform environment {env!r} sets no {name!r} and no module defaults it")
    return values[name]


def platform_variables(repo: Path, env: str) -> dict[str, Any]:
    """The platform layer's variables (terraform/platform) for `env`: its <env>.tfvars over the defaults."""
    platform = repo / "terraform" / "platform"
    values = _variable_defaults(platform / "variables.tf")
    tfvars = platform / f"{env}.tfvars"
    if tfvars.exists():
        values.update(load_hcl(tfvars))
    return values


def duration_seconds(value: str, name: str) -> float:
    """A Go-style duration as the autoscaler's flags take it (`10s`, `3m`, `1h`)."""
    units = {"s": 1, "m": 60, "h": 3600}
    text = str(value).strip()
    if len(text) < 2 or text[-1] not in units or not text[:-1].replace(".", "", 1).isdigit():
        raise TerraformVarsError(f"{name} = {value!r} is not a duration such as 10s, 3m or 1h")
    return float(text[:-1]) * units[text[-1]]
