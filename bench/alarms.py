"""Benchmark: how often each monitor fires on clean hours, and how often on degraded ones.

    python bench/alarms.py [--windows 1000] [--sizes 100,500,2000]

Simulated hours of labelled traffic (seeded), each a monitoring window:
- model quality: 22% positives (the credit data's default rate), a score whose classes are a
  binormal model apart (AUC 0.77 clean; degraded: 0.05 lower, 0.72); the baseline is 6,000 rows
  of the clean population (the size of the project's test split), one per chunk of windows
  (eight per worker), so that a baseline's own luck is averaged over. Our thresholds are suggested
  for each window size (``window_constraints``: what the job's ``--window-rows`` sets); AWS's
  plain rule is the baseline's own values. A window fires when it violates any constraint
  (``quality.check`` on its ``binary_classification_metrics``, as the monitoring job does).
- bias drift: one facet (SEX=2, half the rows), the favourable prediction's rate 0.78 outside it
  and 0.78 x DI inside (DI 1.0 clean; degraded: DI 0.75); the baseline is 6,000 clean rows. A
  window fires when any of its pre- and post-training metrics violates: ours beyond the
  window's jackknife standard errors (``bias.standard_errors``), Clarify's plain rule any worse.
Printed: per monitor, window size and rule, the share of clean windows that fired (false
alarms, aim at most 1% at 500 rows) and of degraded ones (detection, aim above 90% at 2,000
rows), side by side. Both rules see the same windows.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PREVALENCE = 0.22
BASELINE_ROWS = 6000
CLEAN_AUC, AUC_DROP = 0.77, 0.05
FAVOURABLE_RATE, DEGRADED_DI = 0.78, 0.75


def _separation(auc: float) -> float:
    """The binormal model's distance between the classes for this AUC: AUC = Phi(d / sqrt 2)."""
    from statistics import NormalDist

    return math.sqrt(2) * NormalDist().inv_cdf(auc)


def _scored(rng: np.random.Generator, rows: int, auc: float) -> tuple[np.ndarray, np.ndarray]:
    labels = (rng.random(rows) < PREVALENCE).astype(np.int64)
    z = rng.normal(0.0, 1.0, rows) + _separation(auc) * labels
    return labels, 1.0 / (1.0 + np.exp(-(z - 1.2)))


def _facet_rows(rng: np.random.Generator, rows: int, di: float):  # noqa: ANN202 - a bias.Table
    from pipelines.monitor.job.clarify import bias

    sex = rng.integers(1, 3, rows).astype(float)
    label = rng.random(rows) < FAVOURABLE_RATE
    predicted = rng.random(rows) < np.where(sex == 2, FAVOURABLE_RATE * di, FAVOURABLE_RATE)
    return bias.Table(columns={"SEX": sex}, label=label, predicted=predicted, features=None)


def _quality_job(args: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """(ours fired on clean, plain on clean, ours on degraded, plain on degraded) for ``count`` windows."""
    from pipelines.monitor.job.model_quality import quality

    size, count, seed = args
    rng = np.random.default_rng(1000 + seed)
    labels, scores = _scored(np.random.default_rng(seed), BASELINE_ROWS, CLEAN_AUC)  # a baseline per chunk: its own luck averaged over
    baseline = quality.binary_classification_metrics(labels, scores)
    ours, plain = quality.window_constraints(baseline, labels, scores, window_rows=size), quality.suggest_constraints(baseline)
    fired = [0, 0, 0, 0]
    for _ in range(count):
        for kind, auc in ((0, CLEAN_AUC), (2, CLEAN_AUC - AUC_DROP)):
            metrics = quality.binary_classification_metrics(*_scored(rng, size, auc))
            fired[kind] += bool(quality.check(metrics, ours))
            fired[kind + 1] += bool(quality.check(metrics, plain))
    return tuple(fired)  # type: ignore[return-value]


def _bias_job(args: tuple[int, int, int]) -> tuple[int, int, int, int]:
    from pipelines.monitor.job.clarify import bias

    size, count, seed = args
    config = bias.BiasConfig.from_dict({"label": "Label", "label_values_or_threshold": [0], "facet": [{"name_or_index": "SEX", "value_or_threshold": [2]}]})
    rng = np.random.default_rng(2000 + seed)
    reference = _facet_rows(np.random.default_rng(seed), BASELINE_ROWS, 1.0)
    baseline = bias.analysis(bias.pre_training(reference, config), bias.post_training(reference, config))
    fired = [0, 0, 0, 0]
    for _ in range(count):
        for kind, di in ((0, 1.0), (2, DEGRADED_DI)):
            table = _facet_rows(rng, size, di)
            document = bias.analysis(bias.pre_training(table, config), bias.post_training(table, config))
            fired[kind] += bool(bias.violations(document, baseline, bias.standard_errors(table, config)))
            fired[kind + 1] += bool(bias.violations(document, baseline))
    return tuple(fired)  # type: ignore[return-value]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=1000, help="clean windows, and as many degraded ones, per size")
    parser.add_argument("--sizes", default="100,500,2000")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    chunks = max(args.workers, 1) * 4
    per = [args.windows // chunks + (1 if i < args.windows % chunks else 0) for i in range(chunks)]
    print(f"bench/alarms.py: {args.windows} clean and {args.windows} degraded windows per size; baseline {BASELINE_ROWS} rows")
    print(f"  model quality: AUC {CLEAN_AUC} clean, {CLEAN_AUC - AUC_DROP:.2f} degraded; bias drift: DI 1.0 clean, {DEGRADED_DI} degraded (SEX=2)")
    print(f"{'monitor':<15} {'rows':>5}  {'rule':<27} {'false alarms':>12} {'detection':>10}")
    verdicts = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for name, job in (("model quality", _quality_job), ("bias drift", _bias_job)):
            for size in sizes:
                started = time.perf_counter()
                totals = [0, 0, 0, 0]
                for fired in pool.map(job, [(size, n, seed) for seed, n in enumerate(per) if n]):
                    totals = [a + b for a, b in zip(totals, fired, strict=True)]
                rates = [t / args.windows for t in totals]
                ours = "ours (window's size)" if name == "model quality" else "ours (window's errors)"
                plain = "AWS's plain (baseline's)" if name == "model quality" else "Clarify's plain (any worse)"
                print(f"{name:<15} {size:>5}  {ours:<27} {rates[0]:>11.1%} {rates[2]:>10.1%}   ({time.perf_counter() - started:.0f} s)")
                print(f"{'':<15} {'':>5}  {plain:<27} {rates[1]:>11.1%} {rates[3]:>10.1%}")
                if size == 500:
                    verdicts.append(f"{name}: false alarms at 500 rows {rates[0]:.1%} (aim <= 1%, {'met' if rates[0] <= 0.01 else 'NOT met'}; plain rule {rates[1]:.1%})")
                if size == 2000:
                    verdicts.append(f"{name}: detection at 2,000 rows {rates[2]:.1%} (aim > 90%, {'met' if rates[2] > 0.9 else 'NOT met'}; plain rule {rates[3]:.1%})")
    for verdict in verdicts:
        print(verdict)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
