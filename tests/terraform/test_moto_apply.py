"""A real `terraform apply` and `destroy` of the state_bucket, kms, network, s3, ecr and iam modules.

moto stands in for AWS, which cannot be reached from the test machine: a moto server on 127.0.0.1 and a
free port, and a test-only root module whose aws provider points every endpoint there with fake keys
(skip_credentials_validation, skip_requesting_account_id, skip_metadata_api_check). Left out: eks, rds and
efs (EKS node groups and addons, RDS-managed master passwords and EFS access points are not modelled
well enough by moto to apply and destroy cleanly) and the environment module that wires them. The iam
module gets a made-up OIDC provider ARN instead of the cluster's, which moto does not check. The VPC's flow
logs go to the logs bucket's root, not its vpc-flow-logs/ prefix: moto reads all of an S3 ARN after ":::"
as the bucket's name.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airkube_dev.processes import free_port
from tf_cli import TF_ROOT, run

ROOT = """
provider "aws" {{
  region                      = "eu-west-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {{
    ec2 = "{url}"
    ecr = "{url}"
    iam = "{url}"
    kms = "{url}"
    s3  = "{url}"
    sts = "{url}"
  }}
}}

module "state_bucket" {{
  source = "../modules/state_bucket"
  bucket = "airkube-terraform-state-123456789012"
}}

module "kms" {{
  source               = "../modules/kms"
  name                 = "airkube-moto"
  deletion_window_days = 7
}}

module "network" {{
  source                = "../modules/network"
  name                  = "airkube-moto"
  vpc_cidr              = "10.40.0.0/16"
  availability_zones    = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  single_nat_gateway    = true
  # The bucket without the vpc-flow-logs/ prefix: moto takes all of an ARN after ":::" as the bucket's name.
  flow_logs_destination = module.s3.logs_bucket_arn
}}

module "s3" {{
  source        = "../modules/s3"
  name_prefix   = "airkube-moto"
  kms_key_arn   = module.kms.key_arn
  force_destroy = true
}}

module "ecr" {{
  source       = "../modules/ecr"
  force_delete = true
}}

module "iam" {{
  source            = "../modules/iam"
  name_prefix       = "airkube-moto"
  cluster_name      = "airkube-moto"
  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/MOTO"
  oidc_issuer       = "oidc.eks.eu-west-1.amazonaws.com/id/MOTO"
  data_bucket_arn   = module.s3.data_bucket_arn
  logs_bucket_arn   = module.s3.logs_bucket_arn
  data_kms_key_arn  = module.kms.key_arn
}}

output "summary" {{
  value = {{
    private_subnets = module.network.private_subnet_ids
    data_bucket     = module.s3.data_bucket
    registry        = module.ecr.registry
    worker_role     = module.iam.airflow_worker_role_arn
    data_key        = module.kms.key_arn
    state_bucket    = module.state_bucket.bucket
  }}
}}
"""


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"moto did not start listening on 127.0.0.1:{port}")


@pytest.mark.slow
def test_apply_and_destroy_against_moto(tmp_path: Path) -> None:
    port = free_port()
    # A process of its own: moto reads MOTO_IAM_LOAD_MANAGED_POLICIES (needed for the AWS managed
    # AmazonEFSCSIDriverPolicy) when it is imported, and other tests may have imported it already.
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_port(port)
    try:
        shutil.copytree(TF_ROOT / "modules", tmp_path / "modules", ignore=shutil.ignore_patterns("tests"))
        root = tmp_path / "root"
        root.mkdir()
        (root / "main.tf").write_text(ROOT.format(url=f"http://127.0.0.1:{port}"))
        data = tmp_path / "data"
        env = {"AWS_EC2_METADATA_DISABLED": "true"}
        run(["init", "-backend=false", "-input=false"], root, data, env).check()
        run(["apply", "-auto-approve", "-input=false", "-parallelism=20"], root, data, env).check()
        summary = json.loads(run(["output", "-json", "summary"], root, data, env).check())
        assert len(summary["private_subnets"]) == 3
        assert summary["data_bucket"] == "airkube-moto-data"
        assert summary["registry"].endswith(".amazonaws.com/airkube")
        assert summary["worker_role"].endswith(":role/airkube-moto-airflow-worker")
        assert summary["data_key"].startswith("arn:aws:kms:eu-west-1:")
        assert summary["state_bucket"] == "airkube-terraform-state-123456789012"
        # A second plan finds nothing to change: the modules round-trip through the API cleanly.
        plan = run(["plan", "-detailed-exitcode", "-input=false"], root, data, env)
        assert plan.returncode == 0, f"the applied state drifts:\n{plan.output}"
        run(["destroy", "-auto-approve", "-input=false", "-parallelism=20"], root, data, env).check()
        state = json.loads(run(["show", "-json"], root, data, env).check())
        assert not state.get("values", {}).get("root_module", {}).get("child_modules")
    finally:
        server.terminate()
        server.wait(timeout=30)
