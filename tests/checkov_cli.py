"""checkov, run the one way both policy tests need it: one framework over one folder, its JSON report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from paths import CHECKOV_VENV

CHECKOV = CHECKOV_VENV / "bin" / "checkov"


def checkov_report(directory: Path, framework: str) -> dict[str, Any]:
    """checkov's report for `framework` (terraform, kubernetes) over `directory`; exit 1 means failed
    checks, anything else that checkov itself broke."""
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make checkov-venv`"
    proc = subprocess.run(
        [str(CHECKOV), "-d", str(directory), "--framework", framework, "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), f"checkov crashed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    assert isinstance(report, dict), "one framework was asked for, so checkov gives one report"
    return report
