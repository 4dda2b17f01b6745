"""The model-quality analysis: a baseline from labelled predictions, or a window of captured
predictions merged with ground truth and checked against that baseline.

Used by the monitoring job (``job.py``: ``quality-baseline``, ``quality-monitor``), by
``mlops monitor`` and as ``python -m pipelines.monitor.job.model_quality.analysis`` with the environment
contract of Model Monitor's model-quality container (what the SDK's ``ModelQualityMonitor``
sets):

    analysis_type                    MODEL_QUALITY
    problem_type                     BinaryClassification (the only one supported here)
    dataset_source, output_path      the baseline CSV (with a header), or the capture
    probability_attribute            the probability's column (name, or index without a header)
    ground_truth_attribute           the label's column (baseline)
    probability_threshold_attribute  at or above it a prediction is positive (default 0.5)
    baseline_constraints             (monitoring) the model-quality constraints.json
    ground_truth_source              (monitoring) the ground-truth prefix (a local folder)
    start_time, end_time             (monitoring) the window of predictions, ISO-8601
    ground_truth_until               (monitoring) labels collected until then (default end_time)
    publish_cloudwatch_metrics       Enabled: cloudwatch_metrics.json is written

Files: statistics.json and constraints.json (baseline), statistics.json,
constraint_violations.json, cloudwatch_metrics.json (namespace
``aws/sagemaker/Endpoints/model-metrics``) and analysis_report.json with the merge's counts
(monitoring). A window where nothing matched fails with a reason naming both sides' counts.

Part of the analyzer bundle (``bundle.py``): Python 3.9.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.monitor.job.capture import merge
from pipelines.monitor.job.common import layout
from pipelines.monitor.job.data_quality.analyzer import CONSTRAINTS, METRICS, REPORT, STATISTICS, VIOLATIONS, AnalysisFailed, Result, _write
from pipelines.monitor.job.model_quality import quality

logger = logging.getLogger("pipelines.monitor.job.model_quality.analysis")
PROBLEM_TYPE = "BinaryClassification"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _column(table: pa.Table, attribute: str, what: str, source: Path) -> pa.Array:
    names = table.column_names
    if attribute in names:
        return table.column(attribute).combine_chunks()
    if attribute.isdigit() and int(attribute) < len(names):
        return table.column(int(attribute)).combine_chunks()
    raise AnalysisFailed(f"{source}: {what} {attribute!r} is not a column ({', '.join(names[:30])})")


def baseline(source: Path, output: Path, probability_attribute: str, ground_truth_attribute: str, threshold: float = 0.5, header: bool = True, evaluation_time: Optional[str] = None) -> Result:
    """statistics.json and suggested constraints.json from labelled predictions (a CSV)."""
    files = layout.data_files(source, (".csv",))
    if not files:
        raise AnalysisFailed(f"No data in the baseline dataset {source}")
    tables = []
    for file in files:
        try:
            tables.append(pacsv.read_csv(file, read_options=pacsv.ReadOptions(autogenerate_column_names=not header), convert_options=pacsv.ConvertOptions(strings_can_be_null=True)))
        except pa.ArrowInvalid as exc:
            raise AnalysisFailed(f"{file}: not a CSV this job reads ({exc})") from exc
    table = pa.concat_tables([t.cast(tables[0].schema) for t in tables]) if len(tables) > 1 else tables[0]
    if not table.num_rows:
        raise AnalysisFailed(f"No data in the baseline dataset {source}")
    probabilities = _column(table, probability_attribute, "probability_attribute", source)
    truths = _column(table, ground_truth_attribute, "ground_truth_attribute", source)
    try:
        scores = pc.cast(probabilities, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise AnalysisFailed(f"{source}: probability_attribute {probability_attribute!r} holds values that are not numbers") from exc
    if np.isnan(scores).any():
        raise AnalysisFailed(f"{source}: probability_attribute {probability_attribute!r} is empty on row {int(np.argmax(np.isnan(scores))) + 2}")
    try:
        labels = quality.labels_of([str(v) for v in truths.to_pylist()], str(source))
        metrics = quality.binary_classification_metrics(labels, scores, threshold)
    except quality.QualityFailed as exc:
        raise AnalysisFailed(str(exc)) from exc
    stats = quality.statistics_document(metrics, len(labels), evaluation_time or _now())
    _write(output, {STATISTICS: stats, CONSTRAINTS: quality.suggest_constraints(metrics), REPORT: {"dataset": {"rows": len(labels)}}})
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
) -> Result:
    """The window's predictions merged with their labels, measured and checked."""
    constraints = _read_json_object(baseline_constraints, "baseline_constraints")
    counters = merge.MergeCounters()
    scored = merge.predictions(capture, start, end, probability_index, counters)
    labelled = merge.ground_truth(ground_truth, start, until or end, counters)
    texts, scores, _ = merge.join(scored, labelled, counters)
    if not counters.matched:
        window = f" between {start.isoformat() if start else 'the beginning'} and {end.isoformat() if end else 'now'}"
        raise AnalysisFailed(
            f"No data to analyze: no captured prediction{window} in {capture} has a ground-truth label in {ground_truth} "
            f"({counters.predictions} prediction(s) in the window, {counters.labels} label(s) read): {json.dumps(counters.as_dict())}"
        )
    try:
        metrics = quality.binary_classification_metrics(quality.labels_of(texts, str(ground_truth)), scores, threshold)
        violations = quality.check(metrics, constraints, str(baseline_constraints))
    except quality.QualityFailed as exc:
        raise AnalysisFailed(str(exc)) from exc
    files: Dict[str, Any] = {
        STATISTICS: quality.statistics_document(metrics, counters.matched, evaluation_time or _now()),
        VIOLATIONS: {"violations": violations},
        REPORT: {"merge": counters.as_dict()},
    }
    values = quality.scalar_metrics(metrics)
    if publish_metrics:
        files[METRICS] = {"namespace": quality.NAMESPACE, "metrics": values}
    _write(output, files)
    return Result("monitoring", output, violations, values, counters.as_dict())


def _read_json_object(path: Path, what: str) -> Dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise AnalysisFailed(f"{what}: {path} does not exist") from exc
    except json.JSONDecodeError as exc:
        raise AnalysisFailed(f"{what}: {path} is not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(document, dict):
        raise AnalysisFailed(f"{what}: {path} is not a JSON object")
    return document


def _threshold(value: Optional[str]) -> float:
    try:
        threshold = float(value) if value not in (None, "") else 0.5
    except ValueError as exc:
        raise AnalysisFailed(f"probability_threshold_attribute {value!r} is not a number") from exc
    if not 0.0 <= threshold <= 1.0:
        raise AnalysisFailed(f"probability_threshold_attribute {threshold} is not between 0 and 1")
    return threshold


def run_from_environment(environ: Mapping[str, str]) -> Result:
    problem = environ.get("problem_type", PROBLEM_TYPE)
    if problem != PROBLEM_TYPE:
        raise AnalysisFailed(f"problem_type {problem!r}: only {PROBLEM_TYPE} is supported")
    source, output = environ.get("dataset_source"), environ.get("output_path")
    if not source or not output:
        raise AnalysisFailed("dataset_source and output_path are required")
    threshold = _threshold(environ.get("probability_threshold_attribute"))
    probability = environ.get("probability_attribute") or "0"
    constraints = environ.get("baseline_constraints")
    if not constraints:
        truth = environ.get("ground_truth_attribute")
        if not truth:
            raise AnalysisFailed("a model-quality baseline needs ground_truth_attribute (and probability_attribute)")
        header = bool((json.loads(environ.get("dataset_format") or '{"csv": {"header": true}}').get("csv") or {}).get("header", False))
        return baseline(Path(source), Path(output), probability, truth, threshold, header=header)
    ground_truth = environ.get("ground_truth_source")
    if not ground_truth:
        raise AnalysisFailed("a model-quality monitoring run needs ground_truth_source (the ground-truth prefix)")
    if not probability.isdigit():
        raise AnalysisFailed(f"probability_attribute {probability!r}: captured CSV output is read by index (0 is the first value)")
    constraints_path = Path(constraints)
    if constraints_path.is_dir():
        constraints_path = constraints_path / CONSTRAINTS
    end = layout.parse_time(environ.get("end_time"))
    return monitor(
        Path(source),
        Path(ground_truth),
        Path(output),
        constraints_path,
        start=layout.parse_time(environ.get("start_time")),
        end=end,
        until=layout.parse_time(environ.get("ground_truth_until")) or end,
        threshold=threshold,
        probability_index=int(probability),
        publish_metrics=environ.get("publish_cloudwatch_metrics", "Disabled") == "Enabled",
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        result = run_from_environment(os.environ)
    except AnalysisFailed as exc:
        print(f"analysis failed: {exc}", file=sys.stderr)
        return 1
    logger.info("%s: %s (%s)", result.kind, result.message, json.dumps(result.counters))
    for item in result.violations:
        logger.info("violation: %s: %s", item["metric_name"], item["description"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
