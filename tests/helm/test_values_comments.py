"""Every value that departs from the chart's default says why, in a comment beside it or just above it.

A departure is a leaf (scalar, list, or empty map) whose value differs from what the chart's defaults
(and, for an overlay, helm/values.yaml) already give. Its reason may sit on the leaf's own line or the
line above, or on an enclosing key below the top level (`resources:  # why` covers requests and limits).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from helm_values import BASE_VALUES, ENVIRONMENTS, chart_defaults, load_yaml, merge, overlay_path

_MISSING = object()
_INLINE_COMMENT = re.compile(r"\s#")


def _key_lines(node: yaml.Node, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    lines: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[(*path, key.value)] = key.start_mark.line
            lines.update(_key_lines(value, (*path, key.value)))
    return lines


def _leaves(values: Any, path: tuple[str, ...] = ()):
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, values


def _lookup(values: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(values, dict) or part not in values:
            return _MISSING
        values = values[part]
    return values


def uncommented_departures(text: str, reference: dict[str, Any]) -> list[str]:
    """Paths of the departures in the YAML `text` (from `reference`) that carry no comment."""
    lines = text.splitlines()
    key_lines = _key_lines(yaml.compose(text))

    def commented(path: tuple[str, ...]) -> bool:
        line = key_lines[path]
        return bool(_INLINE_COMMENT.search(lines[line])) or (
            line > 0 and lines[line - 1].lstrip().startswith("#")
        )

    missing = []
    for path, value in _leaves(yaml.safe_load(text)):
        if _lookup(reference, path) == value:
            continue
        enclosing = [path[:depth] for depth in range(len(path), min(2, len(path)) - 1, -1)]
        if not any(commented(candidate) for candidate in enclosing):
            missing.append(".".join(path))
    return missing


def test_every_departure_in_the_shared_values_is_commented():
    assert uncommented_departures(BASE_VALUES.read_text(), chart_defaults()) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_departure_in_an_overlay_is_commented(env):
    reference = merge(chart_defaults(), load_yaml(BASE_VALUES))
    assert uncommented_departures(overlay_path(env).read_text(), reference) == []


def test_the_comment_check_bites():
    text = BASE_VALUES.read_text()
    stripped = "\n".join(re.sub(r"\s+#.*$|^\s*#.*$", "", line) for line in text.splitlines())
    missing = uncommented_departures(stripped, chart_defaults())
    assert {"executor", "pgbouncer.enabled", "jwtSecretName", "statsd.enabled"} <= set(missing)
    # Defaults restated without a comment are not departures.
    assert "triggerer.enabled" not in missing and "uid" not in missing
    without_one = re.sub(r"(?m)^# One pod per task.*\n(?=executor:)", "", text)
    assert without_one != text
    assert uncommented_departures(without_one, chart_defaults()) == ["executor"]
