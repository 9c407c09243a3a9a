"""An environment applied from nothing against moto, checked and destroyed, for test_environment_apply.py.

moto stands in for one AWS account: a moto server on 127.0.0.1 and a free port (one per account: moto's
account is MOTO_ACCOUNT_ID, fixed at its start), over HTTPS with a certificate made for it, and the
environment variables that point the aws provider, Terraform's s3 backend, the aws CLI and boto3 at it.
`run_environment` runs every step in a scratch copy of the repository and records what each did, for the
tests to judge; `leftovers` is the inventory of what is left in the account after the destroy."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from airkube_dev.processes import free_port
from airkube_plan.terraform_vars import environment_variables, load_hcl
from paths import REPO
from tf_cli import CLI_CONFIG, TERRAFORM, Result


@dataclass
class MotoServer:
    account_id: str
    region: str
    port: int
    log: Path
    certificate: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def environ(self) -> dict[str, str]:
        """AWS_ENDPOINT_URL sends every client to moto: the aws provider (>= 5.x), Terraform's s3 backend
        and terraform_remote_state (an IP address as endpoint makes S3 use path-style URLs), the aws CLI and
        boto3; the keys are moto's fake ones, and the instance metadata service is never asked. Its
        certificate is the only one trusted: SSL_CERT_FILE for Terraform and its providers (Go), AWS_CA_BUNDLE
        for the aws CLI and boto3."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "SSL_CERT_FILE": str(self.certificate),
            "AWS_CA_BUNDLE": str(self.certificate),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            verify=str(self.certificate),
        )


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (as a subject alternative name, which Go requires), its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "moto on 127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "moto.crt", folder / "moto.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"moto did not start listening on 127.0.0.1:{port}")


@contextmanager
def moto_server(account_id: str, region: str, folder: Path) -> Iterator[MotoServer]:
    """A moto server for one account, its log and certificate in `folder`, stopped on exit. A process of its
    own: moto reads MOTO_ACCOUNT_ID and MOTO_IAM_LOAD_MANAGED_POLICIES (the AWS managed policies the modules
    attach) when it is imported."""
    port = free_port()
    certificate, key = _certificate(folder)
    log = folder / "moto.log"
    environ = {**os.environ, "MOTO_ACCOUNT_ID": account_id, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                str(port),
                "-c",
                str(certificate),
                "-k",
                str(key),
            ],
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port)
        yield MotoServer(account_id, region, port, log, certificate)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def leftovers(moto: MotoServer, keep_buckets: set[str], keep_secrets: set[str]) -> dict[str, list[str]]:
    """What an environment's destroy left in the account, by kind; only the kinds with something left.

    Not counted: what moto (like AWS) has in every account and region (the default VPC with its subnets,
    security group and network ACL, AWS managed policies, KMS keys and parameter groups), `keep_buckets`
    and `keep_secrets` (made outside the environment layer), and what AWS deletes only after a waiting
    period that the destroy started: KMS keys pending deletion and secrets scheduled for deletion."""
    ec2 = moto.client("ec2")
    all_vpcs = ec2.describe_vpcs()["Vpcs"]
    vpcs = [v["VpcId"] for v in all_vpcs if not v.get("IsDefault")]
    default_vpcs = {v["VpcId"] for v in all_vpcs if v.get("IsDefault")}
    kms = moto.client("kms")
    aws_keys = {
        a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"].startswith("alias/aws/")
    }
    rds = moto.client("rds")
    iam = moto.client("iam")
    found = {
        "vpcs": vpcs,
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if not s.get("DefaultForAz")],
        "security groups": [
            g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["VpcId"] in vpcs
        ],
        "route tables": [
            r["RouteTableId"] for r in ec2.describe_route_tables()["RouteTables"] if r["VpcId"] in vpcs
        ],
        "internet gateways": [
            i["InternetGatewayId"]
            for i in ec2.describe_internet_gateways()["InternetGateways"]
            if not any(a["VpcId"] in default_vpcs for a in i.get("Attachments", []))
        ],
        "NAT gateways": [
            n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"
        ],
        "elastic IPs": [a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]],
        "flow logs": [f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"]],
        "launch templates": [
            t["LaunchTemplateName"] for t in ec2.describe_launch_templates()["LaunchTemplates"]
        ],
        "EKS clusters": moto.client("eks").list_clusters()["clusters"],
        "DB instances": [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]],
        "DB snapshots": [s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"]],
        "DB parameter groups": [
            g["DBParameterGroupName"]
            for g in rds.describe_db_parameter_groups()["DBParameterGroups"]
            if not g["DBParameterGroupName"].startswith("default.")
        ],
        "DB subnet groups": [
            g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
        ],
        "EFS file systems": [
            f["FileSystemId"] for f in moto.client("efs").describe_file_systems()["FileSystems"]
        ],
        "S3 buckets": [
            b["Name"] for b in moto.client("s3").list_buckets()["Buckets"] if b["Name"] not in keep_buckets
        ],
        "ECR repositories": [
            r["repositoryName"] for r in moto.client("ecr").describe_repositories()["repositories"]
        ],
        "IAM roles": [r["RoleName"] for r in iam.list_roles()["Roles"]],
        "IAM policies": [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]],
        "IAM OIDC providers": [
            p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        ],
        "KMS keys not pending deletion": [
            k["KeyId"]
            for k in kms.list_keys()["Keys"]
            if k["KeyId"] not in aws_keys
            and kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
        ],
        "KMS aliases": [
            a["AliasName"]
            for a in kms.list_aliases()["Aliases"]
            if a["AliasName"].startswith("alias/airkube")
        ],
        "secrets not scheduled for deletion": [
            s["Name"]
            for s in moto.client("secretsmanager").list_secrets(IncludePlannedDeletion=True)["SecretList"]
            if not s.get("DeletedDate") and s["Name"] not in keep_secrets
        ],
        "log groups": [g["logGroupName"] for g in moto.client("logs").describe_log_groups()["logGroups"]],
    }
    return {kind: names for kind, names in found.items() if names}


OVERRIDES = Path(__file__).with_name("moto_overrides")
SCRIPT = "scripts/new_environment.sh"
# What the scratch copy needs besides the Makefile and the files it includes: the script, and what helm.mk
# reads when make parses it (constraints.txt, the library's version).
REPO_FILES = ["constraints.txt", "plugins/airkube/__init__.py", SCRIPT]
REPO_DIRS = ["terraform", "helm"]
DEPLOY_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nthe moto test's stand-in\n-----END OPENSSH PRIVATE KEY-----\n"
)


@dataclass
class EnvRun:
    """What happened to one environment, step by step; a step that failed ends the run."""

    env: str
    values: dict[str, Any]
    steps: dict[str, Result] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    state_objects: list[str] = field(default_factory=list)
    bootstrap_state: bool = False
    deploy_key_secret: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    platform_inputs: dict[str, Any] = field(default_factory=dict)
    final_snapshots: list[str] = field(default_factory=list)  # the DB instance of each
    leftovers: dict[str, list[str]] = field(default_factory=dict)
    error: str = ""

    def step(self, name: str) -> Result:
        assert name in self.steps, (
            f"{self.env}: never reached {name}: {self.error or 'an earlier step failed'}"
        )
        return self.steps[name]


def _sh(args: list[str], cwd: Path, environ: dict[str, str], timeout: int = 600) -> Result:
    proc = subprocess.run(args, cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout)
    return Result(args, proc.returncode, proc.stdout + proc.stderr)


def _scratch_repo(dest: Path) -> Path:
    """The repository's parts that the README's sequence uses, with the moto overrides added."""
    includes = re.findall(r"(?m)^-?include (\S+)$", (REPO / "Makefile").read_text())
    for name in ["Makefile", *includes, *REPO_FILES]:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, dest / name)
    for name in REPO_DIRS:
        shutil.copytree(
            REPO / name,
            dest / name,
            symlinks=True,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".terraform*"),
        )
    for override in OVERRIDES.glob("modules/*/*.tf"):
        shutil.copy(override, dest / "terraform" / override.relative_to(OVERRIDES))
    return dest


def _empty_bucket(moto: MotoServer, bucket: str) -> None:
    """Every object version of `bucket` deleted; its policy first, which moto would apply to every request
    as a deny (test_environment_apply.py's docstring says why)."""
    s3 = moto.client("s3")
    s3.delete_bucket_policy(Bucket=bucket)
    listing = s3.list_object_versions(Bucket=bucket)
    for kind in ("Versions", "DeleteMarkers"):
        for item in listing.get(kind, []):
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])


def _platform_inputs(repo: Path, env: str, environ: dict[str, str], harness: Path, run: EnvRun) -> bool:
    """terraform/platform/environment.tf applied as it is (its data sources and locals), each local and data
    source exported as an output; False when a step failed."""
    platform = repo / "terraform" / "platform"
    harness.mkdir()
    shutil.copy(platform / "environment.tf", harness)
    shutil.copy(platform / "variables.tf", harness)
    parsed = load_hcl(platform / "environment.tf")
    exported = [f"local.{name}" for block in parsed["locals"] for name in block if not name.startswith("__")]
    exported += [
        f"data.{kind}.{name}" for block in parsed["data"] for kind, named in block.items() for name in named
    ]
    outputs = "\n".join(
        f'output "{ref.replace(".", "__")}" {{\n  value     = {ref}\n  sensitive = true\n}}'
        for ref in exported
    )
    versions = 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    (harness / "harness.tf").write_text(versions + outputs)
    tf = [TERRAFORM, f"-chdir={harness}"]
    for name, args in (
        ("platform init", [*tf, "init", "-input=false", "-no-color"]),
        (
            "platform apply",
            [
                *tf,
                "apply",
                "-auto-approve",
                "-input=false",
                "-no-color",
                f"-var-file={platform}/{env}.tfvars",
            ],
        ),
        ("platform outputs", [*tf, "output", "-json"]),
    ):
        run.steps[name] = _sh(args, harness, environ)
        if run.steps[name].returncode:
            return False
    values = json.loads(run.steps["platform outputs"].output)
    run.platform_inputs = {ref: values[ref.replace(".", "__")]["value"] for ref in exported}
    return True


def run_environment(env: str, workdir: Path) -> EnvRun:
    values = environment_variables(REPO, env)
    run = EnvRun(env, values)
    with moto_server(values["aws_account_id"], values["region"], workdir) as moto:
        try:
            _apply_check_destroy(run, moto, workdir)
        except Exception as error:
            run.error = f"{type(error).__name__}: {error}"
    return run


def _timed(
    run: EnvRun, name: str, args: list[str], cwd: Path, environ: dict[str, str], timeout: int = 600
) -> Result:
    start = time.monotonic()
    run.steps[name] = _sh(args, cwd, environ, timeout)
    run.seconds[name] = time.monotonic() - start
    return run.steps[name]


def _apply_check_destroy(run: EnvRun, moto: MotoServer, workdir: Path) -> None:
    env = run.env
    repo = _scratch_repo(workdir / "repo")
    key = workdir / "dags-deploy-key"
    key.write_text(DEPLOY_KEY)
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(workdir),
        **moto.environ(),
        "TF_CLI_CONFIG_FILE": str(CLI_CONFIG),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "TF_ARGS": "-auto-approve",
        "NEW_ENVIRONMENT_PUSH": "0",
    }
    root = repo / "terraform" / "envs" / env
    tf = [TERRAFORM, f"-chdir={root}"]

    if _timed(run, "script", ["bash", SCRIPT, env, str(key)], repo, environ, timeout=1200).returncode:
        return
    backend = load_hcl(root / "backend.tf")["terraform"][0]["backend"][0]["s3"]
    listing = moto.client("s3").list_objects_v2(Bucket=backend["bucket"])
    run.state_objects = [item["Key"] for item in listing.get("Contents", [])]
    run.bootstrap_state = (repo / ".local" / "terraform" / f"bootstrap-{env}.tfstate").is_file()
    run.deploy_key_secret = moto.client("secretsmanager").get_secret_value(SecretId=deploy_key_secret_name())[
        "SecretString"
    ]

    _timed(
        run, "second plan", [*tf, "plan", "-detailed-exitcode", "-input=false", "-no-color"], repo, environ
    )
    outputs = _timed(run, "outputs", [*tf, "output", "-json"], repo, environ)
    if outputs.returncode:
        return
    run.outputs = {name: body["value"] for name, body in json.loads(outputs.output).items()}
    start = time.monotonic()
    _platform_inputs(repo, env, environ, workdir / "platform-inputs", run)
    run.seconds["platform inputs"] = time.monotonic() - start

    destroy = [*tf, "destroy", "-auto-approve", "-input=false", "-no-color", "-parallelism=20"]
    if run.values["db_deletion_protection"] or not run.values["force_destroy"]:
        # What README.md says prod refuses to destroy: its database, and its buckets while they hold objects
        # (the logs bucket holds S3's access logs). Only those, so the refusal costs seconds.
        state = _sh([*tf, "state", "list"], repo, environ).check().split()
        guarded = [a for a in state if re.search(r"\.aws_(db_instance|s3_bucket)\.\w+$", a)]
        if not _timed(
            run, "destroy refused", [*destroy, *(f"-target={a}" for a in guarded)], repo, environ
        ).returncode:
            return
        # Then what README.md says to do by hand, on purpose.
        environment = run.outputs["environment"]
        moto.client("rds").modify_db_instance(
            DBInstanceIdentifier=db_instance(run), DeletionProtection=False, ApplyImmediately=True
        )
        for bucket in (environment["data_bucket"], environment["logs_bucket"]):
            if bucket in {b["Name"] for b in moto.client("s3").list_buckets()["Buckets"]}:
                _empty_bucket(moto, bucket)
    if _timed(run, "destroy", destroy, repo, environ).returncode:
        return
    rds = moto.client("rds")
    snapshots = rds.describe_db_snapshots()["DBSnapshots"]
    run.final_snapshots = [s["DBInstanceIdentifier"] for s in snapshots]
    for snapshot in snapshots:
        rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot["DBSnapshotIdentifier"])
    run.leftovers = leftovers(moto, keep_buckets={backend["bucket"]}, keep_secrets={deploy_key_secret_name()})


def db_instance(run: EnvRun) -> str:
    """The DB instance's identifier: the first label of its address."""
    return run.outputs["environment"]["database"]["address"].split(".")[0]


def deploy_key_secret_name() -> str:
    """Where the platform layer reads the deploy key from, which the script's step 2 creates."""
    for block in load_hcl(REPO / "terraform" / "platform" / "variables.tf")["variable"]:
        if "git_ssh_key_secret_name" in block:
            return block["git_ssh_key_secret_name"]["default"]
    raise AssertionError("terraform/platform/variables.tf has no git_ssh_key_secret_name")
