"""The values are ones the pinned chart accepts, including what its own schema lets through.

`helm install` validates against values.schema.json, but that schema has no additionalProperties:false at
the top level or inside several objects, and checks `executor` only against a pattern. The checks here
close those gaps, and the negative controls prove each check rejects what it should.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from helm_values import (
    BASE_VALUES,
    ENVIRONMENTS,
    chart_defaults,
    chart_dir,
    chart_schema,
    chart_version,
    effective_values,
    load_yaml,
    merge,
    overlay_path,
    put,
    user_values,
)


def schema_errors(values: dict[str, Any]) -> list[str]:
    validator = Draft7Validator(chart_schema())
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(values)]


def unknown_top_level_keys(values: dict[str, Any]) -> list[str]:
    return sorted(set(values) - set(chart_defaults()))


def unknown_nested_keys(values: Any, node: dict[str, Any] | None = None, path: str = "") -> list[str]:
    """Keys the schema does not declare, in every object whose schema lists its properties, whether or
    not that object forbids additional ones (the schema forgets to in securityContexts, workers.kubernetes,
    ingress and more). Free-form maps (annotations, config sections) have no properties and are skipped."""
    schema = chart_schema()
    node = schema if node is None else node
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    unknown: list[str] = []
    if isinstance(values, dict) and "properties" in node:
        for key, value in values.items():
            if key not in node["properties"]:
                unknown.append(f"{path}{key}")
            else:
                unknown += unknown_nested_keys(value, node["properties"][key], f"{path}{key}.")
    elif isinstance(values, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(values):
            unknown += unknown_nested_keys(item, node["items"], f"{path}{index}.")
    return unknown


def chart_executors(airflow_version: str) -> set[str]:
    """The executors the chart documents for this Airflow version, read from the comment above
    `executor:` in the chart's values.yaml (the schema only has a pattern that any *Executor matches)."""
    text = (chart_dir() / "values.yaml").read_text()
    comment = re.search(r"((?:^#.*\n)+)executor:", text, re.MULTILINE)
    assert comment, "the chart's values.yaml has no comment block above `executor:`"
    current = re.search(r"One or multiple of: (.+)", comment.group(1))
    legacy = re.search(r"For Airflow <(\d+)\.(\d+), (.+) are supported", comment.group(1))
    assert current and legacy, "the chart's executor comment changed shape: re-read it and update this test"
    executors = set(re.findall(r"\b[A-Z]\w*Executor\b", current.group(1)))
    assert {"LocalExecutor", "CeleryExecutor", "KubernetesExecutor"} <= executors
    major_minor = tuple(int(part) for part in airflow_version.split(".")[:2])
    if major_minor < (int(legacy.group(1)), int(legacy.group(2))):
        executors |= set(re.findall(r"\b[A-Z]\w*Executor\b", legacy.group(3)))
    return executors


def executor_problems(values: dict[str, Any]) -> list[str]:
    executor = values.get("executor")
    if not isinstance(executor, str):
        return [f"executor {executor!r} is not a string"]
    allowed = chart_executors(str(values["airflowVersion"]))
    pattern = chart_schema()["properties"]["executor"]["pattern"]
    problems = [f"{executor!r} does not match the chart's pattern"] if not re.match(pattern, executor) else []
    return problems + [
        f"{name!r} is not an executor chart {chart_version()} runs with Airflow {values['airflowVersion']}"
        for name in executor.split(",")
        if name not in allowed
    ]


def test_the_chart_files_are_the_pinned_version():
    chart = yaml.safe_load((chart_dir() / "Chart.yaml").read_text())
    assert (chart["name"], chart["version"]) == ("airflow", chart_version())
    assert schema_errors(chart_defaults()) == [], "the chart's own defaults must pass its schema"


def test_there_is_an_overlay_per_environment_and_no_other():
    """Plus values-local.yaml, the one machine's overlay of `make dev-k8s` (tests/helm/test_local_overlay.py
    keeps it to what one machine cannot have)."""
    overlays = sorted(p.name for p in BASE_VALUES.parent.glob("values-*.yaml"))
    assert overlays == sorted([*(overlay_path(env).name for env in ENVIRONMENTS), "values-local.yaml"])


def test_the_local_overlay_validates_against_the_chart_schema():
    local = merge(load_yaml(BASE_VALUES), load_yaml(BASE_VALUES.parent / "values-local.yaml"))
    assert schema_errors(local) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_values_validate_against_the_chart_schema(env):
    assert schema_errors(user_values(env)) == []
    assert schema_errors(effective_values(env)) == [], "as Helm validates: chart defaults + our values"


@pytest.mark.parametrize(
    ("path", "bad"),
    [("pgbouncer.enabled", "yes"), ("scheduler.replicas", "2"), ("pgbouncer.enabeld", True)],
)
def test_the_schema_check_bites(path, bad):
    broken = effective_values("staging")
    put(broken, path, bad)
    assert schema_errors(broken)


@pytest.mark.parametrize("path", [BASE_VALUES, *(overlay_path(env) for env in ENVIRONMENTS)])
def test_every_top_level_key_is_one_the_chart_has(path):
    assert unknown_top_level_keys(load_yaml(path)) == []


def test_the_top_level_check_bites_where_the_schema_does_not():
    misspelled = merge(effective_values("staging"), {"executr": "KubernetesExecutor"})
    assert schema_errors(misspelled) == [], "the schema lets a misspelled top-level key through"
    assert unknown_top_level_keys(misspelled) == ["executr"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_nested_key_is_one_the_schema_declares(env):
    assert unknown_nested_keys(user_values(env)) == []


@pytest.mark.parametrize(
    "path",
    [
        "workers.kubernetes.safeToEvcit",
        "workers.celery.replicsa",
        "securityContexts.pods",
        "rbac.creat",
        "postgresql.enabeld",
    ],
)
def test_the_nested_key_check_bites_where_the_schema_does_not(path):
    misspelled = user_values("staging")
    put(misspelled, path, False)
    assert schema_errors(misspelled) == [], f"the schema lets {path} through"
    assert unknown_nested_keys(misspelled) == [path]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_executor_is_one_the_chart_runs(env):
    assert executor_problems(effective_values(env)) == []


@pytest.mark.parametrize(
    ("executor", "airflow_version", "accepted"),
    [
        ("KubernetesExecutor", "3.3.2", True),
        ("CeleryExecutor,KubernetesExecutor", "3.3.2", True),
        ("LocalExecutor", "3.3.2", True),
        ("BogusExecutor", "3.3.2", False),
        ("KubernetesExecutor,BogusExecutor", "3.3.2", False),
        ("CeleryKubernetesExecutor", "3.3.2", False),
        ("LocalKubernetesExecutor", "3.3.2", False),
        ("CeleryKubernetesExecutor", "2.11.0", True),
        ("kubernetes", "3.3.2", False),
        ("KubernetesExecutor, CeleryExecutor", "3.3.2", False),
    ],
)
def test_the_executor_check_bites(executor, airflow_version, accepted):
    values = {"executor": executor, "airflowVersion": airflow_version}
    assert (executor_problems(values) == []) is accepted
    if executor == "BogusExecutor":
        assert schema_errors(merge(effective_values("staging"), values)) == [], (
            "the schema's pattern passes it"
        )
