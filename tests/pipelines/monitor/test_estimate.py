"""Model quality before the labels: estimates on simulated windows whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk
from sklearn.isotonic import IsotonicRegression

from pipelines.monitor.job.common.result import JobFailed
from pipelines.monitor.job.model_quality import estimate, quality


def _window(rng: np.random.Generator, rows: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose true default probability is a logistic of a risk score; ``shift`` moves the
    population towards riskier rows (covariate shift: the features move, not their meaning)."""
    risk = rng.normal(shift, 1.0, rows)
    probability = 1 / (1 + np.exp(-(1.6 * risk - 1.6)))
    labels = (rng.random(rows) < probability).astype(int)
    return labels, probability


def _covered(estimates: dict, labels: np.ndarray, scores: np.ndarray) -> dict[str, bool]:
    measured = quality.binary_classification_metrics(labels, scores)
    return {name: abs(measured[name]["value"] - entry["value"]) <= 2.5 * entry["standard_deviation"] for name, entry in estimates.items()}


def test_a_calibrated_models_estimates_land_within_their_stated_error_and_follow_a_covariate_shift() -> None:
    rng = np.random.default_rng(4)
    calibration = estimate.fit(*_window(rng, 6000))
    # The scores are the probabilities: calibrated anyway, the map stays close to the identity.
    assert calibration["method"] == "isotonic" and calibration["raw_ece"] < 0.02
    assert np.allclose(estimate.apply(calibration, np.linspace(0.1, 0.9, 9)), np.linspace(0.1, 0.9, 9), atol=0.06)
    hits = {name: 0 for name in estimate.METRICS}
    for shift in (0.0, 0.0, 0.8, 0.8) * 15:  # 60 windows of 500 rows, half of them shifted
        labels, scores = _window(rng, 500, shift)
        for name, ok in _covered(estimate.estimate(scores, calibration), labels, scores).items():
            hits[name] += ok
    assert all(count >= 54 for count in hits.values()), hits  # 2.5 standard deviations: about 99% expected, 90% required
    # The shift raises the share of defaults, and so what a model that predicts them gets right:
    # the estimates move with it, without a label.
    clean, shifted = (estimate.estimate(_window(rng, 2000, s)[1], calibration) for s in (0.0, 0.8))
    assert shifted["recall"]["value"] > clean["recall"]["value"] + 0.1


def test_an_uncalibrated_model_is_calibrated_first_and_then_estimated() -> None:
    rng = np.random.default_rng(9)
    labels, probability = _window(rng, 6000)
    overconfident = probability**0.4  # the same ranking, scores far above the real rates
    calibration = estimate.fit(labels, overconfident)
    assert calibration["method"] == "isotonic" and calibration["raw_ece"] > 0.2 and calibration["calibrated_ece"] < 0.01
    # The map is scikit-learn's isotonic regression on the same rows (interpolated between block means, not ends).
    reference = IsotonicRegression(out_of_bounds="clip").fit(overconfident, labels)
    sample = np.linspace(0.05, 0.95, 37)
    assert np.allclose(estimate.apply(calibration, sample), reference.predict(sample), atol=0.04)
    raw = dict(calibration, method="none")
    calibrated_hits = raw_hits = 0
    for _ in range(30):
        labels, probability = _window(rng, 500)
        scores = probability**0.4
        calibrated_hits += all(_covered(estimate.estimate(scores, calibration), labels, scores).values())
        raw_hits += _covered(estimate.estimate(scores, raw), labels, scores)["precision"]
    # Taken at their word, overconfident scores promise a precision of about 0.69 where 0.43 is measured.
    assert calibrated_hits >= 27 and raw_hits == 0


def test_the_expected_auc_is_the_expected_roc_curves_area_and_the_same_rows_give_the_same_answer() -> None:
    rng = np.random.default_rng(1)
    _, scores = _window(rng, 3000)
    calibration = {"method": "none"}
    found = estimate.estimate(scores, calibration)
    # NannyML's CBPE: each row counts as q of a positive and 1 - q of a negative on the ROC curve.
    fpr, tpr, _ = sk.roc_curve(np.r_[np.ones(len(scores)), np.zeros(len(scores))], np.r_[scores, scores], sample_weight=np.r_[scores, 1 - scores])
    assert found["auc"]["value"] == pytest.approx(sk.auc(fpr, tpr), abs=3 * found["auc"]["standard_deviation"] / np.sqrt(estimate.SAMPLES))
    assert found == estimate.estimate(scores, calibration)
    with pytest.raises(JobFailed, match="calibration.json: method 'platt' is not one of none, isotonic"):
        estimate.estimate(scores, {"method": "platt"})
    with pytest.raises(JobFailed, match="no captured prediction to estimate from"):
        estimate.estimate([], calibration)
    # Too few labelled rows, or one class only: the scores as they are.
    assert estimate.fit([0, 1] * 50, [0.2, 0.7] * 50)["method"] == estimate.fit([0] * 500, np.linspace(0, 1, 500))["method"] == "none"
