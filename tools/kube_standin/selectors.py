"""Label and field selectors, parsed the way the API server parses them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Matcher = Callable[[Mapping[str, str]], bool]

_SET = re.compile(r"^\s*([^\s!=(]+)\s+(in|notin)\s*\((.*)\)\s*$")
_KEY = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
# Field names the API server takes for another path (an event's `source` is its source.component).
FIELD_ALIASES = {"source": "source.component"}


class SelectorError(ValueError):
    """A selector the API server would answer 400 for."""


def _split_requirements(selector: str) -> list[str]:
    """Split on commas that are not inside the parentheses of a set requirement."""
    parts, depth, current = [], 0, []
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _checked(text: str, key: str, *values: str) -> str:
    """The key, after checking it and the values are valid label syntax (else 400, as the server)."""
    if not _KEY.match(key) or not all(_VALUE.match(value) for value in values):
        raise SelectorError(f"unable to parse requirement: {text!r}")
    return key


def _requirement(text: str) -> Matcher:
    match = _SET.match(text)
    if match:
        values = {v.strip() for v in match.group(3).split(",")}
        key, operator = _checked(text, match.group(1), *values), match.group(2)
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if text.startswith("!"):
        key = _checked(text, text[1:].strip())
        return lambda labels: key not in labels
    for operator in ("!=", "==", "="):
        if operator in text:
            key, value = (part.strip() for part in text.split(operator, 1))
            key = _checked(text, key, value)
            if operator == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    key = _checked(text, text.strip())
    return lambda labels: key in labels


def label_matcher(selector: str | None) -> Matcher:
    """`a=b,c!=d,e in (f,g),h notin (i),!j,k`: every requirement must hold."""
    if not selector:
        return lambda labels: True
    requirements = [_requirement(part) for part in _split_requirements(selector)]
    return lambda labels: all(requirement(labels) for requirement in requirements)


def field_value(obj: Mapping[str, Any], path: str) -> str | None:
    """The value of a dotted field path (`status.phase`, `involvedObject.name`) as a string."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return None if current is None else str(current)


def field_matcher(selector: str | None, supported: frozenset[str]) -> Callable[[Mapping[str, Any]], bool]:
    """`status.phase=Running,metadata.name!=x`; only the fields the real server supports for the kind."""
    if not selector:
        return lambda obj: True
    checks = []
    for part in _split_requirements(selector):
        negate = "!=" in part
        pieces = [p.strip() for p in re.split(r"!=|==|=", part, maxsplit=1)]
        if len(pieces) != 2:
            raise SelectorError(f"invalid selector: '{selector}'; can't understand '{part}'")
        key, value = pieces
        if key not in supported:
            raise SelectorError(f"field label not supported: {key}")
        checks.append((key, value, negate))

    def matches(obj: Mapping[str, Any]) -> bool:
        for key, value, negate in checks:
            actual = field_value(obj, FIELD_ALIASES.get(key, key)) or ""
            if (actual == value) == negate:
                return False
        return True

    return matches
