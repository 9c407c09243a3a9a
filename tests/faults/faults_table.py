"""README's "Faults survived" table, made from the outcomes the fault suite recorded (tests/faults)."""

from __future__ import annotations

from collections.abc import Sequence

from fault_support import FaultOutcome
from paths import REPO

README = REPO / "README.md"
BEGIN = "<!-- faults-table: made by `make faults-table` from tests/faults; do not edit -->"
END = "<!-- faults-table end -->"


def render(outcomes: Sequence[FaultOutcome]) -> str:
    rows = ["| fault | what the platform did | lost | test |", "|---|---|---|---|"]
    rows += [f"| {o.fault} | {o.platform_did} | {o.lost} | `{o.test}` |" for o in outcomes]
    return "\n".join(rows)


def check_or_write_readme(outcomes: Sequence[FaultOutcome], *, write: bool) -> None:
    """Compare README's table with `outcomes`' (or rewrite it): it must never say what the suite did not."""
    text = README.read_text()
    assert BEGIN in text and END in text, f"README.md lacks the faults table's markers {BEGIN!r} ... {END!r}"
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    table = f"\n{render(outcomes)}\n"
    if write:
        README.write_text(f"{head}{BEGIN}{table}{END}{tail}")
        return
    assert current == table, (
        "README's Faults survived table differs from this run's outcomes: run `make faults-table`"
    )
