"""Where the repository is, for tests that read its files."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# checkov's own venv (`make checkov-venv`; tools/checkov/requirements.in says why it is apart).
CHECKOV_VENV = REPO / ".venv-checkov"
