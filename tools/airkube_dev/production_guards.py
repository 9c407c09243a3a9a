"""Production's guards against database faults, read from terraform/ and helm/ so that the local platform
runs exactly the values production does (one source of truth, no copy to drift).

A process killed while its children share its database connection (LocalExecutor workers, here) can
leave a transaction open, holding row locks the other scheduler waits on. PgBouncer closes a client idle
in a transaction after `idle_transaction_timeout`; PostgreSQL (RDS's parameter group) ends such a
session after `idle_in_transaction_session_timeout`, behind it. And a task's calls to the api-server are
retried for long enough to ride out a database failover (`[workers] execution_api_retries`).
"""

from __future__ import annotations

from functools import cache

import yaml

from airkube_dev.chart import REPO
from airkube_plan.terraform_vars import load_hcl

PLATFORM_TF = REPO / "terraform" / "platform" / "main.tf"
RDS_TF = REPO / "terraform" / "modules" / "rds" / "main.tf"
HELM_VALUES = REPO / "helm" / "values.yaml"


@cache
def pgbouncer_idle_transaction_timeout() -> int:
    """Seconds (PgBouncer's unit), the platform layer's `local.pgbouncer_idle_transaction_timeout`."""
    for block in load_hcl(PLATFORM_TF).get("locals", []):
        if "pgbouncer_idle_transaction_timeout" in block:
            return int(block["pgbouncer_idle_transaction_timeout"])
    raise LookupError(f"{PLATFORM_TF}: no local pgbouncer_idle_transaction_timeout")


@cache
def postgres_idle_in_transaction_session_timeout() -> int:
    """Milliseconds (PostgreSQL's unit), the RDS parameter group's value."""
    for resource in load_hcl(RDS_TF).get("resource", []):
        for body in resource.get("aws_db_parameter_group", {}).values():
            for parameter in body.get("parameter", []):
                if parameter["name"] == "idle_in_transaction_session_timeout":
                    return int(parameter["value"])
    raise LookupError(f"{RDS_TF}: no idle_in_transaction_session_timeout parameter")


@cache
def execution_api_retries() -> int:
    """`[workers] execution_api_retries` as helm/values.yaml sets it for every environment."""
    config = yaml.safe_load(HELM_VALUES.read_text())["config"]
    try:
        return int(config["workers"]["execution_api_retries"])
    except KeyError:
        raise LookupError(f"{HELM_VALUES}: no config.workers.execution_api_retries") from None
