"""checkov, run the one way both policy tests need it: one framework over one folder, its JSON report."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

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


def kubernetes_object(resource: str) -> str:
    """checkov's `Kind.namespace.name[.label...]` as `Kind/name`, how the skip lists name an object."""
    kind, _namespace, name, *_labels = resource.split(".")
    return f"{kind}/{name}"


def reviewed_skips(path: Path) -> dict[tuple[str, str], str]:
    """(check id, `Kind/name`) -> why, from a reviewed skip list (tests/helm/*checkov_skips.yaml); each entry
    names one Kubernetes check, the objects it is accepted on, and says why."""
    entries = yaml.safe_load(path.read_text())["skips"]
    checks = [entry["check"] for entry in entries]
    assert len(checks) == len(set(checks)), f"{path.name}: one entry per check"
    skips: dict[tuple[str, str], str] = {}
    for entry in entries:
        assert set(entry) == {"check", "objects", "why"}, entry
        assert re.fullmatch(r"CKV2?_K8S_\d+", entry["check"]), entry["check"]
        assert entry["objects"] and all(re.fullmatch(r"[A-Z]\w+/[a-z0-9-]+", o) for o in entry["objects"])
        assert len(entry["why"]) >= 60, f"{entry['check']}: say why it is accepted"
        for obj in entry["objects"]:
            assert (entry["check"], obj) not in skips, f"{entry['check']} {obj} listed twice"
            skips[(entry["check"], obj)] = entry["why"]
    return skips
