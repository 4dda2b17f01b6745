"""The model-quality analysis: a baseline from labelled predictions, or a window of captured
predictions merged with ground truth and checked against that baseline.

Used by the monitoring job (``main.py``: ``quality-baseline``, ``quality-monitor``), by
``mlops monitor`` and through the environment of Model Monitor's model-quality container
(``environment.py``: what the SDK's ``ModelQualityMonitor`` sets).

Files: statistics.json and constraints.json (baseline), statistics.json,
constraint_violations.json, cloudwatch_metrics.json (namespace
``aws/sagemaker/Endpoints/model-metrics``) and analysis_report.json with the merge's counts
(monitoring). A window where nothing matched fails with a reason naming both sides' counts.
Python 3.9, pyarrow: the scikit-learn image.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.monitor.job.capture import merge
from pipelines.monitor.job.common import layout
from pipelines.monitor.job.common.result import CONSTRAINTS, METRICS, REPORT, STATISTICS, VIOLATIONS, JobFailed, Result, read_object, write_files
from pipelines.monitor.job.model_quality import estimate, quality

logger = logging.getLogger("pipelines.monitor.job.model_quality.analysis")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _column(table: pa.Table, attribute: str, what: str, source: Path) -> pa.Array:
    names = table.column_names
    if attribute in names:
        return table.column(attribute).combine_chunks()
    if attribute.isdigit() and int(attribute) < len(names):
        return table.column(int(attribute)).combine_chunks()
    raise JobFailed(f"{source}: {what} {attribute!r} is not a column ({', '.join(names[:30])})")


RULES = ("window", "baseline")


def baseline(
    source: Path, output: Path, probability_attribute: str, ground_truth_attribute: str, threshold: float = 0.5, header: bool = True,
    evaluation_time: Optional[str] = None, rule: str = "window", window_rows: int = quality.WINDOW_ROWS, false_alarm_rate: float = quality.FALSE_ALARM_RATE,
) -> Result:  # fmt: skip
    """statistics.json and suggested constraints.json from labelled predictions (a CSV): with
    ``rule="window"`` thresholds that a clean window of ``window_rows`` rows breaks with
    probability ``false_alarm_rate``; with ``"baseline"`` AWS's plain rule (the baseline's values)."""
    if rule not in RULES:
        raise JobFailed(f"constraint rule {rule!r} is not one of {', '.join(RULES)}")
    files = layout.data_files(source, (".csv",))
    if not files:
        raise JobFailed(f"No data in the baseline dataset {source}")
    tables = []
    for file in files:
        try:
            tables.append(pacsv.read_csv(file, read_options=pacsv.ReadOptions(autogenerate_column_names=not header), convert_options=pacsv.ConvertOptions(strings_can_be_null=True)))
        except pa.ArrowInvalid as exc:
            raise JobFailed(f"{file}: not a CSV this job reads ({exc})") from exc
    table = pa.concat_tables([t.cast(tables[0].schema) for t in tables]) if len(tables) > 1 else tables[0]
    if not table.num_rows:
        raise JobFailed(f"No data in the baseline dataset {source}")
    probabilities = _column(table, probability_attribute, "probability_attribute", source)
    truths = _column(table, ground_truth_attribute, "ground_truth_attribute", source)
    try:
        scores = pc.cast(probabilities, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise JobFailed(f"{source}: probability_attribute {probability_attribute!r} holds values that are not numbers") from exc
    if np.isnan(scores).any():
        raise JobFailed(f"{source}: probability_attribute {probability_attribute!r} is empty on row {int(np.argmax(np.isnan(scores))) + 2}")
    labels = quality.labels_of([str(v) for v in truths.to_pylist()], str(source))
    metrics = quality.binary_classification_metrics(labels, scores, threshold)
    stats = quality.statistics_document(metrics, len(labels), evaluation_time or _now())
    if rule == "window":
        constraints = quality.window_constraints(metrics, labels, scores, threshold, window_rows, false_alarm_rate)
        suggested: Dict[str, Any] = {"rule": rule, "window_rows": window_rows, "false_alarm_rate": false_alarm_rate}
    else:
        constraints, suggested = quality.suggest_constraints(metrics), {"rule": rule}
    calibration = estimate.fit(labels, scores)
    write_files(output, {STATISTICS: stats, CONSTRAINTS: constraints, estimate.CALIBRATION: calibration, REPORT: {"dataset": {"rows": len(labels)}, "constraints": suggested}})
    return Result("baseline", output, counters={"rows": len(labels)})


def monitor(
    capture: Path,
    ground_truth: Path,
    output: Path,
    baseline_constraints: Path,
    start: Optional[datetime],
    end: Optional[datetime],
    until: Optional[datetime] = None,
    threshold: float = 0.5,
    probability_index: int = 0,
    publish_metrics: bool = False,
    evaluation_time: Optional[str] = None,
    calibration: Optional[Path] = None,
) -> Result:
    """The window's predictions merged with their labels, measured and checked; with the
    baseline's ``calibration`` (``estimate.py``) the window's metrics are also estimated from its
    predictions alone, so a window whose labels have not come yet is estimated, not failed."""
    constraints = read_object(baseline_constraints, "baseline_constraints")
    counters = merge.MergeCounters()
    scored = merge.predictions(capture, start, end, probability_index, counters)
    labelled = merge.ground_truth(ground_truth, start, until or end, counters)
    texts, scores, _ = merge.join(scored, labelled, counters)
    estimates, calibrated = None, None
    if calibration is not None and calibration.is_file() and scored.num_rows:
        calibrated = read_object(calibration, "calibration")
        estimates = estimate.estimate(scored.column("score").to_numpy(zero_copy_only=False), calibrated, threshold)
    if not counters.matched and estimates is not None:
        files: Dict[str, Any] = {
            estimate.ESTIMATES: estimate.document(estimates, scored.num_rows, calibrated or {}),
            VIOLATIONS: {"violations": []},  # nothing measured, so nothing to check yet
            REPORT: {"merge": counters.as_dict(), "labels": "none matched yet: the window's model quality is estimated from its predictions"},
        }
        values = estimate.published(estimates)
        if publish_metrics:
            files[METRICS] = {"namespace": quality.NAMESPACE, "metrics": values}
        write_files(output, files)
        return Result("monitoring", output, [], values, counters.as_dict())
    if not counters.matched:
        window = f" between {start.isoformat() if start else 'the beginning'} and {end.isoformat() if end else 'now'}"
        raise JobFailed(
            f"No data to analyze: no captured prediction{window} in {capture} has a ground-truth label in {ground_truth} "
            f"({counters.predictions} prediction(s) in the window, {counters.labels} label(s) read): {json.dumps(counters.as_dict())}"
        )
    metrics = quality.binary_classification_metrics(quality.labels_of(texts, str(ground_truth)), scores, threshold)
    violations = quality.check(metrics, constraints, str(baseline_constraints))
    files = {
        STATISTICS: quality.statistics_document(metrics, counters.matched, evaluation_time or _now()),
        VIOLATIONS: {"violations": violations},
        REPORT: {"merge": counters.as_dict()},
    }
    values = quality.scalar_metrics(metrics)
    if estimates is not None:
        files[estimate.ESTIMATES] = estimate.document(estimates, scored.num_rows, calibrated or {}, measured=metrics)
        values.update(estimate.published(estimates))
    if publish_metrics:
        files[METRICS] = {"namespace": quality.NAMESPACE, "metrics": values}
    write_files(output, files)
    return Result("monitoring", output, violations, values, counters.as_dict())


def threshold_of(value: Optional[str]) -> float:
    try:
        threshold = float(value) if value not in (None, "") else 0.5
    except ValueError as exc:
        raise JobFailed(f"probability_threshold_attribute {value!r} is not a number") from exc
    if not 0.0 <= threshold <= 1.0:
        raise JobFailed(f"probability_threshold_attribute {threshold} is not between 0 and 1")
    return threshold
