"""Benchmark: model quality over 1,000,000 captured predictions merged with 1,000,000 labels.

    python bench/model_quality.py [--records 1000000]

Setup (not timed): ``--records`` predictions of a binary classifier in SageMaker's capture
layout (JSONL in hour folders, 50,000 an hour, each with an InferenceId), and their labels in
the ground-truth layout, collected an hour after each prediction's hour and written in a
shuffled order. Then, each in a fresh process, time and peak memory (the process's own VmHWM: a child's ru_maxrss starts at its parent's size) of:
- ours: ``model_quality.monitor`` over the whole window: reading both sides, the join by id,
  every metric with its standard deviation (five 80% samples), the curves, the constraints
  check, the files;
- ours, the metrics alone on already-joined arrays (``quality.binary_classification_metrics``);
- the floor: scikit-learn's metrics on the same already-joined arrays (confusion matrix,
  accuracy, precision, recall, F0.5/F1/F2, ROC AUC, the ROC and precision-recall curves), no
  reading, no join, no standard deviations.
Aim on the 2-core reference machine: the whole run under 15 s and 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from peak import PEAK_MB  # noqa: E402  (bench/, this script's folder)

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
PER_HOUR = 50_000

OURS = PEAK_MB + """
import json, sys, time
from datetime import datetime, timedelta, timezone
from pathlib import Path
started = time.perf_counter()
from pipelines.monitor.job.model_quality import analysis as model_quality
work, hours = Path(sys.argv[1]), int(sys.argv[2])
start = datetime(2026, 11, 1, tzinfo=timezone.utc)
result = model_quality.monitor(work / "capture", work / "ground-truth", work / "out", work / "baseline" / "constraints.json",
                               start, start + timedelta(hours=hours), until=start + timedelta(hours=hours + 1), publish_metrics=True)
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_mb(),
                  "matched": result.counters["matched"], "auc": result.metrics["auc"], "violations": len(result.violations)}))
"""

METRICS_ALONE = PEAK_MB + """
import json, sys, time
import numpy as np
labels, scores = np.load(sys.argv[1]), np.load(sys.argv[2])
started = time.perf_counter()
from pipelines.monitor.job.model_quality import quality
found = quality.binary_classification_metrics(labels, scores)
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "auc": found["auc"]["value"]}))
"""

SKLEARN = PEAK_MB + """
import json, sys, time
import numpy as np
labels, scores = np.load(sys.argv[1]), np.load(sys.argv[2])
started = time.perf_counter()
from sklearn import metrics as sk
predicted = (scores > 0.5).astype(int)
found = {"matrix": sk.confusion_matrix(labels, predicted).tolist(), "accuracy": sk.accuracy_score(labels, predicted),
         "precision": sk.precision_score(labels, predicted), "recall": sk.recall_score(labels, predicted),
         "f0_5": sk.fbeta_score(labels, predicted, beta=0.5), "f1": sk.f1_score(labels, predicted), "f2": sk.fbeta_score(labels, predicted, beta=2),
         "auc": sk.roc_auc_score(labels, scores), "roc": len(sk.roc_curve(labels, scores)[0]), "pr": len(sk.precision_recall_curve(labels, scores)[0])}
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "auc": found["auc"]}))
"""


def prepare(work: Path, records: int) -> int:
    """Capture and ground truth for ``records`` predictions; the baseline from 100,000 more."""
    from pipelines.monitor.job.model_quality import analysis as model_quality

    rng = np.random.default_rng(0)
    labels = (rng.random(records + 100_000) < 0.22).astype(np.int64)
    scores = np.clip(rng.normal(0.3 + 0.3 * labels, 0.18), 0, 1).round(7)
    np.save(work / "labels.npy", labels[:records])
    np.save(work / "scores.npy", scores[:records])
    baseline_rows = work / "baseline.csv"
    with open(baseline_rows, "w") as handle:
        handle.write("label,probability\n")
        handle.writelines(f"{y},{s!r}\n" for y, s in zip(labels[records:].tolist(), scores[records:].tolist(), strict=True))
    model_quality.baseline(baseline_rows, work / "baseline", "probability", "label")
    hours = -(-records // PER_HOUR)
    texts, truths = [repr(s) for s in scores.tolist()], labels.tolist()
    for hour in range(hours):
        moment = START + timedelta(hours=hour)
        rows = range(hour * PER_HOUR, min(records, (hour + 1) * PER_HOUR))
        folder = work / "capture" / "AllTraffic" / moment.strftime("%Y/%m/%d/%H")
        folder.mkdir(parents=True)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(folder / "capture.jsonl", "w") as handle:
            for i in rows:
                handle.write(
                    '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"1,2,3","encoding":"CSV"},'
                    f'"endpointOutput":{{"observedContentType":"text/csv; charset=utf-8","mode":"OUTPUT","data":"{texts[i]}","encoding":"CSV"}}}},'
                    f'"eventMetadata":{{"eventId":"e-{i}","inferenceId":"row-{i}","inferenceTime":"{stamp}"}},"eventVersion":"0"}}\n'
                )
        labelled = work / "ground-truth" / (moment + timedelta(hours=1)).strftime("%Y/%m/%d/%H")
        labelled.mkdir(parents=True)
        with open(labelled / "labels.jsonl", "w") as handle:
            for i in rng.permutation(np.array(rows)).tolist():
                handle.write(f'{{"groundTruthData":{{"data":"{truths[i]}","encoding":"CSV"}},"eventMetadata":{{"eventId":"row-{i}"}},"eventVersion":"0"}}\n')
    return hours


def child(code: str, args: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-model-quality-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        hours = prepare(work, args.records)
        size = sum(p.stat().st_size for p in work.rglob("*.jsonl")) / 1e6
        print(f"setup: {args.records:,} predictions and labels ({size:.0f} MB of JSONL, {hours} hours) in {time.perf_counter() - started:.1f} s", flush=True)
        ours = child(OURS, [str(work), str(hours)])
        alone = child(METRICS_ALONE, [str(work / "labels.npy"), str(work / "scores.npy")])
        floor = child(SKLEARN, [str(work / "labels.npy"), str(work / "scores.npy")])
    rows = [("ours: read, join, metrics, check, files", ours), ("ours: the metrics alone, joined arrays", alone), ("scikit-learn on joined arrays (floor)", floor)]
    print(f"\nmodel quality over {args.records:,} predictions and {args.records:,} labels, fresh process each")
    print(f"{'what':<42} {'seconds':>9} {'peak MB':>9}")
    for name, figures in rows:
        print(f"{name:<42} {figures['seconds']:9.2f} {figures['peak_mb']:9.0f}")
    print(f"matched {ours['matched']:,}; AUC ours {ours['auc']:.12f}, scikit-learn {floor['auc']:.12f}; {ours['violations']} violation(s)")
    if abs(ours["auc"] - floor["auc"]) > 1e-9 or ours["matched"] != args.records:
        raise SystemExit("ours disagrees with scikit-learn or left rows unmatched")
    print(f"aims: < 15 s -> {'met' if ours['seconds'] < 15 else 'NOT met'}; < 2 GB -> {'met' if ours['peak_mb'] < 2048 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
