"""Benchmark: how long it takes to get the definition JSON, whole process and by phase.

    python bench/definition.py [--runs 5]

Each run is a fresh interpreter (what CodeBuild and a developer pay), measured three ways:
- whole process: ``get-pipeline-definition`` from exec to exit, wall clock;
- phases inside that process: import (SDK and builder), build (``get_pipeline``), render
  (``definition()`` and canonical JSON);
- baseline, in the same job: a bare ``python -c pass`` and ``python -c "import sagemaker.mlops.workflow"``
  (the floor any SDK-based builder pays before doing anything).
The aim is under 3 s whole process on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = r"""
import json, sys, time
t0 = time.perf_counter()
from pipelines.cli.handler import configure_logging
configure_logging()
from pipelines.build import definition
builder = definition.load_builder(definition.DEFAULT_MODULE)
import sagemaker.mlops.workflow, sagemaker.serve.model_builder, sagemaker.train
t1 = time.perf_counter()
pipeline = definition.build(definition.DEFAULT_MODULE, {})
t2 = time.perf_counter()
text = definition.dumps(definition.render(pipeline))
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "build": t2 - t1, "render": t3 - t2, "bytes": len(text)}))
"""


def env() -> dict[str, str]:
    result = dict(os.environ)
    result.setdefault("AWS_ACCESS_KEY_ID", "bench")
    result.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    result.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result["PYTHONPATH"] = str(ROOT)
    return result


def wall(argv: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, env=env(), check=True)
    return time.perf_counter() - started, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    python = sys.executable
    rows: dict[str, list[float]] = {"python -c pass": [], "import sagemaker.mlops.workflow": [], "get-pipeline-definition": []}
    phases: dict[str, list[float]] = {"import": [], "build": [], "render": []}
    outputs = set()
    wall([python, "-m", "pipelines.get_pipeline_definition"])  # warm the file cache once
    for _ in range(args.runs):
        rows["python -c pass"].append(wall([python, "-c", "pass"])[0])
        rows["import sagemaker.mlops.workflow"].append(wall([python, "-c", "import sagemaker.mlops.workflow"])[0])
        seconds, out = wall([python, "-m", "pipelines.get_pipeline_definition"])
        rows["get-pipeline-definition"].append(seconds)
        outputs.add(out)
        figures = json.loads(wall([python, "-c", PHASES])[1])
        for key in phases:
            phases[key].append(figures[key])

    print(f"definition render benchmark, {args.runs} fresh processes each, median (min-max) seconds")
    print(f"{'what':<34} {'median':>8} {'min':>8} {'max':>8}")
    for name, values in rows.items():
        print(f"{name:<34} {statistics.median(values):8.3f} {min(values):8.3f} {max(values):8.3f}")
    for name, values in phases.items():
        print(f"{'  phase: ' + name:<34} {statistics.median(values):8.3f} {min(values):8.3f} {max(values):8.3f}")
    print(f"byte-identical across runs: {len(outputs) == 1}")
    target = statistics.median(rows["get-pipeline-definition"])
    print(f"aim: whole process < 3.0 s -> {'met' if target < 3.0 else 'NOT met'} ({target:.2f} s)")
    if args.json:
        print(json.dumps({"whole": rows, "phases": phases}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
