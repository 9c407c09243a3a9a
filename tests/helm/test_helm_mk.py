"""helm/helm.mk: what its targets would run (`make -n`, no cluster or Docker needed), and that it can be
included by the main Makefile without clashing with it."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest
import yaml

from helm_values import BASE_VALUES, ENVIRONMENTS, HELM_DIR, HELM_MK, REPO, chart_version, overlay_path

MAIN_MAKEFILE = REPO / "Makefile"
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?::=|\?=|\+=|=)", re.MULTILINE)
TARGET = re.compile(r"^([a-z][a-z0-9-]*):(?!=)", re.MULTILINE)


def make(*args: str, makefiles: tuple[str, ...] = ("helm/helm.mk",)) -> subprocess.CompletedProcess[str]:
    files = [arg for name in makefiles for arg in ("-f", name)]
    return subprocess.run(
        ["make", "--no-print-directory", *files, "-n", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def commands(*args: str) -> list[list[str]]:
    result = make(*args)
    assert result.returncode == 0, result.stderr
    return [shlex.split(line) for line in result.stdout.replace("\\\n", " ").splitlines() if line.strip()]


def helm_command(target: str, env: str) -> list[str]:
    runs = [argv for argv in commands(target, f"ENV={env}") if argv and argv[0] == "helm"]
    assert len(runs) == 1, runs
    return runs[0]


def option(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == name]


def test_the_chart_version_is_pinned_once():
    assignments = [n for n in ASSIGNMENT.findall(HELM_MK.read_text()) if n == "HELM_CHART_VERSION"]
    assert assignments == ["HELM_CHART_VERSION"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart_version())
    for path in (BASE_VALUES, *(overlay_path(env) for env in ENVIRONMENTS)):
        assert chart_version() not in yaml.safe_dump(yaml.safe_load(path.read_text())), path


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("target", ["deploy", "diff", "render"])
def test_helm_gets_the_pinned_chart_and_both_values_files_in_order(target, env):
    argv = helm_command(target, env)
    expected = {"deploy": ["upgrade", "--install"], "diff": ["diff", "upgrade"], "render": ["template"]}
    assert argv[1 : 1 + len(expected[target])] == expected[target]
    assert option(argv, "--version") == [chart_version()]
    assert option(argv, "--repo") == ["https://airflow.apache.org"]
    assert option(argv, "--namespace") == ["airflow"]
    assert option(argv, "-f") == [f"{HELM_DIR.name}/values.yaml", f"{HELM_DIR.name}/values-{env}.yaml"]
    assert not {"--set", "--set-string", "--set-file", "--values"} & set(argv), "values come only from files"
    if target != "render":
        assert option(argv, "--kube-context") == [f"airkube-{env}"], "never the current context by accident"


def test_deploy_does_not_wait_for_pods_that_wait_for_the_migration_hook():
    argv = helm_command("deploy", "staging")
    assert not {"--wait", "--atomic", "--wait-for-jobs"} & set(argv)
    assert option(argv, "--timeout")


@pytest.mark.parametrize("target", ["deploy", "diff", "render"])
@pytest.mark.parametrize("env", ["", "dev", "production", "staging prod"])
def test_the_environment_must_be_staging_or_prod(target, env):
    result = make(target, f"ENV={env}")
    assert result.returncode != 0 and "set ENV=staging or ENV=prod" in result.stderr
    assert "helm" not in result.stdout


def test_images_are_built_from_the_lock_and_pushed_to_the_registry():
    runs = commands("push", "IMAGE_REGISTRY=r.example/airkube", "IMAGE_TAG=1.2.3")
    builds = {argv[argv.index("-f") + 1]: argv for argv in runs if argv[:2] == ["docker", "build"]}
    assert set(builds) == {"./images/airflow/Dockerfile", "./images/pipeline/Dockerfile"}
    assert option(builds["./images/airflow/Dockerfile"], "-t") == ["r.example/airkube/airflow:1.2.3"]
    assert option(builds["./images/pipeline/Dockerfile"], "-t") == ["r.example/airkube/pipeline:1.2.3"]
    assert all(argv[-1] == "." for argv in builds.values()), "the build context is the repository root"
    pushes = [argv[2] for argv in runs if argv[:2] == ["docker", "push"]]
    assert pushes == ["r.example/airkube/airflow:1.2.3", "r.example/airkube/pipeline:1.2.3"]


def test_the_default_image_tag_is_the_library_version():
    init = (REPO / "plugins" / "airkube" / "__init__.py").read_text()
    version = re.search(r'^__version__ = "([^"]+)"$', init, re.MULTILINE)
    assert version
    tags = [tag for argv in commands("images") for tag in option(argv, "-t")]
    assert f"localhost:5000/airkube/airflow:{version.group(1)}" in tags


def test_ecr_login_targets_the_registry_host_and_region():
    runs = commands("ecr-login", "IMAGE_REGISTRY=123456789012.dkr.ecr.eu-west-1.amazonaws.com/airkube")
    text = " ".join(" ".join(argv) for argv in runs)
    assert "--region eu-west-1" in text
    assert text.endswith("--password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com")


def test_every_variable_is_prefixed_and_none_is_the_main_makefiles():
    ours = set(ASSIGNMENT.findall(HELM_MK.read_text()))
    assert ours and all(re.match(r"(HELM|IMAGE)(_|$)", name) for name in ours), sorted(ours)
    assert not ours & set(ASSIGNMENT.findall(MAIN_MAKEFILE.read_text()))


def test_every_target_is_described_for_make_help_and_none_is_the_main_makefiles():
    text = HELM_MK.read_text()
    targets = set(TARGET.findall(text))
    assert {"render", "diff", "deploy", "images", "push"} <= targets
    described = set(re.findall(r"^([a-z-]+):.*## ", text, re.MULTILINE))
    assert described == targets
    assert not targets & set(TARGET.findall(MAIN_MAKEFILE.read_text()))


def test_the_main_makefile_includes_it_cleanly():
    result = make("deploy", "ENV=staging", makefiles=("Makefile",))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr
    assert "helm upgrade --install" in result.stdout


def test_the_checks_here_bite():
    assert not re.match(r"(HELM|IMAGE)(_|$)", "PYTHON")
    assert set(ASSIGNMENT.findall("PYTHON ?= python3.11\nBIN := x\n")) == {"PYTHON", "BIN"}
    assert TARGET.findall("deploy: ## x\nHELM := y\n") == ["deploy"]
    assert option(["helm", "-f", "a", "-f", "b"], "-f") == ["a", "b"]


def test_images_refuse_a_lock_without_the_versions(tmp_path):
    (tmp_path / "constraints.txt").write_text("# no Python header\napache-airflow-core==3.3.2\n")
    result = make("images", f"HELM_ROOT={tmp_path}", "IMAGE_TAG=t")
    assert result.returncode != 0 and "constraints.txt names no apache-airflow== pin" in result.stderr
    assert "docker" not in result.stdout
