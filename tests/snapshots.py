"""Output snapshots: what the end-to-end and fault tests compare runs by."""

from __future__ import annotations

import hashlib
from pathlib import Path


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder`: relative path -> sha256. Equal snapshots mean byte-identical
    outputs and no extra objects."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
