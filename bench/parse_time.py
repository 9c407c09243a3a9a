"""Parse time of the nightly DAG: airkube against the same DAG with bare KubernetesPodOperator.

Two measurements, each the median of RUNS alternating runs so that drift hits both sides alike:
- warm: executing the DAG file in a process that has already imported Airflow, the provider and
  airkube -- the DAG-building cost itself, which is what airkube adds;
- cold: a fresh interpreter importing the file, as a first parse pays it (imports included).
Prints both ratios; the goal is airkube / bare <= 1.10.
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

REPO = Path(__file__).resolve().parents[1]
AIRKUBE_DAG = REPO / "dags" / "high_priorities.py"
BARE_DAG = REPO / "bench" / "dags" / "high_priorities_bare.py"
sys.path.insert(0, str(BARE_DAG.parent))  # the twin DAGs import nightly_shape, as Airflow would
GOAL = 1.10


def warm_seconds(path: Path) -> float:
    gc.collect()
    started = time.perf_counter()
    namespace = runpy.run_path(str(path))
    elapsed = time.perf_counter() - started
    assert len(namespace["dag"].tasks) == 201, path
    return elapsed


def cold_seconds(path: Path) -> float:
    started = time.perf_counter()
    code = f"import runpy; runpy.run_path({str(path)!r})"
    # The same PYTHONPATH for both sides: Airflow puts the dags folder on sys.path the same way.
    env = {**os.environ, "PYTHONPATH": str(BARE_DAG.parent)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - started


def measure(kind: str, runs: int) -> dict[str, float]:
    probe = warm_seconds if kind == "warm" else cold_seconds
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
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    results = {kind: measure(kind, args.runs) for kind in ("warm", "cold")}
    print(f"parse time of high_priorities (201 tasks), median of {args.runs} alternating runs")
    print(f"{'':6} {'airkube':>10} {'bare KPO':>10} {'ratio':>7}")
    for kind, figures in results.items():
        print(
            f"{kind:6} {figures['airkube'] * 1000:8.1f}ms {figures['bare'] * 1000:8.1f}ms "
            f"{figures['ratio']:7.3f}"
        )
    verdict = "meets" if results["warm"]["ratio"] <= GOAL else "MISSES"
    print(f"warm ratio {results['warm']['ratio']:.3f} {verdict} the goal airkube / bare <= {GOAL}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
