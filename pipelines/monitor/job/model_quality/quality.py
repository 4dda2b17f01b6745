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
- The best constant classifier answers the majority class, as the container does (a real
  baseline of 201 rows with 28 positives: recall 0, precision 0, accuracy 0.860697, F scores
  0). AWS's documentation example shows "always positive" for one positive in four (recall 1,
  precision and accuracy 0.25); the container, not the page, is followed. A tie answers positive.
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

Constraints and violations, as the container writes them: the constraints in its order (recall,
precision, accuracy, the four rates, auc, f0_5, f1, f2), a ``threshold`` and a
``comparison_operator`` each; a violation per broken constraint in that order, named as the
container names it (the rates in camelCase: ``truePositiveRate`` ...), described with the
window's value, its standard deviation and the threshold in Java's number format:
``Metric auc with 0.5154 +/- 8.08E-4 was LessThanThreshold '0.9395'``.

Suggested thresholds (``window_constraints``, the default): the container suggests the
baseline's own values, so any window slightly worse than the baseline set violates, and on
windows of a few hundred rows about half of the clean ones do. Here the threshold of each metric
is set below (above, for the two error rates) the baseline's value by what a window of
``window_rows`` rows explains: 4,000 windows of that many rows drawn with replacement from the
baseline's rows (a bootstrap: the metrics' spread and their correlations) give each metric's
standard deviation. The false-alarm budget (``false_alarm_rate`` of clean windows breaking any
constraint) is split: 80% to AUC, which does not depend on the probability threshold and is
the first to see a model rank worse (``z`` its one-sided normal quantile), 20% to the other ten
together (one ``z`` at which that share of the bootstrap's windows break any of them). Each
threshold is the baseline's value less ``z`` standard deviations (plus, for the two error
rates), widened for the baseline's own sampling error (``sqrt(1 + window_rows / baseline
rows)``). ``suggest_constraints`` is AWS's plain rule.

Part of the analyzer bundle (``bundle.py``): numpy only, Python 3.9.
"""

from __future__ import annotations

import math
from decimal import Decimal
from statistics import NormalDist
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
# The constraints the container suggests, in its order, and the direction in which each is worse.
CONSTRAINED = ("recall", "precision", "accuracy", "true_positive_rate", "true_negative_rate", "false_positive_rate", "false_negative_rate", "auc", "f0_5", "f1", "f2")
HIGHER_IS_WORSE = ("false_positive_rate", "false_negative_rate")
LOWER_IS_WORSE = tuple(name for name in CONSTRAINED if name not in HIGHER_IS_WORSE)
# How the container names a metric in a violation (statistics.json keeps snake_case).
VIOLATION_NAMES = {
    "true_positive_rate": "truePositiveRate",
    "true_negative_rate": "trueNegativeRate",
    "false_positive_rate": "falsePositiveRate",
    "false_negative_rate": "falseNegativeRate",
}
WINDOW_ROWS = 500
FALSE_ALARM_RATE = 0.01
BOOTSTRAP_WINDOWS = 4000
AUC_SHARE = 0.8
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
    # np.append and np.concatenate, not np.r_: a bootstrap calls these 4,000 times, and np.r_'s
    # parsing of its arguments was a quarter of the model-quality baseline's time.
    last = np.append(np.flatnonzero(np.diff(ordered)), len(ordered) - 1) if len(ordered) else np.empty(0, dtype=int)
    true = np.cumsum(positives)[last]
    return true, (last + 1) - true


def _auc(true: np.ndarray, false: np.ndarray) -> float:
    if not len(true) or true[-1] == 0 or false[-1] == 0:
        return math.nan
    tpr = np.concatenate(([0.0], true / true[-1]))
    fpr = np.concatenate(([0.0], false / false[-1]))
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
    # The best constant classifier answers the majority class (see the module's notes).
    positive_majority = tp + fn >= len(labels) - tp - fn and tp + fn > 0
    constant_recall = 1.0 if positive_majority else 0.0
    constant_precision = prevalence if positive_majority else 0.0
    constant_accuracy = prevalence if positive_majority else 1.0 - prevalence
    true, false = _cumulative(actual.astype(np.int64), scores)
    return {
        "confusion": (tn, fp, fn, tp),
        "recall": recall,
        "precision": precision,
        "accuracy": _ratio(tp + tn, len(labels)),
        "recall_best_constant_classifier": constant_recall,
        "precision_best_constant_classifier": constant_precision,
        "accuracy_best_constant_classifier": constant_accuracy,
        "true_positive_rate": recall,
        "true_negative_rate": 1.0 - fpr,
        "false_positive_rate": fpr,
        "false_negative_rate": 1.0 - recall,
        "curves": (true, false),
        "auc": _auc(true, false),
        "f0_5": _f_beta(precision, recall, 0.5),
        "f1": _f_beta(precision, recall, 1.0),
        "f2": _f_beta(precision, recall, 2.0),
        "f0_5_best_constant_classifier": _f_beta(constant_precision, constant_recall, 0.5),
        "f1_best_constant_classifier": _f_beta(constant_precision, constant_recall, 1.0),
        "f2_best_constant_classifier": _f_beta(constant_precision, constant_recall, 2.0),
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
    """AWS's plain rule: the baseline's own values as thresholds, as the container suggests them
    (AWS advises reviewing them: any window worse than the baseline set is a violation)."""
    return _constraints({name: metrics[name]["value"] for name in CONSTRAINED})


def window_constraints(
    metrics: Dict[str, Any], labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5, window_rows: int = WINDOW_ROWS, false_alarm_rate: float = FALSE_ALARM_RATE
) -> Dict[str, Any]:
    """Thresholds a clean window of ``window_rows`` rows breaks with probability
    ``false_alarm_rate`` (any constraint), from a bootstrap of the baseline's rows."""
    if window_rows < 1:
        raise JobFailed(f"window_rows {window_rows} must be at least 1")
    if not 0.0 < false_alarm_rate < 0.5:
        raise JobFailed(f"false_alarm_rate {false_alarm_rate} must be between 0 and 0.5")
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    labels, scores = labels[order], scores[order]
    generator = np.random.Generator(np.random.PCG64(SEED))
    drawn = np.empty((BOOTSTRAP_WINDOWS, len(CONSTRAINED)))
    for window in range(BOOTSTRAP_WINDOWS):
        rows = np.sort(generator.integers(0, len(labels), window_rows))  # sorted: the score order kept
        values = _values(labels[rows], scores[rows], threshold)
        drawn[window] = [values[name] for name in CONSTRAINED]
    base = np.array([math.nan if metrics[name]["value"] == NAN else metrics[name]["value"] for name in CONSTRAINED], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        spread = np.nanstd(drawn, axis=0, ddof=1)
    worse = np.array([-1.0 if name in HIGHER_IS_WORSE else 1.0 for name in CONSTRAINED])
    usable = np.isfinite(base) & (spread > 0)
    # How far below the baseline each window is, in standard deviations, on its worst metric.
    # The false-alarm budget: most of it to AUC (threshold-free, the first to see a ranking
    # degrade), the rest to the other ten together, whose joint spread the bootstrap measures.
    auc = CONSTRAINED.index("auc")
    auc_share = AUC_SHARE if usable[auc] else 0.0
    others = usable.copy()
    others[auc] = False
    z = np.zeros(len(CONSTRAINED))
    z[auc] = _normal_quantile(1.0 - auc_share * false_alarm_rate) if auc_share else 0.0
    if others.any():
        deviations = (drawn[:, others] - base[others]) * worse[others] / spread[others]
        rest = (1.0 - auc_share) * false_alarm_rate
        z[others] = max(-float(np.quantile(np.nanmin(deviations, axis=1), rest)), _normal_quantile(1.0 - rest))
    widened = spread * math.sqrt(1.0 + window_rows / len(labels))
    thresholds: Dict[str, Any] = {}
    for index, name in enumerate(CONSTRAINED):
        if not math.isfinite(base[index]):
            thresholds[name] = NAN
        elif not usable[index]:
            thresholds[name] = float(base[index])
        else:
            thresholds[name] = float(min(1.0, max(0.0, base[index] - worse[index] * z[index] * widened[index])))
    return _constraints(thresholds)


def _normal_quantile(p: float) -> float:
    """The standard normal's quantile."""
    return NormalDist().inv_cdf(p)


def _constraints(thresholds: Dict[str, Any]) -> Dict[str, Any]:
    suggested = {
        name: {"threshold": thresholds[name], "comparison_operator": "GreaterThanThreshold" if name in HIGHER_IS_WORSE else "LessThanThreshold"}
        for name in CONSTRAINED
        if thresholds[name] != NAN
    }
    return {"version": 0.0, CONSTRAINTS_KEY: suggested}


def java_double(value: Any) -> str:
    """A number as Java's ``Double.toString`` writes it (the container's violation descriptions):
    ``0.5``, ``1.0``, ``8.080858763541535E-4``, ``NaN``."""
    if value == NAN or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    value = float(value)
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python's shortest round-trip digits, fixed-point in this range, ".0" kept
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits))
    mantissa = text.rstrip("0") or "0"
    return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{int(exponent) + len(text) - 1}"


def check(metrics: Dict[str, Any], constraints: Dict[str, Any], source: str = "constraints.json") -> List[Dict[str, str]]:
    """Violations of ``constraints`` (a model-quality constraints.json) by ``metrics``, in the
    container's order and words."""
    wanted = constraints.get(CONSTRAINTS_KEY)
    if not isinstance(wanted, dict):
        raise JobFailed(f"{source}: no {CONSTRAINTS_KEY} object (is it a data-quality constraints.json?)")
    violations = []
    for name in sorted(wanted, key=lambda n: CONSTRAINED.index(n) if n in CONSTRAINED else len(CONSTRAINED)):
        rule = wanted[name]
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
            shown = VIOLATION_NAMES.get(name, name)
            description = f"Metric {shown} with {java_double(value)} +/- {java_double(metrics[name]['standard_deviation'])} was {operator} '{java_double(threshold)}'"
            violations.append({"constraint_check_type": operator, "description": description, "metric_name": shown})
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
