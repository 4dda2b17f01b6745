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
    # The page's best constant classifier answers positive (recall 1, precision and accuracy
    # 0.25); the container answers the majority class (test_the_best_constant_classifier_...).
    expected = {
        "recall": 1.0, "precision": 0.3333333333333333, "accuracy": 0.5, "recall_best_constant_classifier": 0.0,
        "precision_best_constant_classifier": 0.0, "accuracy_best_constant_classifier": 0.75, "true_positive_rate": 1.0,
        "true_negative_rate": 0.33333333333333337, "false_positive_rate": 0.6666666666666666, "false_negative_rate": 0.0,
        "auc": 1.0, "f0_5": 0.3846153846153846, "f1": 0.5, "f2": 0.7142857142857143,
        "f0_5_best_constant_classifier": 0.0, "f1_best_constant_classifier": 0.0, "f2_best_constant_classifier": 0.0,
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


def test_the_best_constant_classifier_answers_the_majority_class_as_the_container_does() -> None:
    # A real ModelQuality baseline (stored outputs of AWS's notebook, 201 rows, 28 positive):
    # recall 0, precision 0, accuracy 0.860697, F scores 0.
    labels = np.array([1] * 28 + [0] * 173)
    found = quality.binary_classification_metrics(labels, np.linspace(0, 1, 201))
    constant = {name: found[f"{name}_best_constant_classifier"]["value"] for name in ("recall", "precision", "accuracy", "f0_5", "f1", "f2")}
    assert constant == {"recall": 0.0, "precision": 0.0, "accuracy": pytest.approx(0.860697, abs=5e-7), "f0_5": 0.0, "f1": 0.0, "f2": 0.0}
    # With positives in the majority it answers positive: recall 1, precision and accuracy the share of positives.
    found = quality.binary_classification_metrics(1 - labels, np.linspace(0, 1, 201))
    assert found["recall_best_constant_classifier"]["value"] == 1.0 and found["accuracy_best_constant_classifier"]["value"] == pytest.approx(173 / 201)


@pytest.mark.parametrize(
    ("value", "java"),
    [
        # the real violation's numbers: "Metric auc with 0.515453080147537 +/- 8.080858763541535E-4 was LessThanThreshold '0.9395127993393898'"
        (0.515453080147537, "0.515453080147537"), (8.080858763541535e-4, "8.080858763541535E-4"), (0.9395127993393898, "0.9395127993393898"),
        (1.0, "1.0"), (0.0, "0.0"), (0.001, "0.001"), (1e-4, "1.0E-4"), (12345678.0, "1.2345678E7"), (-2.5e-5, "-2.5E-5"), ("NaN", "NaN"),
    ],
)  # fmt: skip
def test_numbers_are_written_as_javas_double_to_string(value: object, java: str) -> None:
    assert quality.java_double(value) == java


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
    # The container's order: recall, precision, accuracy, the four rates, auc, f0_5, f1, f2.
    assert list(rules) == ["recall", "precision", "accuracy", "true_positive_rate", "true_negative_rate", "false_positive_rate", "false_negative_rate", "auc", "f0_5", "f1", "f2"]
    assert rules["auc"] == {"threshold": baseline["auc"]["value"], "comparison_operator": "LessThanThreshold"}
    assert rules["false_positive_rate"]["comparison_operator"] == "GreaterThanThreshold"
    assert quality.check(baseline, suggested) == []
    worse = quality.binary_classification_metrics(labels, np.where(np.arange(len(labels)) % 3 == 0, 1 - scores, scores))
    violations = quality.check(worse, suggested)
    by_metric = {v["metric_name"]: v for v in violations}
    assert {"auc", "accuracy", "falsePositiveRate"} <= set(by_metric)  # the rates named as the container names them
    assert by_metric["auc"] == {
        "constraint_check_type": "LessThanThreshold",
        "description": f"Metric auc with {worse['auc']['value']!r} +/- {quality.java_double(worse['auc']['standard_deviation'])} was LessThanThreshold '{baseline['auc']['value']!r}'",
        "metric_name": "auc",
    }
    order = [v["metric_name"] for v in violations]
    shown = [quality.VIOLATION_NAMES.get(n, n) for n in quality.CONSTRAINED]
    assert order == sorted(order, key=shown.index)  # in the container's order, whatever the file's


def _windows(rng: np.random.Generator, count: int, rows: int, separation: float) -> list[dict]:
    """Windows of labelled predictions from one population: 22% positive, a logistic score whose
    classes are ``separation`` standard deviations apart (1.05: AUC about 0.77)."""
    found = []
    for _ in range(count):
        labels = (rng.random(rows) < 0.22).astype(int)
        scores = 1 / (1 + np.exp(-(rng.normal(0, 1, rows) + separation * labels - 1.2)))
        found.append(quality.binary_classification_metrics(labels, scores))
    return found


def test_window_constraints_rarely_fire_on_clean_windows_and_fire_on_a_worse_model() -> None:
    """AWS's plain rule fires on most clean windows of 500 rows; thresholds for the window's size
    on about 1% of them, and still on nearly every window of a model 0.07 AUC worse."""
    rng = np.random.default_rng(5)
    labels = (rng.random(6000) < 0.22).astype(int)
    scores = 1 / (1 + np.exp(-(rng.normal(0, 1, 6000) + 1.05 * labels - 1.2)))
    baseline = quality.binary_classification_metrics(labels, scores)
    window = quality.window_constraints(baseline, labels, scores, window_rows=500)
    assert window == quality.window_constraints(baseline, labels, scores, window_rows=500)  # the same rows give the same file
    rules = window[quality.CONSTRAINTS_KEY]
    assert list(rules) == list(quality.suggest_constraints(baseline)[quality.CONSTRAINTS_KEY])
    assert rules["auc"]["threshold"] < baseline["auc"]["value"] and rules["false_positive_rate"]["threshold"] > baseline["false_positive_rate"]["value"]
    plain = quality.suggest_constraints(baseline)
    clean = _windows(rng, 300, 500, 1.05)
    assert sum(bool(quality.check(m, plain)) for m in clean) / 300 > 0.5
    assert sum(bool(quality.check(m, window)) for m in clean) / 300 <= 0.03
    worse = _windows(rng, 100, 2000, 0.75)
    assert np.mean([m["auc"]["value"] for m in worse]) < baseline["auc"]["value"] - 0.06
    wider = quality.window_constraints(baseline, labels, scores, window_rows=2000)
    assert sum(bool(quality.check(m, wider)) for m in worse) / 100 >= 0.9
    # A window of 100 rows is looser than one of 2,000.
    assert quality.window_constraints(baseline, labels, scores, window_rows=100)[quality.CONSTRAINTS_KEY]["auc"]["threshold"] < wider[quality.CONSTRAINTS_KEY]["auc"]["threshold"]


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
