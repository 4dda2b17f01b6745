"""SHAP values and Clarify's attribution drift: the values against Shapley's definition worked
out from the trees, their sum against the margin on the real model, nDCG on Clarify's example."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost

from pipelines.monitor.job.clarify import attribution
from steps import evaluate


def conditional_expectation(node: dict, x: np.ndarray, known: set[int]) -> float:
    """E[tree(x) | the features in ``known``], the unknown ones averaged over the training rows
    each branch saw (its cover): the value tree SHAP explains."""
    if "leaf" in node:
        return node["leaf"]
    feature = int(node["split"][1:])
    children = {child["nodeid"]: child for child in node["children"]}
    if feature in known:
        value = x[feature]
        branch = node["missing"] if math.isnan(value) else node["yes"] if value < node["split_condition"] else node["no"]
        return conditional_expectation(children[branch], x, known)
    total = sum(child["cover"] for child in node["children"])
    return sum(child["cover"] / total * conditional_expectation(child, x, known) for child in node["children"])


def shapley(trees: list[dict], x: np.ndarray, features: int) -> np.ndarray:
    """Shapley's formula over every subset of the features."""
    def v(known: set[int]) -> float:
        return sum(conditional_expectation(tree, x, known) for tree in trees)

    phi = np.zeros(features)
    for i in range(features):
        others = [j for j in range(features) if j != i]
        for size in range(features):
            weight = math.factorial(size) * math.factorial(features - size - 1) / math.factorial(features)
            for subset in itertools.combinations(others, size):
                phi[i] += weight * (v(set(subset) | {i}) - v(set(subset)))
    return phi


def test_values_are_shapley_values_of_the_trees() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 4))
    y = ((x[:, 0] + 0.5 * x[:, 1] * x[:, 2] + rng.normal(0, 0.3, 400)) > 0).astype(int)
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3}, xgboost.DMatrix(x, label=y), num_boost_round=4)
    trees = [json.loads(tree) for tree in booster.get_dump(with_stats=True, dump_format="json")]
    rows = np.vstack([x[:6], [[np.nan, 0.1, -0.2, 0.3]]])
    values, expected = attribution.shap_values(booster, rows)
    margins = booster.predict(xgboost.DMatrix(rows.astype(np.float32), missing=np.nan), output_margin=True)
    for row, phi, margin in zip(rows, values, margins, strict=True):
        np.testing.assert_allclose(phi, shapley(trees, row.astype(np.float32), 4), atol=1e-5)
        assert float(phi.sum()) + expected == pytest.approx(float(margin), abs=1e-5)


def test_values_sum_to_the_margin_on_every_test_row(model_dir: Path, preprocessed: Path, tmp_path: Path) -> None:
    booster = evaluate.load_model(model_dir, tmp_path)
    test = pd.read_csv(preprocessed / "test" / "test.csv")
    features = test.iloc[:, 1:].to_numpy(dtype=np.float32)
    values, expected = attribution.shap_values(booster, features)
    margins = booster.predict(xgboost.DMatrix(features), output_margin=True)
    assert values.shape == features.shape
    sums = values.astype(np.float64).sum(axis=1) + expected
    assert np.abs(sums - margins).max() < 1e-4  # float32 arithmetic over 23 terms
    names = list(test.columns[1:])
    global_shap = attribution.global_values(values, names)
    assert list(global_shap) == names and all(v >= 0 for v in global_shap.values())
    assert max(global_shap, key=global_shap.get) == "PAY_0"  # the repayment status leads, as the data's studies find
    document = attribution.analysis(global_shap, expected)
    assert attribution.global_from(json.loads(json.dumps(document))) == global_shap
    out = "".join(attribution.local_csv(values[:3], names)).splitlines()
    assert out[0].split(",") == [f"{name}_label0" for name in names] and len(out) == 4  # Clarify's header, which AWS's notebooks strip
    assert [float(v) for v in out[1].split(",")] == [float(v) for v in values[0]]


def test_ndcg_on_clarifys_college_admission_example() -> None:
    # docs.aws.amazon.com/sagemaker/latest/dg/clarify-model-monitor-feature-attribution-drift.html
    training = {"SAT score": 0.70, "GPA": 0.50, "Class rank": 0.05}
    live = {"SAT score": 0.10, "GPA": 0.20, "Class rank": 0.70}
    dcg = 0.05 / math.log2(2) + 0.50 / math.log2(3) + 0.70 / math.log2(4)
    idcg = 0.70 / math.log2(2) + 0.50 / math.log2(3) + 0.05 / math.log2(4)
    assert attribution.ndcg(training, live) == pytest.approx(dcg / idcg)
    assert round(attribution.ndcg(training, live), 2) == 0.69
    assert attribution.ndcg(training, {"SAT score": 9, "GPA": 2, "Class rank": 1}) == 1.0  # same ranking


def test_drift_violation_per_label() -> None:
    baseline = attribution.analysis({"a": 0.7, "b": 0.5, "c": 0.05}, -1.0)
    same = attribution.analysis({"a": 0.6, "b": 0.4, "c": 0.01}, -1.0)
    reversed_ = attribution.analysis({"a": 0.1, "b": 0.2, "c": 0.7}, -1.0)
    assert attribution.violations(same, baseline) == ([], {"label0": 1.0})
    found, scores = attribution.violations(reversed_, baseline)
    assert found == [{
        "label": "label0", "metric_name": "shap", "constraint_check_type": "feature_attribution_drift_check",
        "description": f"Feature attribution drift {scores['label0']!r} exceeds threshold 0.9",
    }]  # fmt: skip
    assert attribution.violations(reversed_, baseline, threshold=0.5)[0] == []


def test_a_feature_whose_attribution_moves_beyond_the_windows_size_is_named() -> None:
    """nDCG misses a feature that moves but keeps its rank; the per-feature check does not, and
    stays quiet on clean windows (a mean of |SHAP| over 500 rows: its standard error)."""
    rng = np.random.default_rng(3)
    names = ["PAY_0", "LIMIT_BAL", "MARRIAGE"]
    scales = np.array([0.5, 0.15, 0.02])

    def window(rows: int, scale: np.ndarray) -> np.ndarray:
        return rng.laplace(0.0, scale, (rows, len(names)))

    baseline = attribution.global_values(window(20000, scales), names)
    fired = 0
    for _ in range(100):
        values = window(500, scales)
        fired += bool(attribution.feature_violations(attribution.global_values(values, names), baseline, attribution.standard_errors(values, names)))
    assert fired <= 3
    values = window(500, scales * np.array([1.0, 1.4, 1.0]))  # LIMIT_BAL's attributions 40% larger: still second
    current = attribution.global_values(values, names)
    assert attribution.ndcg(baseline, current) > 0.99
    (found,) = attribution.feature_violations(current, baseline, attribution.standard_errors(values, names))
    assert (found["label"], found["metric_name"], found["constraint_check_type"]) == ("label0", "shap", "feature_attribution_drift_check")
    assert found["description"].startswith("Feature attribution of LIMIT_BAL ") and "moved from the baseline's 0.15" in found["description"]
    # Certain but small moves (under 10% of the baseline's value) are not reported.
    assert attribution.feature_violations({"PAY_0": 0.53}, {"PAY_0": 0.5}, {"PAY_0": 1e-6}) == []


def xgboosts_own(booster: xgboost.Booster, rows: np.ndarray) -> np.ndarray:
    """One pred_contribs call over every row and served round: what ``shap_values`` must equal."""
    from pipelines.core import model_archive

    matrix = xgboost.DMatrix(rows.astype(np.float32), missing=np.nan)
    return booster.predict(matrix, pred_contribs=True, iteration_range=model_archive.served_iterations(booster))


@pytest.mark.parametrize(
    "params, rounds",
    [
        ({"max_depth": 5, "eta": 0.1}, 30),  # the credit model's shape: up to 31 splits a tree, one 64-bit word a way
        ({"max_depth": 8, "eta": 0.3, "min_child_weight": 0}, 6),  # up to 255 splits a tree: several words a way
        ({"max_depth": 3, "gamma": 50.0}, 5),  # pruned to single leaves
        ({"max_depth": 4, "booster": "dart", "rate_drop": 0.3}, 8),  # weighted trees: XGBoost over every row
        ({"max_depth": 3, "num_parallel_tree": 3, "subsample": 0.8}, 4),  # several trees a round: XGBoost over every row
    ],
)
def test_values_are_xgboosts_own_bit_for_bit(params: dict, rounds: int) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3000, 6)).round(1)  # rounded: many rows go the same way through a tree
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values take each split's default way
    y = ((x[:, 0] + np.nan_to_num(x[:, 1]) * x[:, 2] + rng.normal(0, 0.5, len(x))) > 0).astype(int)
    booster = xgboost.train({"objective": "binary:logistic", "seed": 0, **params}, xgboost.DMatrix(x, label=y, missing=np.nan), num_boost_round=rounds)
    rows = np.vstack([x, rng.normal(size=(500, 6)) * 3])  # and rows the model never saw
    values, expected = attribution.shap_values(booster, rows)
    own = xgboosts_own(booster, rows)
    assert values.dtype == np.float32 and np.array_equal(values, own[:, :-1])
    assert expected == float(own[0, -1])


def test_an_early_stopped_model_is_explained_up_to_its_best_round_bit_for_bit(model_dir: Path, preprocessed: Path, tmp_path: Path) -> None:
    booster = evaluate.load_model(model_dir, tmp_path)
    booster.set_attr(best_iteration="19", best_ntree_limit="20")  # as XGBoost 1.7 leaves it: served up to round 20 of 40
    features = pd.read_csv(preprocessed / "test" / "test.csv").iloc[:, 1:].to_numpy(dtype=np.float32)
    features = np.vstack([features, features[:500] * 1.01])
    values, expected = attribution.shap_values(booster, features)
    own = xgboosts_own(booster, features)
    assert np.array_equal(values, own[:, :-1]) and expected == float(own[0, -1])
    whole = booster.predict(xgboost.DMatrix(features), pred_contribs=True)
    assert not np.array_equal(values, whole[:, :-1])  # the rounds after the best one are not explained


def test_out_csv_in_parts_is_every_row_as_pythons_repr(tmp_path: Path) -> None:
    """out.csv is written a part at a time; across the parts' seams it is the rows, each value
    Python's repr of the float32 value, nothing lost or doubled."""
    from pipelines.core.fileio import write_text_atomic

    values = (np.random.default_rng(2).normal(size=(2 * attribution.CSV_ROWS + 7, 3)) * 10.0 ** np.arange(-6, 3, 3)).astype(np.float32)
    names = ["a", "b,c", "d"]  # a name with a comma is quoted, as the csv module quotes it
    write_text_atomic(tmp_path / "out.csv", attribution.local_csv(values, names))
    lines = (tmp_path / "out.csv").read_text().split("\n")
    assert lines[0] == 'a_label0,"b,c_label0",d_label0' and lines[-1] == ""
    assert lines[1:-1] == [",".join(repr(float(v)) for v in row) for row in values]
    assert sum(1 for _ in attribution.local_csv(values, names)) == 1 + 3  # the header, then three parts
