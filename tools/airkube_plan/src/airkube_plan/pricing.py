"""terraform/pricing.yaml, loaded and checked: the one place the repository keeps AWS prices.

The README's cost table and the capacity planner both price from here, so a price changes in one file.
Every field is checked on load, and a bad one is named with its entry, so a typo fails loudly instead of
showing up as a wrong dollar figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

PRICING_FILE = Path("terraform") / "pricing.yaml"
TOP = "top level"


class PricingError(ValueError):
    """terraform/pricing.yaml is missing, malformed, or has no entry for what was asked."""


@dataclass(frozen=True)
class InstanceType:
    """An EC2 instance type a node group may use: what it holds and what an hour of it costs."""

    name: str
    vcpu: int
    memory_gib: float
    max_pods: int  # the EKS AMI's ENI-based limit (eni-max-pods.txt)
    usd_per_hour: float


@dataclass(frozen=True)
class RdsInstanceClass:
    """An RDS PostgreSQL instance class; Multi-AZ has its own price (it runs a standby)."""

    name: str
    single_az_usd_per_hour: float
    multi_az_usd_per_hour: float

    def usd_per_hour(self, multi_az: bool) -> float:
        """The hourly price of this class as deployed."""
        return self.multi_az_usd_per_hour if multi_az else self.single_az_usd_per_hour


@dataclass(frozen=True)
class Pricing:
    """Every price in terraform/pricing.yaml, typed; amounts in USD."""

    path: Path
    region: str
    as_of: str
    hours_per_month: int
    eks_control_plane_usd_per_hour: float
    ebs_gp3_usd_per_gb_month: float
    nat_gateway_usd_per_hour: float
    nat_gateway_usd_per_gb: float
    public_ipv4_usd_per_hour: float
    rds_gp3_single_az_usd_per_gb_month: float
    rds_gp3_multi_az_usd_per_gb_month: float
    rds_instance_classes: Mapping[str, RdsInstanceClass]
    kms_usd_per_key_month: float
    secrets_manager_usd_per_secret_month: float
    s3_usd_per_gb_month: float
    efs_usd_per_gb_month: float
    cloudwatch_logs_usd_per_gb_ingested: float
    ecr_usd_per_gb_month: float
    instance_types: Mapping[str, InstanceType]

    def instance(self, name: str) -> InstanceType:
        """One EC2 instance type, or an error saying where to add it."""
        try:
            return self.instance_types[name]
        except KeyError:
            raise PricingError(
                f"instance type {name!r} has no entry under instance_types in {self.path} "
                f"(known: {', '.join(sorted(self.instance_types))}); add it with vcpu, memory_gib, max_pods "
                "and usd_per_hour"
            ) from None

    def rds_class(self, name: str) -> RdsInstanceClass:
        """One RDS instance class, or an error saying where to add it."""
        try:
            return self.rds_instance_classes[name]
        except KeyError:
            raise PricingError(
                f"RDS instance class {name!r} has no entry under rds.instance_classes in {self.path} "
                f"(known: {', '.join(sorted(self.rds_instance_classes))}); add it with "
                "single_az_usd_per_hour and multi_az_usd_per_hour"
            ) from None

    def rds_gp3_usd_per_gb_month(self, multi_az: bool) -> float:
        """RDS gp3 storage per GB-month as deployed (Multi-AZ stores everything twice)."""
        return self.rds_gp3_multi_az_usd_per_gb_month if multi_az else self.rds_gp3_single_az_usd_per_gb_month


def _is_number(value: Any) -> bool:
    """A finite int or float; YAML's true/false and .nan/.inf are not prices."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


class _Reader:
    """Reads one mapping of the file, naming the file, the entry and the field in every error."""

    def __init__(self, path: Path, where: str, data: Any, fields: tuple[str, ...]) -> None:
        self.path, self.where = path, where
        if not isinstance(data, dict):
            raise self.error(f"{where} must be a mapping, got {data!r}")
        missing = [f for f in fields if f not in data]
        unknown = sorted(str(k) for k in data if k not in fields)
        if missing:
            raise self.error(f"{where} lacks field(s) {', '.join(missing)}")
        if unknown:
            raise self.error(
                f"{where} has unknown field(s) {', '.join(unknown)} (expected: {', '.join(fields)})"
            )
        self.data: dict[str, Any] = data

    def error(self, message: str) -> PricingError:
        return PricingError(f"{self.path}: {message}")

    def price(self, field: str) -> float:
        """A non-negative number (a price may be 0, never negative or text)."""
        value = self.data[field]
        if not _is_number(value) or value < 0:
            raise self.error(f"{self._child(field)} must be a non-negative number of USD, got {value!r}")
        return float(value)

    def positive_int(self, field: str) -> int:
        value = self.data[field]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(f"{self._child(field)} must be a positive whole number, got {value!r}")
        return value

    def positive_number(self, field: str) -> float:
        value = self.data[field]
        if not _is_number(value) or value <= 0:
            raise self.error(f"{self._child(field)} must be a positive number, got {value!r}")
        return float(value)

    def text(self, field: str) -> str:
        value = self.data[field]
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{self._child(field)} must be a non-empty string, got {value!r}")
        return value

    def _child(self, field: str) -> str:
        return field if self.where == TOP else f"{self.where}.{field}"

    def section(self, field: str, fields: tuple[str, ...]) -> _Reader:
        """A nested mapping with exactly `fields`."""
        return _Reader(self.path, self._child(field), self.data[field], fields)

    def entries(self, field: str, fields: tuple[str, ...]) -> dict[str, _Reader]:
        """A mapping of named entries (instance types, RDS classes), each read with `fields`."""
        table, where = self.data[field], self._child(field)
        if not isinstance(table, dict) or not table:
            raise self.error(f"{where} must be a non-empty mapping of names to entries, got {table!r}")
        return {
            str(name): _Reader(self.path, f"{where}.{name}", body, fields) for name, body in table.items()
        }


def load_pricing(repo: Path) -> Pricing:
    """Read repo/terraform/pricing.yaml and check every field; PricingError names the entry and field."""
    path = repo / PRICING_FILE
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PricingError(f"{path} does not exist: the prices of the cost table and the planner") from None
    except yaml.YAMLError as exc:
        raise PricingError(f"{path} is not valid YAML: {exc}") from None

    top = _Reader(
        path,
        TOP,
        data,
        (
            "region",
            "as_of",
            "hours_per_month",
            "eks",
            "ebs",
            "vpc",
            "rds",
            "kms",
            "secrets_manager",
            "s3",
            "efs",
            "cloudwatch_logs",
            "ecr",
            "instance_types",
        ),
    )
    vpc = top.section(
        "vpc", ("nat_gateway_usd_per_hour", "nat_gateway_usd_per_gb", "public_ipv4_usd_per_hour")
    )
    rds = top.section("rds", ("gp3_usd_per_gb_month", "instance_classes"))
    rds_gp3 = rds.section("gp3_usd_per_gb_month", ("single_az", "multi_az"))

    instance_types = {
        name: InstanceType(
            name=name,
            vcpu=entry.positive_int("vcpu"),
            memory_gib=entry.positive_number("memory_gib"),
            max_pods=entry.positive_int("max_pods"),
            usd_per_hour=entry.price("usd_per_hour"),
        )
        for name, entry in top.entries(
            "instance_types", ("vcpu", "memory_gib", "max_pods", "usd_per_hour")
        ).items()
    }
    rds_classes = {
        name: RdsInstanceClass(
            name=name,
            single_az_usd_per_hour=entry.price("single_az_usd_per_hour"),
            multi_az_usd_per_hour=entry.price("multi_az_usd_per_hour"),
        )
        for name, entry in rds.entries(
            "instance_classes", ("single_az_usd_per_hour", "multi_az_usd_per_hour")
        ).items()
    }
    return Pricing(
        path=path,
        region=top.text("region"),
        as_of=top.text("as_of"),
        hours_per_month=top.positive_int("hours_per_month"),
        eks_control_plane_usd_per_hour=top.section("eks", ("control_plane_usd_per_hour",)).price(
            "control_plane_usd_per_hour"
        ),
        ebs_gp3_usd_per_gb_month=top.section("ebs", ("gp3_usd_per_gb_month",)).price("gp3_usd_per_gb_month"),
        nat_gateway_usd_per_hour=vpc.price("nat_gateway_usd_per_hour"),
        nat_gateway_usd_per_gb=vpc.price("nat_gateway_usd_per_gb"),
        public_ipv4_usd_per_hour=vpc.price("public_ipv4_usd_per_hour"),
        rds_gp3_single_az_usd_per_gb_month=rds_gp3.price("single_az"),
        rds_gp3_multi_az_usd_per_gb_month=rds_gp3.price("multi_az"),
        rds_instance_classes=MappingProxyType(rds_classes),
        kms_usd_per_key_month=top.section("kms", ("usd_per_key_month",)).price("usd_per_key_month"),
        secrets_manager_usd_per_secret_month=top.section("secrets_manager", ("usd_per_secret_month",)).price(
            "usd_per_secret_month"
        ),
        s3_usd_per_gb_month=top.section("s3", ("usd_per_gb_month",)).price("usd_per_gb_month"),
        efs_usd_per_gb_month=top.section("efs", ("usd_per_gb_month",)).price("usd_per_gb_month"),
        cloudwatch_logs_usd_per_gb_ingested=top.section("cloudwatch_logs", ("usd_per_gb_ingested",)).price(
            "usd_per_gb_ingested"
        ),
        ecr_usd_per_gb_month=top.section("ecr", ("usd_per_gb_month",)).price("usd_per_gb_month"),
        instance_types=MappingProxyType(instance_types),
    )
