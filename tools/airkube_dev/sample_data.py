"""The example sources a new local data root starts with, so sources_fanout finds data to map over.

sources_fanout's discover step maps over the source registry (images/pipeline, `sources.py`); an
empty registry would give a run of zero extracts. A new data root gets three registered sources; a
registry that exists is the developer's and is left as it is (`airkube-pipeline register` edits it).
"""

from __future__ import annotations

from pathlib import Path

from airkube_pipeline.sources import REGISTRY_DIR, register_source

EXAMPLE_SOURCES = ("orders", "payments", "refunds")
FIRST_DATE = "2026-01-01"
"""sources_fanout's start_date: every interval the DAG can run has the example sources."""


def seed_source_registry(data_dir: Path) -> list[str]:
    """Register the example sources when `data_dir` has no registry yet; the names registered."""
    if (data_dir / REGISTRY_DIR).exists():
        return []
    for name in EXAMPLE_SOURCES:
        register_source(f"file://{data_dir}", name, FIRST_DATE)
    return list(EXAMPLE_SOURCES)
