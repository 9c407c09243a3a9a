"""What parsing the nightly DAG loads: only what building the DAG needs (issue 16, item 1).

Slack's SDK, the Datadog client and their providers are needed only to send an alert, FastAPI only to
serve the platform page; a DAG file that pulls them in makes every parse pay for them (measured in
bench/parse_time.py, the "fresh" ratio). Checked twice: in a fresh interpreter that holds Airflow and the
cncf.kubernetes provider but not airkube (what the DAG file itself imports), and in the parsing child of
a real `airflow dag-processor`, which is forked from a parent that has loaded every plugin -- airkube's
included, through its entry point -- and so holds whatever airkube's plugin module imports.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Set as AbstractSet
from pathlib import Path
from types import ModuleType

import pytest

from paths import REPO


def _bench_module(name: str) -> ModuleType:
    """A module of bench/ (not a package on the tests' path), loaded by file as the faults' conftest
    loads nightly_shape: the measure and this check share what a fresh parse preloads and must not load."""
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fresh_parse = _bench_module("fresh_parse")
ALERT_ONLY, PRELOAD = fresh_parse.ALERT_ONLY, fresh_parse.PRELOAD
NIGHTLY_DAG = REPO / "dags" / "high_priorities.py"
MARK = "----- preloaded -----"
# A fresh interpreter with what a dag-processor already holds: Airflow, the Task SDK, the provider.
FRESH_PARSE = f"""
import json, runpy, sys
{PRELOAD}
before = set(sys.modules)
print({MARK!r}, file=sys.stderr, flush=True)
namespace = runpy.run_path(sys.argv[1])
print(json.dumps({{
    "preloaded_airkube": "airkube" in before,
    "tasks": len(namespace["dag"].tasks),
    "new": sorted(set(sys.modules) - before),
}}))
"""
# The probe DAG file for the real dag-processor: records the modules its parsing child holds when it
# starts on the file (inherited from the processor) and once the nightly DAG is built in it.
PROBE_DAG = '''"""Probe: builds the nightly Airflow DAG here (same code) and records sys.modules."""
import json as _json
import os as _os
import sys as _sys

_start = sorted(_sys.modules)
_nightly = _os.environ["AIRKUBE_PROBE_DAG"]
with open(_nightly) as _source:
    exec(compile(_source.read(), __file__, "exec"))
with open(_os.environ["AIRKUBE_PROBE_OUT"], "w") as _out:
    _json.dump({"pid": _os.getpid(), "start": _start, "end": sorted(_sys.modules)}, _out)
'''


def offending(
    modules: set[str], forbidden: tuple[str, ...], allowed: AbstractSet[str] = frozenset()
) -> list[str]:
    """Modules in `modules` that are, or are inside, a forbidden package, outermost first."""
    hits = {
        name
        for name in modules - allowed
        for package in forbidden
        if name == package or name.startswith(package + ".")
    }
    return sorted(hits, key=lambda name: (name.count("."), name))


def importer_chains(importtime: str) -> dict[str, str]:
    """For each module `python -X importtime` reports after MARK: who imported it, outermost first.

    importtime prints a module after the modules it imported, one indent deeper per level, so a
    module's importer is the next line printed with a smaller indent."""
    entries = []
    for line in importtime.split(MARK, 1)[-1].splitlines():
        if line.startswith("import time:") and "|" in line:
            field = line.rsplit("|", 1)[1]
            name = field.strip()
            if name != "package":  # importtime's header line
                entries.append(((len(field) - len(field.lstrip()) - 1) // 2, name))
    chains: dict[str, str] = {}
    for index, (depth, name) in enumerate(entries):
        chain, level = [name], depth
        for other_depth, other in entries[index + 1 :]:
            if other_depth < level:
                chain.append(other)
                level = other_depth
        chains.setdefault(name, " > ".join(reversed(chain)))
    return chains


def describe(names: list[str], chains: dict[str, str]) -> str:
    """The outermost offenders (`names` comes outermost first), each with who imported it if known."""
    shown: list[str] = []
    for name in names:
        if not any(name.startswith(outer + ".") for outer in shown):
            shown.append(name)
    return f"{len(names)} modules: " + "; ".join(chains.get(name, name) for name in shown)


def test_offending_and_importer_chains_read_what_they_should() -> None:
    """The helpers the two checks rely on: an empty answer must mean nothing was loaded."""
    modules = {"slack_sdk", "slack_sdk.web", "airflow.providers.slack", "airflow.providers.slackish", "os"}
    assert offending(modules, ("slack_sdk", "airflow.providers.slack"), {"airflow.providers.slack"}) == [
        "slack_sdk",
        "slack_sdk.web",
    ]
    importtime = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:        10 |         10 | early",
            MARK,
            "import time:       300 |        300 |       slack_sdk.web",
            "import time:        30 |        330 |     slack_sdk",
            "import time:        40 |         40 |     datadog",
            "import time:        20 |        390 |   airkube.alerts.channels",
            "import time:        10 |        400 | airkube",
        ]
    )
    chains = importer_chains(importtime)
    assert chains["slack_sdk"] == "airkube > airkube.alerts.channels > slack_sdk"
    assert chains["datadog"] == "airkube > airkube.alerts.channels > datadog"
    assert "early" not in chains
    assert describe(["slack_sdk", "slack_sdk.web"], chains) == f"2 modules: {chains['slack_sdk']}"


def test_parsing_the_nightly_dag_imports_no_alert_or_page_module() -> None:
    """A fresh interpreter holding Airflow and the provider parses dags/high_priorities.py: the parse
    must add none of Slack's, Datadog's or FastAPI's modules (Airflow itself loads the Slack and
    Datadog providers' package metadata while it starts: that is before, not part of, the parse)."""
    env = {**os.environ, "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "True"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", FRESH_PARSE, str(NIGHTLY_DAG)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    parsed = json.loads(result.stdout.splitlines()[-1])
    assert parsed["preloaded_airkube"] is False, "airkube was loaded before the parse: nothing to check"
    assert parsed["tasks"] == 201
    loaded = offending(set(parsed["new"]), (*ALERT_ONLY, "fastapi", "airkube.page"))
    assert not loaded, (
        "parsing dags/high_priorities.py imported modules only alerts or the platform page need: "
        + describe(loaded, importer_chains(result.stderr))
    )


@pytest.mark.slow
def test_a_real_dag_processors_parsing_child_holds_no_alert_or_page_module(
    airflow_db: Path, tmp_path: Path
) -> None:
    """`airflow dag-processor` forks a child per file (DagFileProcessorProcess, a bare os.fork) from a
    process that has loaded every plugin whatever `[core] lazy_load_plugins` says (its Job starts the
    listener manager, which loads them), so the child holds airkube's plugin module and all it
    imports before it reads a line of the file. Neither what it inherits nor what the parse adds may
    be Slack, Datadog or the platform page. FastAPI is not checked here: the processor loads it
    itself."""
    dags, out = tmp_path / "dags", tmp_path / "modules.json"
    dags.mkdir()
    (dags / "probe_nightly.py").write_text(PROBE_DAG)
    shutil.copy(airflow_db / "airflow.db", tmp_path / "airflow.db")  # migrated once per session
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        # Production's setting (the chart leaves Airflow's default); the platform's False loads the
        # plugins even earlier, at `import airflow`, in the same parent.
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "True",
        "AIRKUBE_PROBE_DAG": str(NIGHTLY_DAG),
        "AIRKUBE_PROBE_OUT": str(out),
    }
    airflow = Path(sys.executable).parent / "airflow"
    result = subprocess.run(
        [str(airflow), "dag-processor", "--num-runs", "1"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert out.exists(), f"the dag-processor never parsed the probe:\n{result.stdout[-5000:]}"
    child = json.loads(out.read_text())
    start, end = set(child["start"]), set(child["end"])
    # The premise: the child inherits the plugins the processor loaded, airkube's among them.
    assert {"airkube", "airkube.plugin"} <= start, "the parsing child did not inherit airkube's plugin"
    # Airflow's provider discovery reads every provider's metadata, Slack's and Datadog's included.
    discovery = {f"{p}{s}" for p in ALERT_ONLY[2:] for s in ("", ".get_provider_info")}
    inherited = offending(start, (*ALERT_ONLY, "airkube.page"), discovery)
    added = offending(end - start, (*ALERT_ONLY, "airkube.page"), discovery)
    assert not inherited, "inherited from the dag-processor (the plugins it loaded imported them): " + (
        describe(inherited, {})
    )
    assert not added, f"imported while parsing the nightly DAG: {describe(added, {})}"
