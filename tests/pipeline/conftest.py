"""Fixtures for the pipeline task-code tests.

End-to-end tests run the installed ``airkube-pipeline`` console script (next to
``sys.executable``) as a real subprocess, with only the env-var contract between test and step,
exactly as a container would see it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
CLI = BIN_DIR / "airkube-pipeline"
DAG_ID = "high_priorities"
CHAIN = ("extract", "validate", "clean", "enrich", "publish")
START = "2026-11-22T00:00:00+00:00"


def partition_stamp(start: str) -> str:
    """The partition folder name the platform derives from the interval start."""
    return datetime.fromisoformat(start).strftime("%Y%m%dT%H%M%S")


def snapshot(url: str, fs: AbstractFileSystem | None = None) -> dict[str, bytes]:
    """Every object under ``url`` (relative path -> bytes); ``{}`` when nothing is there."""
    if fs is None:
        fs, root = url_to_fs(url, skip_instance_cache=True)
    else:
        root = fs._strip_protocol(url)
    root = root.rstrip("/")
    fs.invalidate_cache()
    try:
        paths = fs.find(root)
    except FileNotFoundError:
        return {}
    return {path[len(root) + 1 :]: fs.cat_file(path) for path in sorted(paths)}


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """Assertion message showing what the step printed."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@dataclass
class ChainRun:
    """Output partition URL and stdout of each step of one chain run."""

    urls: dict[str, str]
    stdout: dict[str, str] = field(default_factory=dict)


@dataclass
class Pipeline:
    """Runs steps as subprocesses with a clean environment plus the contract variables given."""

    base_env: dict[str, str]
    describe = staticmethod(describe)

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), *args],
            env={**self.base_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def contract(
        self, root: str, source: str, step: str, start: str, run_id: str, **extra: str
    ) -> dict[str, str]:
        """The variables the platform library sets for one task."""
        end = (datetime.fromisoformat(start) + timedelta(days=1)).isoformat()
        return {
            "AIRKUBE_OUTPUT_URL": f"{root}/{DAG_ID}/{source}.{step}/{partition_stamp(start)}",
            "AIRKUBE_DATA_INTERVAL_START": start,
            "AIRKUBE_DATA_INTERVAL_END": end,
            "AIRKUBE_DAG_ID": DAG_ID,
            "AIRKUBE_TASK_ID": f"{source}.{step}",
            "AIRKUBE_RUN_ID": run_id,
            "AIRKUBE_DATA_URL": root,
            **extra,
        }

    def chain(self, root: str, source: str, start: str = START, run_id: str = "scheduled__1") -> ChainRun:
        """extract -> validate -> clean -> enrich -> publish for one source and interval."""
        run = ChainRun(urls={})
        previous = ""
        for step in CHAIN:
            env = self.contract(root, source, step, start, run_id, AIRKUBE_INPUT_URLS=previous)
            args = ["extract", "--source", source] if step == "extract" else [step]
            result = self.run(*args, env=env)
            assert result.returncode == 0, f"{step} failed: {describe(result)}"
            run.urls[step] = env["AIRKUBE_OUTPUT_URL"]
            run.stdout[step] = result.stdout
            previous = env["AIRKUBE_OUTPUT_URL"]
        return run


def clean_environment(extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The test process's environment without any AIRKUBE_* or AWS_* variable leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRKUBE_", "AWS_"))}
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


@pytest.fixture(scope="session")
def cli() -> Path:
    """The installed console script; the e2e tests are meaningless without it."""
    if not CLI.exists():
        pytest.fail(f"{CLI} not found: install the package with pip install -e images/pipeline")
    return CLI


@pytest.fixture
def pipeline(cli: Path) -> Pipeline:
    return Pipeline(base_env=clean_environment())


@pytest.fixture
def snap() -> Callable[..., dict[str, bytes]]:
    """The ``snapshot`` helper, as a fixture so test modules need not import conftest."""
    return snapshot


@pytest.fixture
def root_url(tmp_path: Path) -> str:
    """A file:// storage root inside the test's temporary directory."""
    return (tmp_path / "data").as_uri()
