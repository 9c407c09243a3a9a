"""Each environment applied from nothing against moto, in README.md's order, by README.md's own script.

For staging and prod at once (each in a thread, against a moto server of its own whose account is the one
its terraform.tfvars names, so the provider's allowed_account_ids holds), in a scratch copy of the
repository:

1. scripts/new_environment.sh runs the README's steps 1 to 3 for real: `make bootstrap` (the state bucket,
   its own state under .local/terraform/), the DAG deploy key through the aws CLI, and `make
   apply-environment`, whose backend is backend.tf's own s3 backend, in the bucket step 1 made; it stops
   before step 4, the image push (no docker, no registry here; NEW_ENVIRONMENT_PUSH=0).
2. A second `terraform plan -detailed-exitcode` of terraform/envs/<env> finds nothing to change.
3. terraform/platform/environment.tf (what the platform layer reads: the environment's remote state, the
   database and deploy-key secrets, a cluster token) is applied as it is, with the platform's <env>.tfvars,
   and every local.* and data.* path that terraform/platform/main.tf reads from it is found there, in the
   shape main.tf uses it (base64decode and jsondecode included).
4. `terraform destroy` leaves nothing behind (a boto3 inventory of the account). Prod first refuses to
   destroy its database and buckets, as it must: the database's deletion protection, and a logs bucket that
   holds S3 access logs (force_destroy is off); the test then does by hand, on purpose, what README.md says
   (turns the protection off, empties the buckets), destroys, finds prod's final DB snapshot, deletes it too.

moto 5.2.5's gaps, each worked around in the scratch copy only, by the files in tests/terraform/
moto_overrides/ (its README.md says how), never silently:
- no API for EKS add-ons nor for the EFS backup policy: those five resources are left out;
- Deny statements with a condition in a bucket policy deny every object request (moto cannot evaluate
  aws:SecureTransport): the state bucket's policy is left out, and the by-hand emptying of prod's buckets
  removes their policies first;
- no EKS cluster security group: a security group made for the test stands in for it, so the RDS and EFS
  ingress rules are still applied;
- an S3 ARN's prefix taken for part of the bucket's name: the flow logs go to the logs bucket's root;
- attributes moto does not give back as AWS does, which would change at every plan, are ignored: the
  cluster's access config, the node groups' remote_access (moto invents one) and update_config, the launch
  template's own tag specification, Performance Insights, the DB parameters (moto gives no Source), and
  the description of an ingress rule that admits a security group;
- no Auto Scaling group behind a node group, a cluster CA that is random base64 rather than a
  certificate, and an RDS-managed master secret whose username is always "admin": the autoscaler's
  discovery tags, the CA's PEM (only that it is base64) and the secret's username are not checked.
What still only a real AWS account shows: those resources and attributes, node groups that start nodes,
RDS's TLS and parameters taking effect, and IAM and bucket policies being enforced as AWS does.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from moto_env import DEPLOY_KEY, EnvRun, db_instance

from airkube_plan.terraform_vars import load_hcl
from paths import REPO
from tf_cli import ENVS

pytestmark = pytest.mark.slow

for tool in ("make", "aws", "jq"):
    if shutil.which(tool) is None:
        pytest.skip(f"the README's sequence needs {tool} on PATH", allow_module_level=True)


def _result(runs: dict[str, Future[EnvRun]], env: str) -> EnvRun:
    """One environment's run (the environment_runs fixture, conftest.py, starts both at once)."""
    return runs[env].result(timeout=1800)


@pytest.mark.parametrize("env", ENVS)
def test_readme_sequence_applies_the_environment_from_nothing(
    environment_runs: dict[str, Future[EnvRun]], env: str
) -> None:
    run = _result(environment_runs, env)
    output = run.step("script").check()
    # The README's order: each step started after the one before it had succeeded, and the push was next.
    steps = [int(n) for n in re.findall(r"(?m)^== (\d)\. ", output)]
    assert steps == [1, 2, 3, 4], output
    assert "4. skipped (NEW_ENVIRONMENT_PUSH=0): make ecr-login push IMAGE_REGISTRY=" in output
    environment = run.outputs["environment"]
    assert f"image registry: {environment['image_registry']}" in output
    assert run.bootstrap_state, "make bootstrap keeps the state bucket's own state in .local/terraform/"
    assert f"envs/{env}/terraform.tfstate" in run.state_objects, (
        "the environment's state is in the state bucket"
    )
    assert run.deploy_key_secret == DEPLOY_KEY
    assert environment["name"] == env
    assert environment["image_registry"].startswith(
        f"{run.values['aws_account_id']}.dkr.ecr.{run.values['region']}."
    )


@pytest.mark.parametrize("env", ENVS)
def test_second_plan_changes_nothing(environment_runs: dict[str, Future[EnvRun]], env: str) -> None:
    plan = _result(environment_runs, env).step("second plan")
    assert plan.returncode == 0, f"the applied environment drifts (exit {plan.returncode}):\n{plan.output}"


REFERENCE = re.compile(r"\b((?:local|data\.\w+)\.\w+)((?:\.\w+)*)")
DECODED = re.compile(r"\b(base64decode|jsondecode)\(\s*((?:local|data\.\w+)\.\w+(?:\.\w+)*)\s*\)")


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _resolve(inputs: dict[str, Any], root: str, path: str) -> Any:
    value = inputs[root]
    for part in filter(None, path.split(".")):
        assert isinstance(value, dict) and part in value, f"{root}{path}: no {part!r} in {sorted(value)}"
        value = value[part]
    return value


@pytest.mark.parametrize("env", ENVS)
def test_platform_layer_finds_every_value_it_reads(
    environment_runs: dict[str, Future[EnvRun]], env: str
) -> None:
    run = _result(environment_runs, env)
    run.step("platform apply").check()
    inputs = run.platform_inputs
    expressions = list(_strings(load_hcl(REPO / "terraform" / "platform" / "main.tf")))
    used = {(m[1], m[2]) for text in expressions for m in REFERENCE.finditer(text) if m[1] in inputs}
    assert len(used) > 10, f"main.tf reads almost nothing from environment.tf: {sorted(used)}"
    for root, path in sorted(used):
        value = _resolve(inputs, root, path)
        assert value not in (None, "", [], {}), f"{root}{path} is empty after the apply"
    for text in expressions:
        for function, ref in DECODED.findall(text):
            root, path = REFERENCE.fullmatch(ref).groups()  # type: ignore[union-attr]
            value = _resolve(inputs, root, path)
            if function == "jsondecode":
                json.loads(value)
            else:  # moto's CA is random base64, not a certificate (see the module's docstring)
                base64.b64decode(value, validate=True)
    # The two ends of each handover agree.
    database = inputs["local.db"]
    assert inputs["local.db_airflow"]["username"] == database["airflow_role"] != database["master_username"]
    # (The master secret's own username is not compared: moto's is always "admin"; main.tf takes the user's
    # name from the environment's output and only the password from the secret.)
    assert inputs["local.git_ssh_key"] == DEPLOY_KEY, "the platform reads the key the README's step 2 stored"
    assert inputs["local.env"] == run.outputs["environment"]


@pytest.mark.parametrize("env", ENVS)
def test_destroy_leaves_nothing_behind(environment_runs: dict[str, Future[EnvRun]], env: str) -> None:
    run = _result(environment_runs, env)
    protected = run.values["db_deletion_protection"]
    if protected or not run.values["force_destroy"]:
        refused = run.step("destroy refused")
        assert refused.returncode != 0, (
            f"{env}'s database and buckets were destroyed despite their protections"
        )
        if protected:
            assert "Cannot delete protected DB Instance" in refused.output, refused.output
        if not run.values["force_destroy"]:
            assert "BucketNotEmpty" in refused.output, refused.output
    else:
        assert "destroy refused" not in run.steps
    run.step("destroy").check()
    # A protected database leaves a final snapshot behind (deleted by hand afterwards); the other, none.
    assert run.final_snapshots == ([db_instance(run)] if protected else []), run.final_snapshots
    assert run.leftovers == {}, f"{env}'s destroy left {run.leftovers}"
