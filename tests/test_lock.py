"""One source of truth for versions: constraints.txt pins, everything installs from it."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from paths import REPO


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt line {line!r} is not an exact pin"
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
