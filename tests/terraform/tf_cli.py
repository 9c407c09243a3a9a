"""Running the Terraform CLI offline for the tests: a scratch copy of terraform/ and helm/, providers from
the filesystem mirror (terraform/mirror.tfrc), a TF_DATA_DIR per root module, nothing written to the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from paths import REPO

TERRAFORM = shutil.which("terraform") or "/usr/local/bin/terraform"
TF_ROOT = REPO / "terraform"
CLI_CONFIG = TF_ROOT / "mirror.tfrc"
MIRROR = Path("/opt/tf-plugins/registry.terraform.io/hashicorp/aws")
MODULES = sorted(p.name for p in (TF_ROOT / "modules").iterdir() if (p / "main.tf").is_file())
ENVS = ("staging", "prod")


@dataclass
class Result:
    args: list[str]
    returncode: int
    output: str

    def check(self) -> str:
        assert self.returncode == 0, f"terraform {' '.join(self.args)} failed:\n{self.output}"
        return self.output


def scratch_copy(dest: Path) -> Path:
    """terraform/ and helm/ (which the modules read) copied under dest; returns the copy of terraform/."""
    shutil.copytree(TF_ROOT, dest / "terraform", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    shutil.copytree(REPO / "helm", dest / "helm")
    return dest / "terraform"


def run(
    args: list[str], cwd: Path, data_dir: Path, env: dict[str, str] | None = None, timeout: int = 300
) -> Result:
    environ = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(CLI_CONFIG),
        "TF_DATA_DIR": str(data_dir),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        **(env or {}),
    }
    proc = subprocess.run(
        [TERRAFORM, *args, "-no-color"] if args[0] != "fmt" else [TERRAFORM, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(args, proc.returncode, proc.stdout + proc.stderr)
