"""Offline checks of terraform/: formatting, init + validate of every AWS-only root module, the modules'
and environments' `terraform test` suites (mock AWS provider), the layout rules, and terraform.mk."""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import Future
from pathlib import Path

import pytest

from paths import REPO
from tf_cli import ENVS, MODULES, TF_ROOT, Result, run

ROOTS = ["bootstrap"] + [f"envs/{env}" for env in ENVS] + [f"modules/{module}" for module in MODULES]
SHARED_ENV_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")


def test_fmt(tmp_path: Path) -> None:
    result = run(["fmt", "-check", "-recursive", "-diff", str(TF_ROOT)], REPO, tmp_path)
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform/`:\n{result.output}"


@pytest.mark.parametrize("root", ROOTS)
def test_init_and_validate(root: str, tf_roots: dict[str, Future[list[Result]]]) -> None:
    results = tf_roots[root].result(timeout=600)
    results[0].check()
    assert len(results) > 1 and "The configuration is valid" in results[1].check()


@pytest.mark.parametrize("root", ROOTS)
def test_terraform_test(root: str, tf_roots: dict[str, Future[list[Result]]]) -> None:
    """`terraform test` with mock_provider "aws": each module's tests/*.tftest.hcl; for envs/<env>, a plan
    of the real root with its own terraform.tfvars (terraform/envs/tests/tfvars.tftest.hcl)."""
    results = tf_roots[root].result(timeout=600)
    assert len(results) == 3, f"no `terraform test` ran for {root}:\n{results[-1].output}"
    output = results[2].check()
    assert re.search(r"Success! [1-9]\d* passed, 0 failed", output), output


def test_no_terraform_state_or_cache_in_repo() -> None:
    stray = [p for p in TF_ROOT.rglob("*") if p.name == ".terraform" or p.name.endswith(".tfstate")]
    assert not stray, f"remove {stray}: state and provider caches must not live in the repository"


@pytest.mark.parametrize("module", MODULES)
def test_module_layout(module: str) -> None:
    folder = TF_ROOT / "modules" / module
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (folder / name).is_file(), f"modules/{module} lacks {name}"
    assert list((folder / "tests").glob("*.tftest.hcl")), f"modules/{module} has no tests/*.tftest.hcl"
    variables = (folder / "variables.tf").read_text()
    blocks = re.split(r'(?m)^variable "', variables)[1:]
    assert blocks, f"modules/{module} declares no variables"
    for block in blocks:
        name = block.split('"', 1)[0]
        assert re.search(r"(?m)^\s+description\s*=", block), f"modules/{module}: variable {name} undescribed"


@pytest.mark.parametrize("module", MODULES)
def test_every_validation_has_a_failing_run(module: str) -> None:
    """Each validated variable is rejected by some `expect_failures` run of the module's tests."""
    folder = TF_ROOT / "modules" / module
    validated = {
        block.split('"', 1)[0]
        for block in re.split(r'(?m)^variable "', (folder / "variables.tf").read_text())[1:]
        if "validation {" in block
    }
    tests = "".join(p.read_text() for p in (folder / "tests").glob("*.tftest.hcl"))
    expected = set(re.findall(r"expect_failures\s*=\s*\[var\.(\w+)\]", tests))
    # Bounds that only guard against absurd values are exercised through the brief's list elsewhere.
    untested = validated - expected
    allowed_untested = {
        "eks": {
            "cluster_name",
            "system_node_count",
            "node_disk_size_gb",
            "efs_csi_role_arn",
        },
        "rds": {
            "name",
            "subnet_ids",
            "allowed_security_group_ids",
            "allocated_storage_gb",
            "max_allocated_storage_gb",
            "pgbouncer_server_connections",
        },
        "efs": {"name", "posix_gid"},
        "iam": {"name_prefix", "data_bucket_arn", "logs_bucket_arn"},
        "s3": {"noncurrent_version_retention_days"},
        "environment": {"availability_zones", "worker_max_nodes"},
    }.get(module, set())
    assert untested <= allowed_untested, (
        f"modules/{module}: add expect_failures runs for {untested - allowed_untested}"
    )


def test_env_roots_share_everything_but_values_and_backend() -> None:
    for env in ENVS:
        for name in SHARED_ENV_FILES:
            shared = TF_ROOT / "envs" / env / name
            assert shared.is_symlink(), f"envs/{env}/{name} must link to envs/root/{name}, not copy it"
            assert shared.resolve() == (TF_ROOT / "envs" / "root" / name).resolve()
        files = {p.name for p in (TF_ROOT / "envs" / env).iterdir() if p.is_file()}
        assert files == {*SHARED_ENV_FILES, "backend.tf", "terraform.tfvars"}, f"envs/{env}: {files}"


@pytest.mark.parametrize("env", ENVS)
def test_env_backend_locks_and_pins(env: str) -> None:
    root = TF_ROOT / "envs" / env
    backend = (root / "backend.tf").read_text()
    assert 'backend "s3"' in backend
    assert re.search(r"use_lockfile\s*=\s*true", backend), "the s3 backend must lock (use_lockfile = true)"
    assert re.search(r"encrypt\s*=\s*true", backend)
    assert re.search(rf'key\s*=\s*"envs/{env}/terraform.tfstate"', backend)
    versions = (root / "versions.tf").read_text()
    assert re.search(r'required_version\s*=\s*"~> 1\.1[1-9]"', versions)
    assert re.search(r'version\s*=\s*"~> 5\.100"', versions), "pin hashicorp/aws to ~> 5.100"
    tfvars = (root / "terraform.tfvars").read_text()
    assert re.search(rf'environment\s*=\s*"{env}"', tfvars)


def _account_and_region(tfvars: Path) -> tuple[str, str]:
    """The aws_account_id and region a tfvars file sets."""
    text = tfvars.read_text()
    account = re.search(r'aws_account_id\s*=\s*"(\d{12})"', text)
    region = re.search(r'region\s*=\s*"([a-z0-9-]+)"', text)
    assert account and region, f"{tfvars} lacks aws_account_id or region"
    return account[1], region[1]


@pytest.mark.parametrize("env", ENVS)
def test_env_account_matches_helm_overlay(env: str) -> None:
    """The account in the tfvars and the role/bucket names the modules make match helm/values-<env>.yaml."""
    overlay = (REPO / "helm" / f"values-{env}.yaml").read_text()
    account, _ = _account_and_region(TF_ROOT / "envs" / env / "terraform.tfvars")
    assert f"arn:aws:iam::{account}:role/airkube-{env}-airflow-worker" in overlay
    assert f"s3://airkube-{env}-data/" in overlay
    assert f"{account}.dkr.ecr." in overlay


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-n", "-f", str(TF_ROOT / "terraform.mk"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def test_make_apply_orders_layers_and_destroy_reverses() -> None:
    apply = _make("apply", "ENV=staging")
    assert apply.returncode == 0, apply.stderr
    lines = [line for line in apply.stdout.splitlines() if " apply " in f"{line} "]
    assert [("envs/staging" in line, "platform" in line) for line in lines] == [(True, False), (False, True)]
    destroy = _make("destroy", "ENV=prod")
    assert destroy.returncode == 0, destroy.stderr
    lines = [line for line in destroy.stdout.splitlines() if " destroy " in f"{line} "]
    assert ["platform" in line for line in lines] == [True, False]
    assert "envs/prod" in lines[1]
    assert "-var-file=prod.tfvars" in lines[0] and "backend-prod.hcl" in destroy.stdout
    assert "bootstrap" not in destroy.stdout, "destroy must leave the state bucket, and its state, alone"


def test_make_bootstrap_keeps_its_local_state_outside_terraform() -> None:
    result = _make("bootstrap", "ENV=staging")
    assert result.returncode == 0, result.stderr
    state = re.search(r"-backend-config=path=(\S+)", result.stdout)
    assert state and Path(state[1]) == REPO / ".local" / "terraform" / "bootstrap-staging.tfstate"
    assert re.search(r"-chdir=\S*terraform/bootstrap apply .*-var-file=staging\.tfvars", result.stdout)


@pytest.mark.parametrize("env", ENVS)
def test_bootstrap_makes_the_bucket_the_backends_name(env: str) -> None:
    """bootstrap/<env>.tfvars names envs/<env>'s account, whose backend.tf names that account's bucket."""
    account, region = _account_and_region(TF_ROOT / "bootstrap" / f"{env}.tfvars")
    assert (account, region) == _account_and_region(TF_ROOT / "envs" / env / "terraform.tfvars")
    backend = (TF_ROOT / "envs" / env / "backend.tf").read_text()
    assert re.search(rf'bucket\s*=\s*"airkube-terraform-state-{account}"', backend)
    assert re.search(rf'region\s*=\s*"{region}"', backend)
    assert (
        'bucket = "airkube-terraform-state-${var.aws_account_id}"'
        in (TF_ROOT / "bootstrap" / "main.tf").read_text()
    )


def test_make_applies_one_layer_at_a_time() -> None:
    for target, layer, other in (
        ("apply-environment", "envs/staging", "platform"),
        ("apply-platform", "platform", "envs/staging"),
    ):
        result = _make(target, "ENV=staging")
        assert result.returncode == 0, result.stderr
        applies = [line for line in result.stdout.splitlines() if " apply " in f"{line} "]
        assert len(applies) == 1 and layer in applies[0] and other not in result.stdout, result.stdout


TARGETS = ["bootstrap", "plan", "apply", "apply-environment", "apply-platform", "destroy"]


@pytest.mark.parametrize("target", TARGETS)
def test_make_refuses_unknown_env(target: str) -> None:
    result = _make(target, "ENV=dev")
    assert result.returncode != 0 and "ENV must be one of" in result.stderr


def test_make_targets_described_and_prefixed() -> None:
    text = (TF_ROOT / "terraform.mk").read_text()
    for target in TARGETS:
        assert re.search(rf"(?m)^{target}:.*## \S", text), f"{target} needs a `## description`"
    assigned = set(re.findall(r"(?m)^([A-Za-z_][A-Za-z0-9_]*)\s*[:?+]?=", text))
    assert all(name.startswith("TF_") or name == "TF" for name in assigned), assigned


def test_readme_from_nothing_is_the_script() -> None:
    """README.md's "from nothing" sequence starts with scripts/new_environment.sh (which the moto tests run)
    and describes the script's steps in the script's order, each naming the make targets that step runs."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Standing up an environment on AWS, from nothing") :]
    block = re.search(r"(?s)```bash\n(.*?)```", section)
    assert block, "no bash block in README.md's from-nothing section"
    assert block[1].startswith("scripts/new_environment.sh "), block[1]
    described = re.findall(r"(?m)^#\s+(\d)\. (.*)$", block[1])
    script = (REPO / "scripts" / "new_environment.sh").read_text()
    steps = re.findall(r'(?ms)^step "(\d)\. (.*?)(?=^step "|\Z)', script)
    numbers = list(dict.fromkeys(number for number, _ in steps))
    assert [number for number, _ in described] == numbers, (
        f"README.md lists {described}, the script {numbers}"
    )
    for number, body in steps:
        for targets in re.findall(r"(?m)^\s*make --no-print-directory ((?:[a-z-]+ )+)", body):
            for target in targets.split():
                assert f" {target}" in dict(described)[number], (
                    f"README.md's step {number} omits make {target}"
                )
