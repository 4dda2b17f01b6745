"""Benchmark: a monitoring run over 1,000,000 captured records, beside Evidently's DataDriftPreset.

    python bench/monitor.py [--records 1000000] [--repeat 3] [--growth 10] [--skip-evidently]

Setup (not timed): the real pipeline's jobs make the baseline (the model's output and the 23
features of the training rows); the test rows, scored by that model, are sampled into
``--records`` captured requests in SageMaker's capture layout (JSONL in hour folders).
Then, each in a fresh process, time and peak memory (the process's own VmHWM: a child's ru_maxrss starts at its parent's size) of:
- ours: ``python -m pipelines.monitor.job.environment`` on the capture (the container's contract):
  statistics.json with KLL sketches, and every check against the baseline;
- the monitoring job that replaces Model Monitor on AWS (``monitor-analyzer.pyz monitor``, the
  bundle the monitoring pipeline runs) over the same capture as one window read from the twin's
  store, twice: on the project's libraries, and on the libraries of SageMaker's stock
  scikit-learn 1.2-1 image, the job's image on AWS (``.venv-sklearn-image``:
  ``bench/sklearn-image-requirements.txt``, pyarrow 14, numpy 1.24; this machine's Python);
- Evidently 0.7 ``DataDriftPreset`` on the same rows (given a ready CSV, so its figure does not
  even include parsing the capture JSONL).
Each runs ``--repeat`` times, the four in turn each round (a machine that slows down for a while
slows all four), and the best time of each is compared, with its spread; memory is the largest
peak of its runs.
Then how it grows: ours again on ``--growth`` times the records (10,000,000 by default, about
5 GB of JSONL), its time and memory against the first run's.
Aims (issue 28), printed met or not for ours and for the job on both sets of libraries: at
least 15x faster than Evidently, and under 0.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
AIM_RATIO, AIM_BYTES = 15.0, 0.5e9  # issue 28: at least 15x Evidently, under 0.5 GB
sys.path.insert(0, str(ROOT))

from peak import PEAK_MB  # noqa: E402  (bench/, this script's folder)

OURS = PEAK_MB + """
import json, os, sys, time
started = time.perf_counter()
from pipelines.monitor.job import environment
from pipelines.monitor.job.common import process
process.without_pandas()  # as the program's main() does
result = environment.run(os.environ)
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_mb(),
                  "violations": len(result.violations), "rows": result.counters["rows"]}))
"""

JOB = PEAK_MB + """
import json, runpy, sys, time
started = time.perf_counter()
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
    code = 0
except SystemExit as exit:
    code = exit.code
import numpy, pyarrow
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_mb(),
                  "exit": code, "libraries": f"numpy {numpy.__version__}, pyarrow {pyarrow.__version__}"}))
"""

EVIDENTLY = PEAK_MB + """
import json, sys, time
started = time.perf_counter()
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
reference = pd.read_csv(sys.argv[1])
current = pd.read_csv(sys.argv[2], header=None, names=list(reference.columns))
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
drifted = [m for m in snapshot.dict()["metrics"] if "ValueDrift" in str(m.get("metric_id", "")) or "value_drift" in str(m.get("metric_id", "")).lower()]
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "metrics": len(snapshot.dict()["metrics"])}))
"""


def prepare(work: Path, records: int, growth_records: int = 0) -> tuple[Path, Path, Path]:
    """Baseline files, the capture folder and the same rows as a plain CSV (and, with
    ``growth_records``, a second capture of that many under ``store-growth``)."""
    import logging

    from pipelines.credit_default.pipeline import DEFAULT_HYPERPARAMETERS, HYPERPARAMETER_NAMES
    from pipelines.engine import xgboost_algorithm
    from pipelines.monitor.job.data_quality import analyzer
    from steps import evaluate, preprocess

    logging.disable(logging.INFO)  # the jobs' own progress lines
    data = ROOT / "data" / "credit-card-default" / "credit_default.csv"
    assert preprocess.main(["--input", str(data), "--output-dir", str(work / "split")]) == 0
    hyper = {"objective": "binary:logistic", "eval_metric": "auc", **{HYPERPARAMETER_NAMES[k]: str(v) for k, v in DEFAULT_HYPERPARAMETERS.items()}}
    xgboost_algorithm.train({"train": work / "split" / "train", "validation": work / "split" / "validation"}, hyper, work / "model")
    assert evaluate.main(["--model-dir", str(work / "model"), "--test-dir", str(work / "split" / "test"), "--output-dir", str(work / "evaluation"), "--train-dir", str(work / "split" / "train"), "--baseline-dir", str(work / "baseline")]) == 0
    analyzer.baseline(work / "baseline" / "baseline.csv", work / "baseline-files")

    import tarfile

    import xgboost

    booster = xgboost.Booster()
    with tarfile.open(work / "model" / "model.tar.gz") as tar:
        booster.load_model(bytearray(tar.extractfile("xgboost-model").read()))  # type: ignore[union-attr]
    test = pd.read_csv(work / "split" / "test" / "test.csv", dtype=str)
    scores = booster.predict(xgboost.DMatrix(test.iloc[:, 1:].to_numpy(dtype=float)))
    inputs = test.iloc[:, 1:].agg(",".join, axis=1).tolist()
    outputs = [repr(float(s)) for s in scores]
    capture = write_capture(work / "store", inputs, outputs, records, work / "current.csv")
    if growth_records:
        write_capture(work / "store-growth", inputs, outputs, growth_records, None)
    return work / "baseline-files", capture, work / "current.csv"


def write_capture(store: Path, inputs: list[str], outputs: list[str], records: int, plain_path: Path | None) -> Path:
    """``records`` requests drawn from the scored test rows, in SageMaker's capture layout under
    ``store`` (50,000 an hour); the same rows as a plain CSV at ``plain_path``, if given."""
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(inputs), records)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    per_hour = 50_000
    capture = store / "bench" / "data-capture" / "credit-default-staging" / "AllTraffic"
    with open(plain_path or os.devnull, "w") as plain:
        for first in range(0, records, per_hour):
            hour = start + timedelta(hours=first // per_hour)
            folder = capture / hour.strftime("%Y/%m/%d/%H")
            folder.mkdir(parents=True, exist_ok=True)
            lines = []
            for offset, pick in enumerate(picks[first : first + per_hour]):
                moment = (hour + timedelta(seconds=offset * 3600 / per_hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
                lines.append(json.dumps({
                    "captureData": {
                        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": inputs[pick], "encoding": "CSV"},
                        "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": outputs[pick], "encoding": "CSV"},
                    },
                    "eventMetadata": {"eventId": str(uuid.uuid4()), "inferenceTime": moment},
                    "eventVersion": "0",
                }))  # fmt: skip
                if plain_path is not None:
                    plain.write(f"{outputs[pick]},{inputs[pick]}\n")
            (folder / f"00-00-000-{uuid.uuid4()}.jsonl").write_text("\n".join(lines) + "\n")
    return store / "bench" / "data-capture"


def venv_python(name: str, requirements: str, why: str) -> str:
    """A venv of its own (made once) for libraries the project's venv cannot hold."""
    venv = ROOT / name
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {name} for {why} (once)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(ROOT / "bench" / requirements)], check=True)
    return str(python)


def evidently_python() -> str:
    """Evidently 0.7 needs pandas 2 (the project pins pandas 3)."""
    return venv_python(".venv-evidently", "evidently-requirements.txt", "Evidently")


def image_python() -> str:
    """The scikit-learn 1.2-1 image's numpy, pyarrow, scipy and boto3."""
    return venv_python(".venv-sklearn-image", "sklearn-image-requirements.txt", "the scikit-learn image's libraries")


def job_arguments(work: Path, baseline: Path, records: int, output: str) -> list[str]:
    """The monitoring job over the whole capture as one window ending at the last captured hour."""
    from pipelines.monitor import bundle

    hours = -(-records // 50_000)
    return [str(bundle.build(work / "code")), "monitor", "--capture", "s3://bench/data-capture/credit-default-staging",
            "--scheduled-time", (datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            f"--start-offset=-PT{hours}H", "--statistics", str(baseline / "statistics.json"), "--constraints", str(baseline / "constraints.json"),
            "--output", str(work / output), "--endpoint", "credit-default-staging", "--schedule", "bench", "--message", str(work / f"{output}.message")]  # fmt: skip


def child(code: str, args: list[str], env: dict[str, str], python: str = sys.executable, cwd: Path = ROOT) -> dict:
    done = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def job(work: Path, baseline: Path, records: int, output: str, store: dict[str, str], python: str) -> dict:
    """The monitoring job's bundle, run alone (not from the checkout); its files must be the analyzer's."""
    figures = child(JOB, job_arguments(work, baseline, records, output), store, python, cwd=work)
    if figures["exit"] != 0:
        raise SystemExit(f"the monitoring job failed ({figures['exit']}) with {figures['libraries']}")
    (produced,) = [folder for folder in (work / output).glob("*/*/*/*") if folder.is_dir()]
    for file in ("statistics.json", "constraint_violations.json"):
        if (produced / file).read_bytes() != (work / "report" / file).read_bytes():
            raise SystemExit(f"the monitoring job on {figures['libraries']} wrote another {file} than the analyzer")
    return figures


def best(runs: list[dict]) -> dict:
    """The fastest run's figures, the largest peak memory of them all, and every run's time."""
    return {**min(runs, key=lambda r: r["seconds"]), "peak_mb": max(r["peak_mb"] for r in runs), "runs": [r["seconds"] for r in runs]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, in turn; the best time counts")
    parser.add_argument("--growth", type=int, default=10, help="ours again on this many times the records (0: not run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        baseline, capture, plain = prepare(work, args.records, args.records * args.growth)
        size_mb = sum(p.stat().st_size for p in capture.rglob("*.jsonl")) / 1e6
        print(f"setup: {args.records:,} captured records ({size_mb:.0f} MB of JSONL) in {time.perf_counter() - started:.1f} s", flush=True)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        env.update({
            "dataset_format": json.dumps({"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}),
            "dataset_source": str(capture), "output_path": str(work / "report"),
            "baseline_statistics": str(baseline / "statistics.json"), "baseline_constraints": str(baseline / "constraints.json"),
            "start_time": "2026-11-01T00:00:00Z", "end_time": "2026-12-01T00:00:00Z", "publish_cloudwatch_metrics": "Enabled",
        })  # fmt: skip
        store = dict(os.environ, MLOPS_S3_ROOT=str(work / "store"))
        runs: dict[str, Any] = {
            "ours: analyzer on the capture JSONL": lambda: child(OURS, [], env),
            **{name: (lambda output=output, python=python: job(work, baseline, args.records, output, store, python))
               for name, output, python in (("job bundle, project's libraries", "job-project", sys.executable), ("job bundle, sklearn 1.2-1 image's libs", "job-image", image_python()))},
        }  # fmt: skip
        if not args.skip_evidently:
            python = evidently_python()
            runs["Evidently 0.7 DataDriftPreset on a CSV"] = lambda: child(EVIDENTLY, [str(work / "baseline" / "baseline.csv"), str(plain)], dict(os.environ), python)
        measured: dict[str, list[dict]] = {name: [] for name in runs}
        for turn in range(args.repeat):
            for name, run in runs.items():
                measured[name].append(run())
                print(f"round {turn + 1}: {name}: {measured[name][-1]['seconds']:.2f} s", flush=True)
        rows = [(name, best(figures)) for name, figures in measured.items()]
        ours = rows[0][1]
        growth = None
        if args.growth:
            larger = dict(env, dataset_source=str(work / "store-growth" / "bench" / "data-capture"), output_path=str(work / "report-growth"))
            growth = child(OURS, [], larger)
    print(f"\nmonitoring {args.records:,} records x 24 columns, fresh process each, best of {args.repeat} (all runs in brackets)")
    print(f"{'what':<42} {'seconds':>9} {'peak MB':>9}  runs")
    for name, figures in rows:
        print(f"{name:<42} {figures['seconds']:9.2f} {figures['peak_mb']:9.0f}  ({', '.join(f'{s:.2f}' for s in figures['runs'])})")
    for name, figures in rows:
        if "libraries" in figures:
            print(f"{name}: {figures['libraries']}; the analyzer's files byte for byte")
    print(f"ours analysed {ours['rows']:,} rows, {ours['violations']} violation(s)")
    if growth is not None:
        print(f"growth: ours on {args.records * args.growth:,} records ({args.growth}x): {growth['seconds']:.2f} s, {growth['peak_mb']:.0f} MB peak,"
              f" {growth['seconds'] / ours['seconds']:.1f}x the time and {growth['peak_mb'] / ours['peak_mb']:.2f}x the memory of {args.records:,}")  # fmt: skip
    if not args.skip_evidently:
        evidently_seconds = rows[-1][1]["seconds"]
        for name, figures in rows[:3]:
            ratio = evidently_seconds / figures["seconds"]
            small = figures["peak_mb"] * 2**20 < AIM_BYTES
            print(f"aim (issue 28): {name}: at least {AIM_RATIO:.0f}x Evidently: {ratio:.1f}x, {'met' if ratio >= AIM_RATIO else 'NOT met'};"
                  f" under 0.5 GB: {figures['peak_mb'] * 2**20 / 1e9:.2f} GB, {'met' if small else 'NOT met'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
