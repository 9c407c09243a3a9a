"""The Secrets the values make the chart read: named once, in helm/values.yaml, and documented exactly.

Terraform creates these Secrets with these names and keys; it reads the names from helm/values.yaml at the
paths of helm_values.SECRET_KEYS, as these tests do, so a rename here cannot leave it behind silently.
"""

from __future__ import annotations

import re

import pytest

from helm_values import (
    BASE_VALUES,
    ENVIRONMENTS,
    HELM_DIR,
    SECRET_KEYS,
    get,
    load_yaml,
    overlay_path,
    put,
    required_secrets,
    user_values,
)

README = HELM_DIR / "README.md"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def readme_secrets(text: str) -> dict[str, tuple[tuple[str, ...], str]]:
    """Secret name -> (keys, values path) from the README's table whose header starts `| Secret |`."""
    rows: dict[str, tuple[tuple[str, ...], str]] = {}
    in_table = False
    for line in text.splitlines():
        if line.startswith("| Secret |"):
            in_table = True
        elif in_table and not line.startswith("|"):
            break
        elif in_table and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            name, keys, path = (re.findall(r"`([^`]+)`", cell) for cell in cells[:3])
            assert len(name) == 1 and len(path) == 1, line
            rows[name[0]] = (tuple(keys), path[0])
    return rows


def documented(values) -> dict[str, tuple[tuple[str, ...], str]]:
    return {get(values, path): (keys, path) for path, keys in SECRET_KEYS.items() if get(values, path)}


def test_every_secret_is_named_in_the_shared_values_only():
    base = load_yaml(BASE_VALUES)
    assert [path for path in SECRET_KEYS if not get(base, path)] == []
    for env in ENVIRONMENTS:
        overlay = load_yaml(overlay_path(env))
        assert [path for path in SECRET_KEYS if get(overlay, path) is not None] == [], env


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secret_names_are_kubernetes_names_and_the_same_everywhere(env):
    secrets = required_secrets(user_values(env))
    assert len(secrets) == len(SECRET_KEYS)
    assert all(DNS_SUBDOMAIN.match(name) and len(name) <= 253 for name in secrets), sorted(secrets)
    assert secrets == required_secrets(load_yaml(BASE_VALUES))


def test_the_readme_lists_exactly_these_secrets_and_keys():
    assert readme_secrets(README.read_text()) == documented(load_yaml(BASE_VALUES))


def test_the_checks_here_bite():
    text = README.read_text()
    without_jwt = "\n".join(line for line in text.splitlines() if "`airflow-jwt-secret`" not in line)
    assert readme_secrets(without_jwt) != documented(load_yaml(BASE_VALUES))
    renamed = load_yaml(BASE_VALUES)
    put(renamed, "jwtSecretName", "airflow-jwt")
    assert readme_secrets(text) != documented(renamed)
    unset = load_yaml(BASE_VALUES)
    put(unset, "fernetKeySecretName", None)
    assert len(required_secrets(unset)) == len(SECRET_KEYS) - 1
    assert not DNS_SUBDOMAIN.match("Airflow_Metadata")
