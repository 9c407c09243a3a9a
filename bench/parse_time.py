"""Parse time of the nightly DAG: airkube against the same DAG with bare KubernetesPodOperator.

Three measurements, each the median of RUNS alternating runs so that drift hits both sides alike:
- warm: executing the DAG file in a process that has already imported Airflow, the provider and
  airkube -- the DAG-building cost itself, which is what airkube adds;
- fresh: a fresh interpreter that has imported Airflow and the cncf.kubernetes provider (as a
  dag-processor has them) but not airkube, timed around executing the file only: the DAG plus the
  library's imports, which is what a DAG file should pay for only as far as building the DAG needs;
- cold: a fresh interpreter importing the file, as a first parse pays it (imports included).
Prints the three ratios; the goals are airkube / bare <= 1.10 warm and <= 1.00 fresh.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import runpy
import statistics
import subprocess
import sys
import time
from pathlib import Path

from fresh_parse import ALERT_ONLY, PRELOAD  # bench/, this script's folder

REPO = Path(__file__).resolve().parents[1]
AIRKUBE_DAG = REPO / "dags" / "high_priorities.py"
BARE_DAG = REPO / "bench" / "dags" / "high_priorities_bare.py"
sys.path.insert(0, str(BARE_DAG.parent))  # the twin DAGs import nightly_shape, as Airflow would

GOAL = 1.10
FRESH_GOAL = 1.00
# Imported only to send an alert or to serve the platform page: parsing a DAG should load none of them.
ALERT_OR_PAGE_ONLY = (*ALERT_ONLY, "fastapi")
# The fresh measure's child: preload what a dag-processor already holds, then time the DAG file alone.
FRESH_CHILD = f"""
import gc, json, runpy, sys, time
{PRELOAD}
assert "airkube" not in sys.modules, "airkube was preloaded: the plugin loaded at import time"
before = set(sys.modules)
gc.collect()
started = time.perf_counter()
namespace = runpy.run_path(sys.argv[1])
elapsed = time.perf_counter() - started
assert len(namespace["dag"].tasks) == 201, sys.argv[1]
new = set(sys.modules) - before
loaded = [top for top in json.loads(sys.argv[2]) if any(n == top or n.startswith(top + ".") for n in new)]
print(json.dumps({{"seconds": elapsed, "loaded": loaded}}))
"""


def warm_seconds(path: Path) -> float:
    gc.collect()
    started = time.perf_counter()
    namespace = runpy.run_path(str(path))
    elapsed = time.perf_counter() - started
    assert len(namespace["dag"].tasks) == 201, path
    return elapsed


def child_env() -> dict[str, str]:
    """The environment of both sides' fresh interpreters, so they differ only by the DAG file."""
    env = {
        **os.environ,
        # The same PYTHONPATH for both sides: Airflow puts the dags folder on sys.path the same way.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BARE_DAG.parent), os.environ.get("PYTHONPATH")])),
        # Plugins load on demand, Airflow's default: airkube's entry point must not preload airkube.
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "True",
    }
    # Bytecode is cached on both sides, as in an installed image: the venv's packages have their .pyc
    # from pip, and the warm-up run writes airkube's (an editable install has none, and with
    # PYTHONDONTWRITEBYTECODE every run would compile airkube's sources, charging it for that).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cold_seconds(path: Path) -> float:
    started = time.perf_counter()
    code = f"import runpy; runpy.run_path({str(path)!r})"
    subprocess.run([sys.executable, "-c", code], check=True, env=child_env())
    return time.perf_counter() - started


def fresh_run(path: Path) -> dict:
    """One fresh child's seconds for the file, and which ALERT_OR_PAGE_ONLY packages the parse imported."""
    child = subprocess.run(
        [sys.executable, "-c", FRESH_CHILD, str(path), json.dumps(ALERT_OR_PAGE_ONLY)],
        env=child_env(),
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        raise RuntimeError(f"parsing {path} in a fresh process failed:\n{child.stderr}")
    return json.loads(child.stdout.splitlines()[-1])


def fresh_seconds(path: Path) -> float:
    return fresh_run(path)["seconds"]


PROBES = {"warm": warm_seconds, "fresh": fresh_seconds, "cold": cold_seconds}


def measure(kind: str, runs: int) -> dict[str, float]:
    probe = PROBES[kind]
    samples: dict[str, list[float]] = {"airkube": [], "bare": []}
    probe(AIRKUBE_DAG), probe(BARE_DAG)  # warm-up: imports, caches
    for _ in range(runs):
        samples["airkube"].append(probe(AIRKUBE_DAG))
        samples["bare"].append(probe(BARE_DAG))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {**medians, "ratio": medians["airkube"] / medians["bare"]}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="alternating runs per side (>= 5)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--kinds",
        default=",".join(PROBES),
        help=f"which measures, comma-separated (default: {','.join(PROBES)})",
    )
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    kinds = args.kinds.split(",")
    if not kinds or set(kinds) - set(PROBES):
        parser.error(f"--kinds takes some of {', '.join(PROBES)}")
    results = {kind: measure(kind, args.runs) for kind in PROBES if kind in kinds}
    print(f"parse time of high_priorities (201 tasks), median of {args.runs} alternating runs")
    print(f"{'':6} {'airkube':>10} {'bare KPO':>10} {'ratio':>7}")
    for kind, figures in results.items():
        print(
            f"{kind:6} {figures['airkube'] * 1000:8.1f}ms {figures['bare'] * 1000:8.1f}ms "
            f"{figures['ratio']:7.3f}"
        )
    for kind, goal in (("warm", GOAL), ("fresh", FRESH_GOAL)):
        if kind in results:
            ratio = results[kind]["ratio"]
            verdict = "meets" if ratio <= goal else "MISSES"
            print(f"{kind} ratio {ratio:.3f} {verdict} the goal airkube / bare <= {goal:.2f}")
    if "fresh" in results:
        loaded = fresh_run(AIRKUBE_DAG)["loaded"]
        print("alert/page-only modules a fresh parse imports:", ", ".join(loaded) if loaded else "none")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
