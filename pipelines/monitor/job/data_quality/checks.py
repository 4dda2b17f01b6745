"""The checks of a monitoring run, with the container's descriptions.

data_type_check, completeness_check, baseline_drift_check (numeric: L-infinity between the
CDFs of the two KLL sketches, Simple or Robust; categorical: LInfinity or ChiSquared),
missing_column_check, extra_column_check and categorical_values_check, honouring the
thresholds of ``monitoring_config`` and each feature's ``monitoringConfigOverrides``.
Also the per-feature metrics SageMaker publishes to CloudWatch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from pipelines.monitor.job.data_quality import constraints as constraint_settings
from pipelines.monitor.job.data_quality.kll import linf_distance
from pipelines.monitor.job.data_quality.statistics import FRACTIONAL, INTEGRAL, STRING, Profile, sketch_of

C_ALPHA = 1.8  # the KS critical-value coefficient the Robust method subtracts (alpha ~ 0.003)


@dataclass
class Outcome:
    violations: list[dict[str, str]]
    metrics: dict[str, float]
    distances: dict[str, float]


def violation(name: str, check: str, description: str) -> dict[str, str]:
    return {"feature_name": name, "constraint_check_type": check, "description": description}


def percent(value: float) -> str:
    """A ratio as the container prints it: ``100.0``, ``99.64592817400101``."""
    return repr(float(value) * 100)


def robust(distance: float, n: int, m: int) -> float:
    if n == 0 or m == 0:
        return distance
    return max(0.0, distance - C_ALPHA * math.sqrt((n + m) / (n * m)))


def categorical_distance(baseline: dict[str, float], current: dict[str, float]) -> float:
    n, m = sum(baseline.values()), sum(current.values())
    if not n or not m:
        return 0.0
    return max(abs(baseline.get(k, 0) / n - current.get(k, 0) / m) for k in set(baseline) | set(current))


def chi_squared_distance(baseline: dict[str, float], current: dict[str, float]) -> float:
    """1 - p-value of a chi-square test of the current counts against the baseline's proportions
    (categories under 5 expected counts pooled), so that larger means more drift, like LInfinity."""
    from scipy import stats

    n, m = sum(baseline.values()), sum(current.values())
    if not n or not m:
        return 0.0
    observed, expected, other_observed, other_expected = [], [], 0.0, 0.0
    for key in sorted(set(baseline) | set(current)):
        e = baseline.get(key, 0) / n * m
        if e < 5:
            other_observed += current.get(key, 0)
            other_expected += e
        else:
            observed.append(current.get(key, 0))
            expected.append(e)
    if other_expected > 0:
        observed.append(other_observed)
        expected.append(other_expected)
    if len(observed) < 2:
        return 0.0
    return float(1 - stats.chisquare(observed, expected).pvalue)


@dataclass
class Feature:
    """One feature as the checks see it: what the constraints declare, what the current data
    shows, the monitoring config in force for it, and its baseline statistics."""

    name: str
    declared: dict[str, Any]
    profile: Profile
    config: dict[str, Any]
    baseline: dict[str, Any] | None


def data_type_check(feature: Feature, outcome: Outcome) -> None:
    expected, p, config = feature.declared.get("inferred_type"), feature.profile, feature.config
    if expected not in (INTEGRAL, FRACTIONAL) or not p.present:
        return
    ratio = p.match_ratio(expected)
    outcome.metrics[f"feature_data_type_{feature.name}"] = ratio
    threshold = float(config.get("datatype_check_threshold", 1.0))
    if ratio < threshold:
        outcome.violations.append(violation(feature.name, "data_type_check", f"Data type match requirement is not met. Expected data type: {expected}, Expected match: {percent(threshold)}%. Observed: Only {percent(ratio)}% of data is {expected}."))


def completeness_check(feature: Feature, outcome: Outcome) -> None:
    required, p = float(feature.declared.get("completeness", 0.0)), feature.profile
    if p.completeness < required:
        outcome.violations.append(violation(feature.name, "completeness_check", f"Data completeness requirement is not met. Expected completeness: {percent(required)}%. Observed: Only {percent(p.completeness)}% of data is present."))


def categorical_values_check(feature: Feature, outcome: Outcome) -> None:
    domains, p = (feature.declared.get("string_constraints") or {}).get("domains"), feature.profile
    if not domains or not p.present:
        return
    inside = sum(count for value, count in p.categories.items() if value in set(domains)) / p.present
    threshold = float(feature.config.get("domain_content_threshold", 1.0))
    if inside < threshold:
        outcome.violations.append(
            violation(feature.name, "categorical_values_check", f"Categorical values requirement is not met. Expected: {percent(threshold)}% of values in the baseline domain. Observed: Only {percent(inside)}% of data is in the domain.")
        )


def baseline_drift_check(feature: Feature, outcome: Outcome) -> None:
    drift = feature.config["distribution_constraints"]
    if drift.get("perform_comparison", "Enabled") != "Enabled" or feature.baseline is None or not feature.profile.present:
        return
    distance, threshold = _drift(feature.baseline, feature.profile, drift)
    if distance is None:
        return
    outcome.distances[feature.name] = distance
    outcome.metrics[f"feature_baseline_drift_{feature.name}"] = distance
    if distance > threshold:
        outcome.violations.append(violation(feature.name, "baseline_drift_check", f"Baseline drift distance: {distance} exceeds threshold: {threshold}"))


# The container's per-feature checks by constraint_check_type, in the order it reports them; a
# new check is a function and a line here.
FEATURE_CHECKS: dict[str, Callable[[Feature, Outcome], None]] = {
    "data_type_check": data_type_check,
    "completeness_check": completeness_check,
    "categorical_values_check": categorical_values_check,
    "baseline_drift_check": baseline_drift_check,
}


def column_checks(declared: list[str], widths: dict[int, int], outcome: Outcome) -> None:
    """missing_column_check and extra_column_check: rows narrower or wider than the constraints."""
    expected_width = len(declared)
    fewer = sorted(w for w in widths if w < expected_width)
    more = sorted(w for w in widths if w > expected_width)
    if fewer:
        for name in declared[min(fewer) :]:
            outcome.violations.append(violation(name, "missing_column_check", f"There are missing columns in current dataset. Number of columns in current dataset: {min(fewer)}, Number of columns in baseline constraints: {expected_width}"))
    if more:
        outcome.violations.append(violation(f"_c{expected_width}", "extra_column_check", f"There are extra columns in current dataset. Number of columns in current dataset: {max(more)}, Number of columns in baseline constraints: {expected_width}"))


def run_checks(baseline: dict[str, Any], constraints: dict[str, Any], current: list[Profile], widths: dict[int, int]) -> Outcome:
    """Every check on every declared feature, and the CloudWatch metrics SageMaker publishes."""
    outcome = Outcome([], {}, {})
    by_name = {f["name"]: f for f in baseline.get("features", [])}
    column_checks([f["name"] for f in constraints.get("features", [])] or list(by_name), widths, outcome)
    profiles = {p.name: p for p in current}
    for declared in constraints.get("features", []):
        name = declared["name"]
        p = profiles.get(name)
        if p is None:
            continue
        config = constraint_settings.settings(constraints, declared)
        outcome.metrics[f"feature_non_null_{name}"] = p.completeness
        outcome.metrics[f"feature_data_{name}"] = float(p.present)
        if p.numbers:
            outcome.metrics[f"feature_mean_{name}"] = p.mean  # ours, for the timeline: not a CloudWatch name
        if config.get("evaluate_constraints", "Enabled") != "Enabled":
            continue
        feature = Feature(name, declared, p, config, by_name.get(name))
        for check in FEATURE_CHECKS.values():
            check(feature, outcome)
    return outcome


def _drift(baseline_feature: dict[str, Any], current: Profile, drift: dict[str, Any]) -> tuple[float | None, float]:
    if baseline_feature.get("inferred_type") == STRING or "string_statistics" in baseline_feature:
        buckets = baseline_feature.get("string_statistics", {}).get("distribution", {}).get("categorical", {}).get("buckets", [])
        baseline_counts = {str(b["value"]): float(b["count"]) for b in buckets}
        current_counts = {k: float(v) for k, v in current.categories.items()}
        method = drift.get("categorical_drift_method", "LInfinity")
        distance = chi_squared_distance(baseline_counts, current_counts) if method == "ChiSquared" else categorical_distance(baseline_counts, current_counts)
        return distance, float(drift.get("categorical_comparison_threshold", 0.1))
    baseline_sketch = sketch_of(baseline_feature)
    if baseline_sketch is None or not current.numbers:
        return None, 0.0
    current_sketch = current.sketch
    distance = linf_distance(baseline_sketch, current_sketch)
    if drift.get("comparison_method", "Robust") == "Robust":
        distance = robust(distance, baseline_sketch.count, current_sketch.count)
    return distance, float(drift.get("comparison_threshold", 0.1))
