"""Model-quality metrics in Model Monitor's layout, checked against AWS's example and scikit-learn."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn import metrics as sk

from pipelines.monitor.job.common.result import JobFailed
from pipelines.monitor.job.model_quality import quality


def test_the_values_of_aws_documented_example() -> None:
    # docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html: one
    # positive in four, predicted positive with two of the negatives (the example's matrix).
    found = quality.binary_classification_metrics(np.array([1, 0, 0, 0]), np.array([0.9, 0.7, 0.6, 0.1]))
    assert found["confusion_matrix"] == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    expected = {
        "recall": 1.0, "precision": 0.3333333333333333, "accuracy": 0.5, "recall_best_constant_classifier": 1.0,
        "precision_best_constant_classifier": 0.25, "accuracy_best_constant_classifier": 0.25, "true_positive_rate": 1.0,
        "true_negative_rate": 0.33333333333333337, "false_positive_rate": 0.6666666666666666, "false_negative_rate": 0.0,
        "auc": 1.0, "f0_5": 0.3846153846153846, "f1": 0.5, "f2": 0.7142857142857143,
        "f0_5_best_constant_classifier": 0.29411764705882354, "f1_best_constant_classifier": 0.4, "f2_best_constant_classifier": 0.625,
    }  # fmt: skip
    assert {name: found[name]["value"] for name in expected} == expected
    assert all(found[name]["standard_deviation"] == "NaN" for name in expected)  # fewer than 200 rows
    # The example's key order.
    assert list(found) == [
        "confusion_matrix", "recall", "precision", "accuracy", "recall_best_constant_classifier", "precision_best_constant_classifier",
        "accuracy_best_constant_classifier", "true_positive_rate", "true_negative_rate", "false_positive_rate", "false_negative_rate",
        "receiver_operating_characteristic_curve", "precision_recall_curve", "auc", "f0_5", "f1", "f2",
        "f0_5_best_constant_classifier", "f1_best_constant_classifier", "f2_best_constant_classifier",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def rows() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    labels = (rng.random(5000) < 0.22).astype(int)
    scores = np.clip(rng.normal(0.3 + 0.3 * labels, 0.2), 0, 1).round(3)  # ties on purpose
    return labels, scores


@pytest.mark.parametrize("threshold", [0.5, 0.35])
def test_every_value_is_scikit_learns_on_the_same_rows(rows: tuple[np.ndarray, np.ndarray], threshold: float) -> None:
    labels, scores = rows
    found = quality.binary_classification_metrics(labels, scores, threshold)
    predicted = (scores >= threshold).astype(int)
    (tn, fp), (fn, tp) = sk.confusion_matrix(labels, predicted)
    assert found["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    value = {name: entry["value"] for name, entry in found.items() if "value" in entry}
    assert value["accuracy"] == pytest.approx(sk.accuracy_score(labels, predicted), abs=1e-15)
    assert value["precision"] == pytest.approx(sk.precision_score(labels, predicted), abs=1e-15)
    assert value["recall"] == value["true_positive_rate"] == pytest.approx(sk.recall_score(labels, predicted), abs=1e-15)
    for name, beta in (("f0_5", 0.5), ("f1", 1.0), ("f2", 2.0)):
        assert value[name] == pytest.approx(sk.fbeta_score(labels, predicted, beta=beta), abs=1e-12), name
    assert value["auc"] == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)
    assert value["false_positive_rate"] == pytest.approx(fp / (fp + tn), abs=1e-15)
    assert value["true_negative_rate"] == pytest.approx(tn / (fp + tn), abs=1e-15)
    # The ROC curve: scikit-learn's every distinct threshold, then (1, 1).
    fpr, tpr, _ = sk.roc_curve(labels, scores, drop_intermediate=False)
    roc = found["receiver_operating_characteristic_curve"]
    assert np.allclose(roc["false_positive_rates"][:-1], fpr) and np.allclose(roc["true_positive_rates"][:-1], tpr)
    assert (roc["false_positive_rates"][-1], roc["true_positive_rates"][-1]) == (1.0, 1.0)
    # The precision-recall curve, from the highest score down, up to full recall (scikit-learn stops there).
    precision, recall, _ = sk.precision_recall_curve(labels, scores)
    pr = found["precision_recall_curve"]
    upto = len(precision) - 1
    assert np.allclose(pr["precisions"][1 : upto + 1], precision[:-1][::-1]) and np.allclose(pr["recalls"][1 : upto + 1], recall[:-1][::-1])
    assert pr["recalls"][0] == 0.0 and pr["precisions"][0] == pr["precisions"][1]


def test_standard_deviations_are_those_of_80_percent_samples(rows: tuple[np.ndarray, np.ndarray]) -> None:
    labels, scores = rows
    found = quality.binary_classification_metrics(labels, scores)
    again = quality.binary_classification_metrics(labels, scores)
    assert json.dumps(found) == json.dumps(again)  # the same rows give the same file
    accuracy = found["accuracy"]["value"]
    # An 80% sample without replacement: variance p(1-p)/m * (1 - m/n).
    m = int(0.8 * len(labels))
    expected = math.sqrt(accuracy * (1 - accuracy) / m * 0.2)
    assert expected / 3 < found["accuracy"]["standard_deviation"] < expected * 3
    assert all(isinstance(entry["standard_deviation"], float) for entry in found.values() if "standard_deviation" in entry)


def test_a_million_distinct_scores_make_a_grouped_curve_and_the_exact_auc() -> None:
    rng = np.random.default_rng(3)
    labels = (rng.random(200_000) < 0.3).astype(int)
    scores = rng.random(200_000) * 0.5 + 0.3 * labels
    found = quality.binary_classification_metrics(labels, scores)
    roc = found["receiver_operating_characteristic_curve"]
    assert len(roc["false_positive_rates"]) <= quality.MAX_CURVE_POINTS + 2
    assert roc["false_positive_rates"][:1] == [0.0] and roc["false_positive_rates"][-2:] == [1.0, 1.0]
    assert np.all(np.diff(roc["false_positive_rates"]) >= 0) and np.all(np.diff(roc["true_positive_rates"]) >= 0)
    assert found["auc"]["value"] == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)


def test_one_class_only_has_no_auc() -> None:
    found = quality.binary_classification_metrics(np.zeros(10, dtype=int), np.linspace(0, 1, 10))
    assert found["auc"]["value"] == "NaN" and found["recall"]["value"] == 0.0 and found["precision"]["value"] == 0.0
    assert "auc" not in quality.scalar_metrics(found)
    assert "auc" not in quality.suggest_constraints(found)[quality.CONSTRAINTS_KEY]


def test_suggested_constraints_and_their_violations(rows: tuple[np.ndarray, np.ndarray]) -> None:
    labels, scores = rows
    baseline = quality.binary_classification_metrics(labels, scores)
    suggested = quality.suggest_constraints(baseline)
    rules = suggested[quality.CONSTRAINTS_KEY]
    assert rules["auc"] == {"threshold": baseline["auc"]["value"], "comparison_operator": "LessThanThreshold"}
    assert rules["false_positive_rate"]["comparison_operator"] == "GreaterThanThreshold"
    assert quality.check(baseline, suggested) == []
    worse = quality.binary_classification_metrics(labels, np.where(np.arange(len(labels)) % 3 == 0, 1 - scores, scores))
    violations = quality.check(worse, suggested)
    by_metric = {v["metric_name"]: v for v in violations}
    assert {"auc", "accuracy", "false_positive_rate"} <= set(by_metric)
    assert by_metric["auc"] == {
        "constraint_check_type": "LessThanThreshold",
        "description": f"Metric auc with {worse['auc']['value']} was LessThanThreshold {baseline['auc']['value']}",
        "metric_name": "auc",
    }


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        ({"features": []}, "no binary_classification_constraints object (is it a data-quality constraints.json?)"),
        ({"binary_classification_constraints": {"auc": {"threshold": 0.7, "comparison_operator": "Below"}}}, "binary_classification_constraints.auc.comparison_operator 'Below' is not one of"),
        ({"binary_classification_constraints": {"auc": {"threshold": "high", "comparison_operator": "LessThanThreshold"}}}, "binary_classification_constraints.auc.threshold 'high' is not a number"),
        ({"binary_classification_constraints": {"gini": {"threshold": 0.7, "comparison_operator": "LessThanThreshold"}}}, "'gini' is not a binary classification metric"),
    ],
)
def test_a_wrong_constraints_file_is_named_precisely(constraints: dict, message: str) -> None:
    metrics = quality.binary_classification_metrics(np.array([1, 0]), np.array([0.8, 0.2]))
    with pytest.raises(JobFailed, match="^c.json: ") as raised:
        quality.check(metrics, constraints, "c.json")
    assert message in str(raised.value)


def test_labels_are_read_as_0_or_1_and_anything_else_is_named() -> None:
    assert quality.labels_of(["1", "0", "1.0", " 0 ", "true", "False", '"1"'], "gt").tolist() == [1, 0, 1, 0, 1, 0, 1]
    with pytest.raises(JobFailed, match=r"gt: ground truth 'yes' \(row 2\) is not a binary label 0 or 1"):
        quality.labels_of(["1", "yes"], "gt")
