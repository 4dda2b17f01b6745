"""Feature attributions in SageMaker Clarify's files: exact SHAP for the XGBoost model, global
importance, and Clarify's feature-attribution drift score.

SHAP values come from XGBoost itself (``Booster.predict(pred_contribs=True)``: the tree SHAP
algorithm, exact for trees, no sampling and no background dataset), in the model's margin
(log-odds) space: each row's values plus the expected value sum to the row's margin. They
explain the rounds the endpoint scores with (``model_archive.served_iterations``: an
early-stopped model up to its best round, as SageMaker's container serves it). Clarify
computed Kernel SHAP by sampling; ``analysis.json`` keeps Clarify's layout so the tools that
read its reports read these (the method's key is Clarify's, ``kernel_shap``; the configuration
file says ``"algorithm": "tree"`` and ``"use_logit": true``)::

    {"version": "1.0",
     "explanations": {"kernel_shap": {"label0": {"global_shap_values": {"PAY_0": 0.41, ...},
                                                 "expected_value": -1.37}}}}

and ``explanations_shap/out.csv``: one row per explained row, one column per feature
(``<feature>_label0``, Clarify's header).

Global importance is the mean absolute SHAP value per feature (Clarify's default
``agg_method``, ``mean_abs``). Drift (``ndcg``, ``violations``) is Clarify's feature-attribution
drift check as its documentation defines it: features ranked by their baseline attribution
``a`` (F) and by their current attribution (F'); ``nDCG = DCG / iDCG`` with
``DCG = sum_i a(F'_i) / log2(i + 1)`` and ``iDCG = sum_i a(F_i) / log2(i + 1)``; a score below
the threshold (0.9 by default) is a ``feature_attribution_drift_check`` violation, one per label.

Part of the analyzer bundle (``bundle.py``): numpy, and xgboost for the values themselves
(the built-in XGBoost image has it), Python 3.9.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from pipelines.core import model_archive, xgb

VERSION = "1.0"
METHOD = "kernel_shap"  # Clarify's key for SHAP values in analysis.json
LABEL = "label0"
FALSE_ALARM_RATE = 0.01  # of a clean window breaking any feature's check
LEAST_CHANGE = 0.1  # of the baseline's value: smaller moves are not reported, however certain
CHECK_TYPE = "feature_attribution_drift_check"
THRESHOLD = 0.9
CSV_ROWS = 20000  # rows of out.csv formatted at once
CHUNK_ROWS = 1 << 20  # rows explained at once: bounds the working memory to a few hundred MB


def shap_values(booster: Any, features: np.ndarray) -> Tuple[np.ndarray, float]:
    """(rows x features SHAP values, the expected value), in the model's margin space.

    A tree's SHAP values for a row depend on the row only through the way it goes at each of the
    tree's splits, and rows that go the same way at every split of a tree (however far apart
    their values) get the same values from it. So each tree explains one row of each way through
    it (``_ways``), and its values are handed to every row that goes that way and added up tree
    by tree in float32, as XGBoost adds them: the same values, bit for bit, as one
    ``pred_contribs`` call over every row and tree (a test holds the two equal), for a fraction
    of the work (100,000 rows of the credit model: about 10,000 ways through a tree, not 100,000).
    """
    iterations = model_archive.served_iterations(booster)  # the rounds the endpoint scores with
    features = np.asarray(features, dtype=np.float32)
    if len(features) == 0:
        return np.zeros((0, features.shape[1]), dtype=np.float32), 0.0
    expected = float(_contributions(booster, features[:1], iterations)[0, -1])  # the same for every row
    splits = _splits(booster, iterations)
    parts = []
    for start in range(0, len(features), CHUNK_ROWS):
        chunk = features[start : start + CHUNK_ROWS]
        if splits is None:  # not a model of plain trees, one per round: XGBoost over every row
            parts.append(_contributions(booster, chunk, iterations)[:, :-1])
            continue
        values = np.zeros(chunk.shape, dtype=np.float32)
        columns = np.ascontiguousarray(chunk.T)  # a feature's values side by side
        missing: Optional[np.ndarray] = np.isnan(columns)
        if not missing.any():  # type: ignore[union-attr]
            missing = None
        for round_, (feature, threshold, default_left) in enumerate(splits):
            first, inverse = _ways(columns, missing, feature, threshold, default_left)
            tree = booster[round_ : round_ + 1]
            values += _contributions(tree, chunk[first], None, margin=True)[inverse, :-1]
        parts.append(values)
    return np.concatenate(parts), expected


def _contributions(booster: Any, rows: np.ndarray, iterations: Optional[Tuple[int, int]], margin: bool = False) -> np.ndarray:
    """XGBoost's tree SHAP: rows x (features + 1), the last column the expected value (plus the
    model's base score, unless ``margin``: then a base margin of zero, so the column is the trees' alone)."""
    xgboost = xgb.module()
    base = np.zeros(len(rows), dtype=np.float32) if margin else None
    matrix = xgboost.DMatrix(rows, missing=np.nan, base_margin=base)
    if iterations is None:
        return booster.predict(matrix, pred_contribs=True, validate_features=False)
    return booster.predict(matrix, pred_contribs=True, validate_features=False, iteration_range=iterations)


Split = Tuple[np.ndarray, np.ndarray, np.ndarray]  # per split node: its feature, its threshold (float32), missing values go left


def _splits(booster: Any, iterations: Tuple[int, int]) -> Optional[List[Split]]:
    """Each served round's split nodes, from the model's JSON; None unless the model is plain
    trees with one output and one tree per round, every split numerical (``value < threshold``
    goes left, a missing value the node's default way), as XGBoost's ``gbtree`` writes them."""
    model = json.loads(bytes(booster.save_raw(raw_format="json")))
    learner = model["learner"]
    gradient_booster = learner["gradient_booster"]
    if gradient_booster.get("name") != "gbtree" or iterations[0] != 0:
        return None
    parameters = learner.get("learner_model_param", {})
    if int(parameters.get("num_class", "0")) > 1 or int(parameters.get("num_target", "1")) != 1:
        return None
    trees = gradient_booster["model"]["trees"]
    if len(trees) != booster.num_boosted_rounds() or any(int(group) != 0 for group in gradient_booster["model"]["tree_info"]):
        return None  # several trees a round (forests, classes): explained by XGBoost directly
    splits = []
    for tree in trees[: iterations[1] or len(trees)]:  # (0, 0): every round
        if any(int(kind) != 0 for kind in tree.get("split_type", [])):
            return None  # categorical splits
        internal = np.flatnonzero(np.asarray(tree["left_children"]) != -1)
        splits.append(
            (
                np.asarray(tree["split_indices"], dtype=np.int64)[internal],
                np.asarray(tree["split_conditions"], dtype=np.float32)[internal],
                np.asarray(tree["default_left"], dtype=bool)[internal],
            )
        )
    return splits


def _ways(columns: np.ndarray, missing: Optional[np.ndarray], feature: np.ndarray, threshold: np.ndarray, default_left: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The distinct ways rows go through one tree (``columns``: features x rows; ``missing``: where
    they are NaN, None if nowhere): a row of each (its index) and, for every row, which way it goes."""
    rows = columns.shape[1]
    if not len(feature):  # a tree that is one leaf: one way
        return np.zeros(1, dtype=np.int64), np.zeros(rows, dtype=np.int64)
    left = np.empty((len(feature), rows), dtype=bool)
    for node, (column, value) in enumerate(zip(feature, threshold)):
        np.less(columns[column], value, out=left[node])
        if missing is not None and default_left[node]:
            left[node] |= missing[column]
    bits = np.packbits(left, axis=0, bitorder="little")  # a byte per 8 splits, per row
    width = -(-len(bits) // 8) * 8  # whole 64-bit words
    keys = np.zeros((rows, width), dtype=np.uint8)
    keys[:, : len(bits)] = bits.T
    keys = keys.view(np.uint64 if width == 8 else np.dtype((np.void, width))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def global_values(values: np.ndarray, names: Sequence[str]) -> Dict[str, float]:
    """Mean absolute SHAP value of each feature (``mean_abs``), in the features' order."""
    if len(values) == 0:
        return {name: 0.0 for name in names}
    means = np.abs(values.astype(np.float64)).mean(axis=0)
    return {name: float(mean) for name, mean in zip(names, means)}


def analysis(global_shap: Dict[str, float], expected_value: float, label: str = LABEL) -> Dict[str, Any]:
    """Clarify's analysis.json with the explanations section."""
    return {"version": VERSION, "explanations": {METHOD: {label: {"global_shap_values": global_shap, "expected_value": expected_value}}}}


def config(headers: Sequence[str], label: str, threshold: float = THRESHOLD) -> Dict[str, Any]:
    """Clarify's analysis configuration of this explanation (the drift check's ConfigFile)."""
    return {
        "dataset_type": "text/csv",
        "headers": list(headers),
        "label": label,
        "methods": {"shap": {"algorithm": "tree", "use_logit": True, "agg_method": "mean_abs", "save_local_shap_values": True}},
        "feature_attribution_drift_threshold": threshold,
    }


def local_csv(values: np.ndarray, names: Sequence[str], label: str = LABEL) -> Iterator[str]:
    """``explanations_shap/out.csv`` in parts: a header of ``<feature>_label0`` as Clarify writes it
    (AWS's notebooks strip that suffix to plot a row), then one row of SHAP values per explained
    row, ``CSV_ROWS`` rows a part (a million rows are 750 MB as Python floats at once)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([f"{name}_{label}" for name in names])  # names may need quoting
    yield buffer.getvalue()
    # Each value as Python's repr of the float (tolist() gives floats): numbers never need quoting,
    # and one join per row is faster than the csv writer (100,000 rows of 23: 1.9 s, not 2.5 s).
    for start in range(0, len(values), CSV_ROWS):
        yield "".join(",".join(map(repr, row)) + "\n" for row in values[start : start + CSV_ROWS].tolist())


def global_from(document: Dict[str, Any], label: str = LABEL) -> Dict[str, float]:
    """The global SHAP values of ``label`` in an analysis.json (ours or Clarify's)."""
    try:
        return dict(document["explanations"][METHOD][label]["global_shap_values"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"no explanations.{METHOD}.{label}.global_shap_values in the analysis") from exc


def _ranked(attributions: Dict[str, float]) -> List[str]:
    return sorted(attributions, key=lambda name: (-attributions[name], name))


def ndcg(baseline: Dict[str, float], current: Dict[str, float]) -> float:
    """Clarify's nDCG of the current ranking, the baseline's attributions as relevance."""
    features = [name for name in baseline if name in current]
    if not features:
        raise ValueError("the baseline and the current attributions share no feature")
    relevance = {name: float(baseline[name]) for name in features}
    ideal = _ranked(relevance)
    observed = _ranked({name: float(current[name]) for name in features})
    idcg = sum(relevance[name] / math.log2(i + 2) for i, name in enumerate(ideal))
    dcg = sum(relevance[name] / math.log2(i + 2) for i, name in enumerate(observed))
    return 1.0 if idcg == 0 else dcg / idcg


def labels(document: Dict[str, Any]) -> List[str]:
    return list(((document.get("explanations") or {}).get(METHOD) or {}).keys())


def standard_errors(values: np.ndarray, names: Sequence[str]) -> Dict[str, float]:
    """The standard error of each feature's global value (a mean of |SHAP| over the window's rows)."""
    if len(values) < 2:
        return {name: math.inf for name in names}
    spread = np.abs(values.astype(np.float64)).std(axis=0, ddof=1) / math.sqrt(len(values))
    return {name: float(error) for name, error in zip(names, spread)}


def feature_violations(
    current: Dict[str, float], baseline: Dict[str, float], errors: Dict[str, float], false_alarm_rate: float = FALSE_ALARM_RATE, least_change: float = LEAST_CHANGE,
) -> List[Dict[str, str]]:
    """Each feature whose global SHAP value moved from the baseline's beyond what the window's
    size explains (two-sided, Bonferroni over the features for ``false_alarm_rate``, Student's t
    is not needed: a mean of hundreds of rows) and by more than ``least_change`` of it, as
    ``feature_attribution_drift_check`` entries in Clarify's schema (label, metric_name,
    constraint_check_type, description: the schema has no feature field, the description names it)."""
    from statistics import NormalDist

    shared = [name for name in baseline if name in current and name in errors]
    if not shared:
        return []
    z = NormalDist().inv_cdf(1.0 - false_alarm_rate / (2 * len(shared)))
    found = []
    for name in shared:
        before, now, error = float(baseline[name]), float(current[name]), errors[name]
        moved = abs(now - before)
        if moved > z * error and moved > least_change * abs(before):
            found.append({
                "label": LABEL,
                "metric_name": "shap",
                "constraint_check_type": CHECK_TYPE,
                "description": (f"Feature attribution of {name} {now:.6g} +/- {error:.2g} moved from the baseline's {before:.6g} "
                                f"by more than {z:.2f} standard errors and {least_change:.0%}"),
            })  # fmt: skip
    return found


def violations(current: Dict[str, Any], constraints: Dict[str, Any], threshold: Optional[float] = None) -> Tuple[List[Dict[str, str]], Dict[str, float]]:
    """Clarify's feature-attribution drift check: (violations, each label's nDCG)."""
    limit = THRESHOLD if threshold is None else threshold
    found, scores = [], {}
    for label in labels(constraints):
        if label not in labels(current):
            continue
        score = ndcg(global_from(constraints, label), global_from(current, label))
        scores[label] = score
        if score < limit:
            found.append({
                "label": label,
                "metric_name": "shap",
                "constraint_check_type": CHECK_TYPE,
                "description": f"Feature attribution drift {score!r} exceeds threshold {limit!r}",
            })  # fmt: skip
    return found, scores
