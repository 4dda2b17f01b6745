"""Model quality in Model Monitor's files: binary-classification metrics, constraints, violations.

What SageMaker's model-quality monitor computed from captured predictions joined with ground
truth (``merge.py`` joins them), in its ``statistics.json`` layout
(``binary_classification_metrics``: the confusion matrix, recall, precision, accuracy, the
best constant classifier's values, TPR/TNR/FPR/FNR, the ROC and precision-recall curves, AUC,
F0.5/F1/F2) and its ``constraints.json`` (``binary_classification_constraints``: a threshold and
a ``comparison_operator`` per metric), checked into ``constraint_violations.json``.

How the numbers are made, as AWS documents them and its example shows:

- A prediction is positive when its probability is at or above ``probability_threshold``
  (0.5 by default), as the Evaluate step decides (``steps/evaluate.py``). The positive label
  is 1.
- ``confusion_matrix[actual][predicted]``, counts as integers.
- The best constant classifier always answers positive: its recall is 1 and its precision and
  accuracy are the share of positives (AWS's example: 0.25 and 0.25 for one positive in four).
- TNR is ``1 - FPR`` and FNR ``1 - TPR`` (the example's ``0.33333333333333337``).
- The curves have Spark's ``BinaryClassificationMetrics`` shape: the ROC curve is ``(0, 0)``,
  one point per distinct score from the highest down, then ``(1, 1)``; the precision-recall
  curve is ``(recall 0, the first point's precision)`` then one point per distinct score. Past
  ``MAX_CURVE_POINTS`` distinct scores, consecutive scores are grouped (Spark's ``numBins``)
  so a million predictions do not make a 40 MB file. AUC is the trapezoid area under the
  whole, ungrouped curve (what ``sklearn.metrics.roc_auc_score`` gives).
- A metric without a defined value (precision with no positive prediction, AUC with one class
  only) is written as ``"NaN"``, as the container writes NaN; precision, recall and the F
  scores of an empty class count as 0, as scikit-learn's ``zero_division=0`` does.
- ``standard_deviation`` only from 200 rows on: the metric on five random 80% samples (a
  fixed seed, so the same rows give the same file), their sample standard deviation.

Part of the analyzer bundle (``bundle.py``): numpy only, Python 3.9.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from pipelines.monitor.job.common.result import JobFailed

POSITIVE = 1
MAX_CURVE_POINTS = 1000
STD_MIN_ROWS = 200
STD_SAMPLES = 5
STD_FRACTION = 0.8
SEED = 20200301
NAN = "NaN"
KEY = "binary_classification_metrics"
CONSTRAINTS_KEY = "binary_classification_constraints"
NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
# Suggested constraints: the metrics where lower is worse, then those where higher is worse.
LOWER_IS_WORSE = ("accuracy", "recall", "precision", "f0_5", "f1", "f2", "auc", "true_positive_rate", "true_negative_rate")
HIGHER_IS_WORSE = ("false_positive_rate", "false_negative_rate")
OPERATORS = {
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
}


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _f_beta(precision: float, recall: float, beta: float) -> float:
    weight = beta * beta
    denominator = weight * precision + recall
    return (1 + weight) * precision * recall / denominator if denominator else 0.0


def _cumulative(positives: np.ndarray, ordered: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """True and false positives when every score at or above each distinct score is positive,
    the distinct scores taken from the highest down (``ordered`` is sorted that way)."""
    last = np.r_[np.nonzero(np.diff(ordered))[0], len(ordered) - 1] if len(ordered) else np.empty(0, dtype=int)
    true = np.cumsum(positives)[last]
    return true, (last + 1) - true


def _auc(true: np.ndarray, false: np.ndarray) -> float:
    if not len(true) or true[-1] == 0 or false[-1] == 0:
        return math.nan
    tpr = np.r_[0.0, true / true[-1]]
    fpr = np.r_[0.0, false / false[-1]]
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1])) / 2)


def _grouped(true: np.ndarray, false: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Spark's numBins: consecutive distinct scores grouped, each group's last point kept."""
    if len(true) <= MAX_CURVE_POINTS:
        return true, false
    size = len(true) // MAX_CURVE_POINTS
    ends = np.r_[np.arange(size - 1, len(true) - 1, size), len(true) - 1]
    ends = np.unique(ends)
    return true[ends], false[ends]


def _curves(true: np.ndarray, false: np.ndarray) -> Dict[str, Any]:
    positives, negatives = (true[-1], false[-1]) if len(true) else (0, 0)
    true, false = _grouped(true, false)
    tpr = (true / positives).tolist() if positives else [0.0] * len(true)
    fpr = (false / negatives).tolist() if negatives else [0.0] * len(false)
    precisions = (true / np.maximum(true + false, 1)).tolist()
    return {
        "receiver_operating_characteristic_curve": {"false_positive_rates": [0.0, *fpr, 1.0], "true_positive_rates": [0.0, *tpr, 1.0]},
        "precision_recall_curve": {"precisions": [precisions[0] if precisions else 1.0, *precisions], "recalls": [0.0, *tpr]},
    }


def _values(labels: np.ndarray, scores: np.ndarray, threshold: float) -> Dict[str, Any]:
    """Every scalar metric, and the confusion counts, for rows sorted by score, highest first."""
    predicted = scores >= threshold
    actual = labels == POSITIVE
    tp = int(np.count_nonzero(predicted & actual))
    fp = int(np.count_nonzero(predicted & ~actual))
    fn = int(np.count_nonzero(~predicted & actual))
    tn = int(len(labels) - tp - fp - fn)
    recall, precision = _ratio(tp, tp + fn), _ratio(tp, tp + fp)
    fpr = _ratio(fp, fp + tn)
    prevalence = _ratio(tp + fn, len(labels))
    constant_recall = 1.0 if tp + fn else 0.0
    true, false = _cumulative(actual.astype(np.int64), scores)
    return {
        "confusion": (tn, fp, fn, tp),
        "recall": recall,
        "precision": precision,
        "accuracy": _ratio(tp + tn, len(labels)),
        "recall_best_constant_classifier": constant_recall,
        "precision_best_constant_classifier": prevalence,
        "accuracy_best_constant_classifier": prevalence,
        "true_positive_rate": recall,
        "true_negative_rate": 1.0 - fpr,
        "false_positive_rate": fpr,
        "false_negative_rate": 1.0 - recall,
        "curves": (true, false),
        "auc": _auc(true, false),
        "f0_5": _f_beta(precision, recall, 0.5),
        "f1": _f_beta(precision, recall, 1.0),
        "f2": _f_beta(precision, recall, 2.0),
        "f0_5_best_constant_classifier": _f_beta(prevalence, constant_recall, 0.5),
        "f1_best_constant_classifier": _f_beta(prevalence, constant_recall, 1.0),
        "f2_best_constant_classifier": _f_beta(prevalence, constant_recall, 2.0),
    }


def _number(value: float) -> Any:
    return NAN if value is None or math.isnan(value) else float(value)


def binary_classification_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> Dict[str, Any]:
    """``binary_classification_metrics`` for ground-truth ``labels`` (0 or 1) and ``scores``
    (the positive class's probability), in the container's key order."""
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if len(labels) != len(scores):
        raise JobFailed(f"{len(labels)} labels for {len(scores)} predictions")
    if not len(labels):
        raise JobFailed("no prediction has a ground-truth label to compare with")
    order = np.argsort(-scores, kind="stable")  # once: every sample below keeps this order
    labels, scores = labels[order], scores[order]
    values = _values(labels, scores, threshold)
    spread = _standard_deviations(labels, scores, threshold)
    tn, fp, fn, tp = values["confusion"]
    document: Dict[str, Any] = {"confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}}
    for name, value in values.items():
        if name == "confusion":
            continue
        if name == "curves":
            document.update(_curves(*value))
            continue
        document[name] = {"value": _number(value), "standard_deviation": _number(spread.get(name, math.nan))}
    return document


def _standard_deviations(labels: np.ndarray, scores: np.ndarray, threshold: float) -> Dict[str, float]:
    if len(labels) < STD_MIN_ROWS:
        return {}
    generator = np.random.Generator(np.random.PCG64(SEED))
    size = int(len(labels) * STD_FRACTION)
    samples: Dict[str, List[float]] = {}
    for _ in range(STD_SAMPLES):
        # The rows with the `size` smallest random keys, in the score order they had.
        rows = np.sort(np.argpartition(generator.random(len(labels)), size - 1)[:size])
        for name, value in _values(labels[rows], scores[rows], threshold).items():
            if name not in ("confusion", "curves"):
                samples.setdefault(name, []).append(value)
    return {name: float(np.std(found, ddof=1)) for name, found in samples.items()}


def statistics_document(metrics: Dict[str, Any], item_count: int, evaluation_time: str) -> Dict[str, Any]:
    return {"version": 0.0, "dataset": {"item_count": item_count, "evaluation_time": evaluation_time}, KEY: metrics}


def suggest_constraints(metrics: Dict[str, Any]) -> Dict[str, Any]:
    """The baseline's own values as thresholds, as the container suggests them (AWS advises
    reviewing them: any drop below the baseline is a violation)."""
    suggested: Dict[str, Any] = {}
    for names, operator in ((LOWER_IS_WORSE, "LessThanThreshold"), (HIGHER_IS_WORSE, "GreaterThanThreshold")):
        for name in names:
            value = metrics[name]["value"]
            if value != NAN:
                suggested[name] = {"threshold": value, "comparison_operator": operator}
    return {"version": 0.0, CONSTRAINTS_KEY: suggested}


def check(metrics: Dict[str, Any], constraints: Dict[str, Any], source: str = "constraints.json") -> List[Dict[str, str]]:
    """Violations of ``constraints`` (a model-quality constraints.json) by ``metrics``."""
    wanted = constraints.get(CONSTRAINTS_KEY)
    if not isinstance(wanted, dict):
        raise JobFailed(f"{source}: no {CONSTRAINTS_KEY} object (is it a data-quality constraints.json?)")
    violations = []
    for name, rule in wanted.items():
        where = f"{source}: {CONSTRAINTS_KEY}.{name}"
        if not isinstance(rule, dict):
            raise JobFailed(f"{where} must be an object with threshold and comparison_operator")
        operator = rule.get("comparison_operator")
        if operator not in OPERATORS:
            raise JobFailed(f"{where}.comparison_operator {operator!r} is not one of {', '.join(OPERATORS)}")
        threshold = rule.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise JobFailed(f"{where}.threshold {threshold!r} is not a number")
        if name not in metrics or not isinstance(metrics[name], dict):
            raise JobFailed(f"{where}: {name!r} is not a binary classification metric ({', '.join(sorted(k for k, v in metrics.items() if 'value' in v))})")
        value = metrics[name]["value"]
        if value == NAN:
            continue  # nothing to compare (one class only in the window)
        if OPERATORS[operator](value, threshold):
            violations.append({"constraint_check_type": operator, "description": f"Metric {name} with {value} was {operator} {threshold}", "metric_name": name})
    return violations


def scalar_metrics(metrics: Dict[str, Any]) -> Dict[str, float]:
    """What goes to CloudWatch: every metric with a value (the curves and the matrix do not)."""
    return {name: float(entry["value"]) for name, entry in metrics.items() if isinstance(entry, dict) and "value" in entry and entry["value"] != NAN}


def labels_of(values: Any, where: str) -> np.ndarray:
    """Ground-truth texts (a list, or a pyarrow string array) as 0/1 (``1``, ``0``, ``1.0``,
    ``true``, ``false``); the first other value is an error naming it."""
    if hasattr(values, "to_numpy"):  # a pyarrow array: "0" and "1" without a loop
        import pyarrow as pa
        import pyarrow.compute as pc

        ones, zeros = pc.equal(values, "1"), pc.equal(values, "0")
        if pc.all(pc.or_(ones, zeros)).as_py() is not False and not values.null_count:
            return ones.to_numpy(zero_copy_only=False).astype(np.int64)
        values = [str(v) for v in values.cast(pa.string()).to_pylist()]
    parsed = np.empty(len(values), dtype=np.int64)
    for index, text in enumerate(values):
        label = binary_label(text)
        if label is None:
            raise JobFailed(f"{where}: ground truth {text!r} (row {index + 1}) is not a binary label 0 or 1")
        parsed[index] = label
    return parsed


def binary_label(text: Any) -> Optional[int]:
    """A ground-truth text as 0 or 1 (``1``, ``0``, ``1.0``, ``true``, ``false``), else None."""
    cleaned = str(text).strip().strip('"').lower()
    if cleaned in ("true", "false"):
        return int(cleaned == "true")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return int(number) if number in (0.0, 1.0) else None
