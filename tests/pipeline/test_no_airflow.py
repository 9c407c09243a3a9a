"""The hard rule: task code never imports Airflow; its contract is the CLI and env vars only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import airkube_pipeline

PACKAGE_DIR = Path(airkube_pipeline.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_imports_airflow() -> None:
    sources = sorted(PACKAGE_DIR.glob("*.py"))
    assert len(sources) >= 6
    offenders = {
        path.name: sorted(name for name in imported_modules(path) if name.split(".")[0] == "airflow")
        for path in sources
    }
    assert not any(offenders.values()), offenders


def test_importing_every_module_loads_no_airflow() -> None:
    """Airflow is installed in the dev venv, so this would catch an indirect import too."""
    modules = [f"airkube_pipeline.{path.stem}" for path in sorted(PACKAGE_DIR.glob("*.py"))]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'airflow')\n"
        "print(len(sys.modules)); assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
