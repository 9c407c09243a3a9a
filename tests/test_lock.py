"""One source of truth for versions: constraints.txt pins, everything installs from it; checkov's venv has
a lock of its own, tools/checkov/constraints.txt, held to the same rules."""

from __future__ import annotations

import json
import subprocess
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from paths import CHECKOV_VENV, REPO

CHECKOV_LOCK = REPO / "tools" / "checkov" / "constraints.txt"


def _pins(lock: Path = REPO / "constraints.txt") -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            assert pinned, f"{lock.name} line {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = pinned
    return pins


def test_the_environment_is_exactly_the_lock():
    mismatched = {}
    for name, pinned in _pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            mismatched[name] = (pinned, installed)
    assert mismatched == {}, "installed versions differ from constraints.txt: run `make venv`"


def test_the_checkov_venv_is_exactly_its_lock():
    pip = CHECKOV_VENV / "bin" / "pip"
    assert pip.exists(), f"{CHECKOV_VENV.name} is missing: run `make checkov-venv`"
    listing = [str(pip), "list", "--format=json", "--exclude", "setuptools"]
    listed = subprocess.run(listing, capture_output=True, text=True, check=True).stdout
    installed = {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed)}
    assert installed == _pins(CHECKOV_LOCK), f"{CHECKOV_VENV.name} differs from its lock: make checkov-venv"


def test_checkov_lock_holds_no_airkube_package_and_its_input_a_range():
    pins = _pins(CHECKOV_LOCK)
    assert "checkov" in pins and "apache-airflow" not in pins
    specs = [
        line
        for line in (REPO / "tools" / "checkov" / "requirements.in").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert specs and not any(s.operator == "==" for spec in specs for s in Requirement(spec).specifier)


def test_airflow_and_the_providers_are_pinned_in_the_lock():
    pins = _pins()
    assert pins["apache-airflow"] == "3.3.2"
    for provider in ("cncf-kubernetes", "amazon", "slack", "datadog", "postgres", "standard"):
        assert f"apache-airflow-providers-{provider}" in pins


def test_project_files_hold_ranges_only_so_the_lock_is_the_one_place_for_versions():
    for path in (REPO / "pyproject.toml", REPO / "images" / "pipeline" / "pyproject.toml"):
        project = tomllib.loads(path.read_text())["project"]
        specs = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            specs.extend(extra)
        for spec in specs:
            assert not any(s.operator == "==" for s in Requirement(spec).specifier), f"{path.name}: {spec}"
