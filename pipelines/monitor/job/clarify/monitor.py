"""Clarify's two monitors on an endpoint's capture: bias drift and feature-attribution drift.

**Bias drift** (``bias_drift``): a window's captured requests (their inputs hold the facets),
merged by inference id with the ground truth collected from the window's start until the
scheduled time (the model-quality merge's rule), give the pre- and post-training metrics of
the live traffic (``bias.py``) in Clarify's ``analysis.json``; each metric further from its
ideal than in the baseline's analysis.json, by more than the window's size explains (or at all,
with Clarify's plain rule), is a ``bias_drift_check`` violation (``constraint_violations.json``). Its CloudWatch metrics are Clarify's: namespace
``aws/sagemaker/Endpoints/bias-metrics``, ``bias_metric_<short name>`` with the dimensions
Endpoint, MonitoringSchedule, BiasStage, Label, LabelValue, Facet and FacetValue; an infinite
value is published as +/-2.348543e108 and an undefined one not at all (Clarify's documentation).

**Feature-attribution drift** (``attribution_drift``): the SHAP values of the window's captured
inputs (``attribution.py``, the model's exact tree SHAP), their global mean |SHAP|, and
Clarify's nDCG against the baseline's; a score below the threshold (0.9) is a
``feature_attribution_drift_check`` violation. nDCG weighs each feature by its baseline
attribution, so features that move but keep their rank leave it above 0.9; by default each
feature's global value is also checked: a move from the baseline's beyond what the window's
size explains (its standard error over the window's rows, two-sided, Bonferroni over the
features for 1% false alarms an hour) and by more than 10% is one more
``feature_attribution_drift_check`` entry, in Clarify's schema, the description naming the
feature (``--constraint-rule baseline``: Clarify's nDCG check alone). Its metrics are Clarify's (the page
"CloudWatch Metrics for Feature Drift Analysis"), in ``aws/sagemaker/Endpoints/explainability-metrics``:
``feature_<feature>`` (the global SHAP value) and ``ExpectedValue``, with the dimensions
Endpoint, MonitoringSchedule, ExplainabilityMethod (``KernelShap``, the page's only value: the
values here are exact tree SHAP, the quantity Kernel SHAP estimates), Label (``label0``) and
ValueType (``GlobalShapValues`` or ``ExpectedValue``). Clarify publishes no score of its own
check; ``feature_attribution_ndcg`` (Endpoint and MonitoringSchedule) is ours, so an alarm can
watch the nDCG the check compares with 0.9.

Both write ``analysis.json``, ``constraint_violations.json``, ``analysis_report.json`` (what
was read and left out), ``report.html`` and, when publishing, ``cloudwatch_metrics.json``.
Standard library and numpy (pyarrow for the ground truth's merge, bias drift only; xgboost for
the SHAP values, attribution drift only), Python 3.8.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pipelines.core.fileio import write_text_atomic
from pipelines.monitor.job.clarify import attribution, bias
from pipelines.monitor.job.common import capture_rows
from pipelines.monitor.job.common.result import JobFailed, Result
from pipelines.monitor.job.html import clarify_report

BIAS_NAMESPACE = "aws/sagemaker/Endpoints/bias-metrics"
EXPLAINABILITY_NAMESPACE = "aws/sagemaker/Endpoints/explainability-metrics"
PUBLISHED_INFINITY = 2.348543e108
ANALYSIS, VIOLATIONS, REPORT, METRICS = "analysis.json", "constraint_violations.json", "analysis_report.json", "cloudwatch_metrics.json"
STAGES = {bias.PRE_TRAINING: "Pre-training", bias.POST_TRAINING: "Post-Training"}
NDCG = "feature_attribution_ndcg"
EXPECTED_VALUE = "ExpectedValue"
FEATURE_PREFIX = "feature_"
RULES = ("window", "baseline")


def _window(start: Optional[datetime], end: Optional[datetime]) -> str:
    return f" between {start.isoformat() if start else 'the beginning'} and {end.isoformat() if end else 'now'}"


def metric_key(name: str, facet: str, value_or_threshold: Any) -> str:
    """The flat name of a post-training metric of one facet group, for timelines and alarms:
    ``bias_metric_DI.SEX=2`` (a continuous facet by its threshold: ``bias_metric_DI.AGE=40``)."""
    return f"bias_metric_{name}.{facet}={bias.group_value(value_or_threshold)}"


def bias_drift(
    capture: Path, ground_truth: Path, output: Path, constraints: Dict[str, Any], config: bias.BiasConfig,
    start: Optional[datetime], end: Optional[datetime], until: Optional[datetime] = None, probability_index: int = 0,
    band: Tuple[float, float] = (0.8, 1.25), rule: str = "window",
) -> Result:  # fmt: skip
    """The window's bias metrics against the baseline's: beyond what the window's size explains
    (``rule="window"``), or Clarify's plain rule (``"baseline"``)."""
    if rule not in RULES:
        raise JobFailed(f"constraint rule {rule!r} is not one of {', '.join(RULES)}")
    from pipelines.monitor.job.capture import merge

    names = [h for h in config.headers if h != config.label]
    if not names:
        raise JobFailed("the analysis configuration lists no headers: the captured inputs' columns are unknown")
    rows = capture_rows.read(capture, start, end, len(names), probability_index)
    counters = merge.MergeCounters()
    labelled = merge.ground_truth(ground_truth, start, until or end, counters)
    labels = dict(zip(labelled.column("id").to_pylist(), labelled.column("label").to_pylist()))
    keep, values = [], []
    for index, identifier in enumerate(rows.ids):
        text = labels.get(identifier)
        try:
            number = float(text) if text is not None else None
        except ValueError:
            number = None
        if number is not None:
            keep.append(index)
            values.append(number)
    report = {"capture": rows.counters.as_dict(), "ground_truth": {"files": counters.ground_truth_files, "labels": labelled.num_rows},
              "matched": len(keep), "predictions_without_label": rows.counters.rows - len(keep)}  # fmt: skip
    if not keep:
        raise JobFailed(
            f"No data to analyze: no captured request{_window(start, end)} in {capture} has a ground-truth label in {ground_truth} "
            f"({rows.counters.rows} request(s) in the window, {labelled.num_rows} label(s) read): {json.dumps(report)}"
        )
    chosen = np.asarray(keep)
    table = bias.Table(
        columns={name: rows.features[chosen, j] for j, name in enumerate(names)},
        label=bias.favourable(np.asarray(values), config),
        predicted=bias.predicted_favourable(rows.scores[chosen], config),
        features=names,
    )
    try:
        document = bias.analysis(bias.pre_training(table, config), bias.post_training(table, config))
    except bias.BiasConfigError as exc:
        raise JobFailed(str(exc)) from exc
    errors = None
    if rule == "window":
        try:
            errors = bias.standard_errors(table, config)
        except bias.BiasConfigError as exc:
            raise JobFailed(str(exc)) from exc
    violations = bias.violations(document, constraints, errors)
    report["constraint_rule"] = rule
    metrics = {
        metric_key(item["name"], facet, entry["value_or_threshold"]): float(item["value"])
        for facet, entries in document[bias.POST_TRAINING]["facets"].items()
        for entry in entries
        for item in entry["metrics"]
        if isinstance(item.get("value"), float)
    }
    _write(output, document, violations, report)
    clarify_report.bias_report(output / "report.html", document, band, {"captured and labelled": len(keep)})
    return Result("monitoring", output, violations, metrics, report)


def bias_metric_data(document: Dict[str, Any], endpoint: str, schedule: str, timestamp: datetime) -> List[Dict[str, Any]]:
    """PutMetricData's data for a bias analysis, as Clarify's bias-drift monitor published it."""
    data = []
    for section, stage in STAGES.items():
        part = document.get(section) or {}
        for facet, entries in (part.get("facets") or {}).items():
            for entry in entries:
                for item in entry["metrics"]:
                    value = bias.numeric(item.get("value"))
                    if value is None:
                        continue  # errors and nulls are not published
                    if abs(value) == float("inf"):
                        value = PUBLISHED_INFINITY if value > 0 else -PUBLISHED_INFINITY
                    dimensions = [
                        {"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule},
                        {"Name": "BiasStage", "Value": stage}, {"Name": "Label", "Value": str(part.get("label"))},
                        {"Name": "LabelValue", "Value": str(part.get("label_value_or_threshold"))},
                        {"Name": "Facet", "Value": facet}, {"Name": "FacetValue", "Value": bias.group_value(entry["value_or_threshold"])},
                    ]  # fmt: skip
                    data.append({"MetricName": f"bias_metric_{item['name']}", "Dimensions": dimensions, "Timestamp": timestamp, "Value": value, "Unit": "None"})
    return data


def attribution_metric_data(metrics: Dict[str, float], endpoint: str, schedule: str, timestamp: datetime) -> List[Dict[str, Any]]:
    """The attribution job's metrics in PutMetricData's shape, with Clarify's dimensions."""
    data = []
    for name, value in sorted(metrics.items()):
        dimensions = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule}]
        if name != NDCG:
            dimensions += [
                {"Name": "ExplainabilityMethod", "Value": "KernelShap"}, {"Name": "Label", "Value": attribution.LABEL},
                {"Name": "ValueType", "Value": "ExpectedValue" if name == EXPECTED_VALUE else "GlobalShapValues"},
            ]  # fmt: skip
        data.append({"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Value": float(value), "Unit": "None"})
    return data


def attribution_drift(
    capture: Path, output: Path, constraints: Dict[str, Any], booster: Any, names: Sequence[str],
    start: Optional[datetime], end: Optional[datetime], threshold: Optional[float] = None, probability_index: int = 0, rule: str = "window",
) -> Result:  # fmt: skip
    """The window's global SHAP values against the baseline's, by Clarify's nDCG; with
    ``rule="window"`` also each feature's, beyond what the window's size explains."""
    if rule not in RULES:
        raise JobFailed(f"constraint rule {rule!r} is not one of {', '.join(RULES)}")
    rows = capture_rows.read(capture, start, end, len(names), probability_index)
    report: Dict[str, Any] = {"capture": rows.counters.as_dict()}
    if not rows.ids:
        raise JobFailed(f"No data to analyze: no captured request{_window(start, end)} in {capture}: {json.dumps(report)}")
    values, expected = attribution.shap_values(booster, rows.features)
    global_shap = attribution.global_values(values, names)
    document = attribution.analysis(global_shap, expected)
    try:
        violations, scores = attribution.violations(document, constraints, threshold)
    except ValueError as exc:
        raise JobFailed(f"baseline constraints: {exc}") from exc
    report["ndcg"] = scores
    report["constraint_rule"] = rule
    if rule == "window" and attribution.LABEL in attribution.labels(constraints):
        violations = violations + attribution.feature_violations(global_shap, attribution.global_from(constraints), attribution.standard_errors(values, names))
    metrics = {f"{FEATURE_PREFIX}{name}": value for name, value in global_shap.items()}
    metrics[EXPECTED_VALUE] = float(expected)
    if scores:
        metrics[NDCG] = scores[attribution.LABEL]
    _write(output, document, violations, report)
    baseline = attribution.global_from(constraints) if attribution.LABEL in attribution.labels(constraints) else {}
    title = f"Feature attribution: nDCG {scores.get(attribution.LABEL, float('nan')):.3f} against the baseline's ranking (threshold {threshold or attribution.THRESHOLD:g})"
    clarify_report.explainability_report(output / "report.html", global_shap, expected, values, rows.features, names, title=title, baseline=baseline)
    return Result("monitoring", output, violations, metrics, report)


def _write(output: Path, document: Dict[str, Any], violations: List[Dict[str, str]], report: Dict[str, Any]) -> None:
    write_text_atomic(output / ANALYSIS, json.dumps(document, indent=2) + "\n")
    write_text_atomic(output / VIOLATIONS, json.dumps({"version": "1.0", "violations": violations}, indent=2) + "\n")
    write_text_atomic(output / REPORT, json.dumps(report, indent=2) + "\n")


def write_metrics(output: Path, namespace: str, metrics: Dict[str, float]) -> None:
    """``cloudwatch_metrics.json``: what a run published (or would have, locally)."""
    write_text_atomic(output / METRICS, json.dumps({"namespace": namespace, "metrics": metrics}, indent=2) + "\n")
