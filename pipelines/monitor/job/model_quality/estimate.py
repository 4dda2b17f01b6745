"""Model quality before the labels arrive: confidence-based performance estimation.

Labels come hours or weeks after the predictions. A model whose probabilities are calibrated
(of the rows it scores 0.3, about 30% are positive) says how often it is right: each row is a
positive with probability ``q``, its calibrated score. So the window's expected confusion matrix
is ``E[TP] = sum(q)`` over the rows predicted positive, ``E[FP] = sum(1 - q)`` over the same
rows, ``E[FN] = sum(q)`` and ``E[TN] = sum(1 - q)`` over the others, and the expected ROC curve
counts each row as ``q`` of a positive and ``1 - q`` of a negative (NannyML's CBPE). Here the
estimates and their error come from one simulation: labels drawn ``SAMPLES`` times as
Bernoulli(``q``) for the window's rows, each draw's AUC, accuracy, precision, recall and F1
measured as the monitor would measure them; the estimate is their mean and its stated error their
standard deviation: how far the measured value lands from the estimate when the calibration
holds.

**Calibration first** (``fit``, on the model-quality baseline's labelled rows): the scores'
expected calibration error (ECE, ten bins of equal size) is measured and reported, and an
isotonic regression of the labels on the scores (pool adjacent violators, interpolated between
its blocks as scikit-learn's is) maps scores to probabilities, its ECE reported beside the raw
one. It is applied even to scores whose ECE looks small: this project's model has an ECE of
0.020 on its test split, yet taken at their word its scores promise an AUC of 0.763 where 0.793
is measured (too timid in the tails, which ten bins average away); calibrated, 0.803 on rows the
calibration did not see, against 0.794 measured. Below ``MIN_ROWS`` labelled rows, or with one
class only, the scores are used as they are (``method: none``) and the estimate is only as good
as their calibration. ``calibration.json`` (written beside the baseline's constraints) keeps the
map. What the estimate cannot see: a change in how the labels depend on the features (concept
drift, a new kind of default) leaves the scores, and so the estimate, where they were, while
the measured values move: that is what the labels, when they come, are for. A shift in the
features alone (covariate shift) moves the scores and is estimated.

Part of the analyzer bundle (``bundle.py``): numpy only, Python 3.9.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from pipelines.monitor.job.common.result import JobFailed

CALIBRATION = "calibration.json"
ESTIMATES = "estimated_metrics.json"
MIN_ROWS = 200
ECE_BINS = 10
SAMPLES = 400
SEED = 20200301
METRICS = ("auc", "accuracy", "precision", "recall", "f1")
PREFIX = "estimated_"


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE over ``bins`` bins of equal size by probability: the rows-weighted mean of
    |mean probability - share of positives|."""
    order = np.argsort(probabilities, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, min(bins, len(order))):
        if len(chunk):
            total += len(chunk) * abs(float(probabilities[chunk].mean()) - float(labels[chunk].mean()))
    return total / len(labels)


def isotonic(labels: np.ndarray, scores: np.ndarray) -> Dict[str, List[float]]:
    """The isotonic regression of ``labels`` on ``scores`` (pool adjacent violators): each
    block's mean score and share of positives, between which ``apply`` interpolates (a step
    function would give every row of a block one probability, and lose the ranking within it
    that the expected AUC needs)."""
    order = np.argsort(scores, kind="stable")
    x, y = scores[order], labels[order].astype(np.float64)
    # Equal scores first pooled into one block each.
    distinct, starts = np.unique(x, return_index=True)
    sums = np.add.reduceat(y, starts)
    counts = np.diff(np.append(starts, len(x))).astype(np.float64)
    score_sums = np.add.reduceat(x, starts)
    totals: List[float] = []  # of the scores, for each block's mean score
    block_sums: List[float] = []
    block_counts: List[float] = []
    for total, s, c in zip(score_sums.tolist(), sums.tolist(), counts.tolist()):
        totals.append(total)
        block_sums.append(s)
        block_counts.append(c)
        while len(totals) > 1 and block_sums[-2] / block_counts[-2] >= block_sums[-1] / block_counts[-1]:
            s_last, c_last, total_last = block_sums.pop(), block_counts.pop(), totals.pop()
            block_sums[-1] += s_last
            block_counts[-1] += c_last
            totals[-1] += total_last
    return {"scores": [t / c for t, c in zip(totals, block_counts)], "probabilities": [s / c for s, c in zip(block_sums, block_counts)]}


def fit(labels: Sequence[int], scores: Sequence[float]) -> Dict[str, Any]:
    """``calibration.json`` for a model whose baseline rows are ``labels`` and ``scores``."""
    labels_array = np.asarray(labels, dtype=np.int64)
    scores_array = np.asarray(scores, dtype=np.float64)
    if len(labels_array) != len(scores_array) or not len(labels_array):
        raise JobFailed(f"calibration needs as many labels as scores, at least one ({len(labels_array)} and {len(scores_array)})")
    raw = expected_calibration_error(labels_array, scores_array)
    document: Dict[str, Any] = {"version": 1, "rows": int(len(labels_array)), "ece_bins": ECE_BINS, "raw_ece": raw}
    if len(labels_array) < MIN_ROWS or labels_array.min() == labels_array.max():
        document["method"] = "none"
        return document
    mapping = isotonic(labels_array, scores_array)
    document.update(method="isotonic", **mapping)
    document["calibrated_ece"] = expected_calibration_error(labels_array, apply(document, scores_array))
    return document


def apply(calibration: Dict[str, Any], scores: np.ndarray) -> np.ndarray:
    """The calibrated probability of each score: interpolated between the blocks' mean scores
    (the first block's below them, the last's above)."""
    scores = np.asarray(scores, dtype=np.float64)
    method = calibration.get("method")
    if method == "none":
        return np.clip(scores, 0.0, 1.0)
    if method != "isotonic":
        raise JobFailed(f"{CALIBRATION}: method {method!r} is not one of none, isotonic")
    centres = np.asarray(calibration.get("scores", []), dtype=np.float64)
    values = np.asarray(calibration.get("probabilities", []), dtype=np.float64)
    if not len(centres) or len(centres) != len(values):
        raise JobFailed(f"{CALIBRATION}: scores and probabilities must be non-empty lists of one length")
    return np.interp(scores, centres, values)


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their mean rank (as the Mann-Whitney U statistic wants)."""
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1, dtype=np.float64)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def estimate(scores: Sequence[float], calibration: Dict[str, Any], threshold: float = 0.5, samples: int = SAMPLES) -> Dict[str, Dict[str, float]]:
    """Each metric's estimate and its standard deviation for a window's ``scores``, without labels."""
    raw = np.asarray(scores, dtype=np.float64)
    if not len(raw):
        raise JobFailed("no captured prediction to estimate from")
    q = apply(calibration, raw)
    predicted = raw >= threshold
    ranks = _ranks(raw)
    generator = np.random.Generator(np.random.PCG64(SEED))
    drawn: Dict[str, List[float]] = {name: [] for name in METRICS}
    chunk = max(1, min(samples, 2_000_000 // len(raw)))  # about 16 MB of draws at a time
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        labels = generator.random((size, len(raw))) < q  # each row positive with its probability
        positives = labels.sum(axis=1).astype(np.float64)
        negatives = len(raw) - positives
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = (labels @ ranks - positives * (positives + 1) / 2) / (positives * negatives)
            tp = (labels & predicted).sum(axis=1).astype(np.float64)
            fp = predicted.sum() - tp
            fn = positives - tp
            tn = len(raw) - tp - fp - fn
            precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
            recall = np.where(positives > 0, tp / np.maximum(positives, 1), 0.0)
            f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        for name, values in (("auc", auc), ("accuracy", (tp + tn) / len(raw)), ("precision", precision), ("recall", recall), ("f1", f1)):
            drawn[name].extend(v for v in values.tolist() if not math.isnan(v))
        done += size
    found: Dict[str, Dict[str, float]] = {}
    for name in METRICS:
        values = np.asarray(drawn[name])
        if len(values) >= 2:
            found[name] = {"value": float(values.mean()), "standard_deviation": float(values.std(ddof=1))}
    return found


def document(estimates: Dict[str, Dict[str, float]], rows: int, calibration: Dict[str, Any], measured: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """``estimated_metrics.json``: the estimates, how they were made, and the measured values beside them when labels came."""
    found: Dict[str, Any] = {
        "version": 1,
        "method": "confidence-based performance estimation",
        "calibration": {key: calibration.get(key) for key in ("method", "raw_ece", "calibrated_ece", "rows")},
        "predictions": rows,
        "estimated_metrics": estimates,
    }
    if measured is not None:
        found["measured_metrics"] = {name: measured[name]["value"] for name in METRICS if isinstance(measured.get(name), dict)}
    return found


def published(estimates: Dict[str, Dict[str, float]]) -> Dict[str, float]:
    """The estimates as metrics: ``estimated_auc`` ... (ours, beside Model Monitor's ``auc`` ...)."""
    return {PREFIX + name: entry["value"] for name, entry in estimates.items()}
