"""``make demo``: what runs on one machine today, end to end on the bundled data.

1. render the SageMaker pipeline definition offline and show its step graph;
2. run the Preprocess job script on the bundled CSV, as its processing job would;
3. train with the built-in XGBoost algorithm's contract and the definition's default
   hyperparameters;
4. run the Evaluate job script and compare the test AUC with the AucThreshold default.

Everything lands under ``$MLOPS_HOME/demo`` (default ``.mlops/demo``). Later issues replace
steps 2-4 with the local engine executing the definition itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import definition, graph  # noqa: E402
from pipelines.cli.handler import configure_logging  # noqa: E402
from pipelines.credit_default.pipeline import DEFAULT_HYPERPARAMETERS, HYPERPARAMETER_NAMES  # noqa: E402
from pipelines.engine import xgboost_algorithm  # noqa: E402

RAW = ROOT / "data" / "credit-card-default" / "credit_default.csv"


def step(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.perf_counter()


def run_job(script: str, *args: str) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "steps" / script), *args], capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise SystemExit(f"{script} failed (exit {result.returncode}):\n{tail}")
    for line in result.stderr.strip().splitlines()[-2:]:
        print(f"   {line}")


def main() -> int:
    configure_logging()
    home = Path(os.environ.get("MLOPS_HOME", ROOT / ".mlops"))
    work = home / "demo"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    timings: dict[str, float] = {}

    started = step("1. Render the SageMaker pipeline definition (offline, no AWS account)")
    document = definition.render(definition.build(definition.DEFAULT_MODULE, {}))
    (work / "definition.json").write_text(definition.dumps(document))
    for node in graph.steps(document):
        branch = f"  [{node.branch}]" if node.branch else ""
        print(f"   {node.name:<20} {node.type:<15} after: {', '.join(node.upstream) or '-'}{branch}")
    timings["render"] = time.perf_counter() - started

    started = step("2. Preprocess: validate and split the bundled data (steps/preprocess.py)")
    processing = work / "processing"
    run_job("preprocess.py", "--input", str(RAW), "--output-dir", str(processing))
    timings["preprocess"] = time.perf_counter() - started

    started = step("3. Train: built-in XGBoost algorithm contract, default hyperparameters")
    hyper = {"objective": "binary:logistic", "eval_metric": "auc"}
    hyper.update({HYPERPARAMETER_NAMES[k]: str(v) for k, v in DEFAULT_HYPERPARAMETERS.items()})
    result = xgboost_algorithm.train(
        {"train": processing / "train", "validation": processing / "validation"}, hyper, work / "model"
    )
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in sorted(result.final_metrics.items()))
    print(f"   {result.rounds} rounds (best {result.best_iteration}): {metrics}")
    timings["train"] = time.perf_counter() - started

    started = step("4. Evaluate: score the test split (steps/evaluate.py)")
    run_job("evaluate.py", "--model-dir", str(work / "model"), "--test-dir", str(processing / "test"), "--output-dir", str(work / "evaluation"))
    report = json.loads((work / "evaluation" / "evaluation.json").read_text())
    auc = report["binary_classification_metrics"]["auc"]["value"]
    threshold = next(p["DefaultValue"] for p in document["Parameters"] if p["Name"] == "AucThreshold")
    verdict = "passes: the pipeline would register the model" if auc >= threshold else "fails: the pipeline's AucTooLow step would fire"
    print(f"   test AUC {auc:.4f} vs AucThreshold {threshold}: {verdict}")
    timings["evaluate"] = time.perf_counter() - started

    print("\n== Summary")
    for name, seconds in timings.items():
        print(f"   {name:<10} {seconds:6.2f} s")
    print(f"   {'total':<10} {sum(timings.values()):6.2f} s")
    print(f"   definition: {work / 'definition.json'}")
    print(f"   outputs:    {processing}, {work / 'model'}, {work / 'evaluation'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
