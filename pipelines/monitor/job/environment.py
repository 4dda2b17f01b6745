"""The environment contract of SageMaker's model-monitor-analyzer container.

``python -m pipelines.monitor.job.environment`` is that image's program on the local twin (the
QualityCheck handler runs it): a definition's QualityCheck, or a monitoring job written for
Model Monitor, runs as written. The variables, as the container and the SDK's monitors set them:

    analysis_type              MODEL_QUALITY for the model-quality analysis; else data quality
    dataset_format             {"csv": {"header": true, "output_columns_position": "START"}}
                               or {"sagemakerCaptureJson": {...}} for captured traffic
    dataset_source             a file or directory with the data
    output_path                where the files are written
    baseline_statistics        (data-quality monitoring) the baseline's statistics.json
    baseline_constraints       (monitoring) the baseline's constraints.json
    start_time, end_time       (monitoring) the analysis window, ISO-8601
    publish_cloudwatch_metrics Enabled: cloudwatch_metrics.json is written
  model quality also:
    problem_type                     BinaryClassification (the only one supported here)
    probability_attribute            the probability's column (name, or index without a header)
    ground_truth_attribute           the label's column (baseline)
    probability_threshold_attribute  at or above it a prediction is positive (default 0.5)
    ground_truth_source              (monitoring) the ground-truth prefix (a local folder)
    ground_truth_until               (monitoring) labels collected until then (default end_time)

Without baseline files it suggests a baseline; with them it checks the data. An empty dataset
or window is a failure with a reason, as in SageMaker. Exit codes: 0 done (violations or not),
1 failed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Mapping, Optional

from pipelines.monitor.job.common import layout, process
from pipelines.monitor.job.common.result import CONSTRAINTS, STATISTICS, JobFailed, Result

logger = logging.getLogger("pipelines.monitor.job.environment")
CAPTURE_FORMAT = "sagemakerCaptureJson"
PROBLEM_TYPE = "BinaryClassification"


def resolve_file(value: Optional[str], name: str) -> Optional[Path]:
    """A baseline file given as a file or as the directory holding it."""
    if not value:
        return None
    path = Path(value)
    return path / name if path.is_dir() else path


def run(environ: Mapping[str, str]) -> Result:
    """The analysis the variables ask for."""
    if environ.get("analysis_type") == "MODEL_QUALITY":
        return _model_quality(environ)
    return _data_quality(environ)


def _data_quality(environ: Mapping[str, str]) -> Result:
    from pipelines.monitor.job.data_quality import analyzer

    try:
        dataset_format = json.loads(environ.get("dataset_format") or '{"csv": {"header": true}}')
    except json.JSONDecodeError as exc:
        raise JobFailed(f"dataset_format is not JSON: {exc.msg}") from exc
    source = environ.get("dataset_source")
    output = environ.get("output_path")
    if not source or not output:
        raise JobFailed("dataset_source and output_path are required")
    statistics_file = resolve_file(environ.get("baseline_statistics"), STATISTICS)
    constraints_file = resolve_file(environ.get("baseline_constraints"), CONSTRAINTS)
    capture = CAPTURE_FORMAT in dataset_format
    header = bool((dataset_format.get("csv") or {}).get("header", False))
    if statistics_file is None and constraints_file is None:
        return analyzer.baseline(Path(source), Path(output), header=header)
    if statistics_file is None or constraints_file is None:
        raise JobFailed("a monitoring run needs both baseline_statistics and baseline_constraints")
    return analyzer.monitor(
        Path(source),
        Path(output),
        statistics_file,
        constraints_file,
        capture=capture,
        header=header,
        start=layout.parse_time(environ.get("start_time")),
        end=layout.parse_time(environ.get("end_time")),
        publish_metrics=environ.get("publish_cloudwatch_metrics", "Disabled") == "Enabled",
    )


def _model_quality(environ: Mapping[str, str]) -> Result:
    from pipelines.monitor.job.model_quality import analysis

    problem = environ.get("problem_type", PROBLEM_TYPE)
    if problem != PROBLEM_TYPE:
        raise JobFailed(f"problem_type {problem!r}: only {PROBLEM_TYPE} is supported")
    source, output = environ.get("dataset_source"), environ.get("output_path")
    if not source or not output:
        raise JobFailed("dataset_source and output_path are required")
    threshold = analysis.threshold_of(environ.get("probability_threshold_attribute"))
    probability = environ.get("probability_attribute") or "0"
    constraints = environ.get("baseline_constraints")
    if not constraints:
        truth = environ.get("ground_truth_attribute")
        if not truth:
            raise JobFailed("a model-quality baseline needs ground_truth_attribute (and probability_attribute)")
        header = bool((json.loads(environ.get("dataset_format") or '{"csv": {"header": true}}').get("csv") or {}).get("header", False))
        return analysis.baseline(Path(source), Path(output), probability, truth, threshold, header=header)
    ground_truth = environ.get("ground_truth_source")
    if not ground_truth:
        raise JobFailed("a model-quality monitoring run needs ground_truth_source (the ground-truth prefix)")
    if not probability.isdigit():
        raise JobFailed(f"probability_attribute {probability!r}: captured CSV output is read by index (0 is the first value)")
    end = layout.parse_time(environ.get("end_time"))
    return analysis.monitor(
        Path(source),
        Path(ground_truth),
        Path(output),
        resolve_file(constraints, CONSTRAINTS) or Path(constraints),
        start=layout.parse_time(environ.get("start_time")),
        end=end,
        until=layout.parse_time(environ.get("ground_truth_until")) or end,
        threshold=threshold,
        probability_index=int(probability),
        publish_metrics=environ.get("publish_cloudwatch_metrics", "Disabled") == "Enabled",
    )


def main() -> int:
    process.without_pandas()  # this is the program's own process (python -m)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        result = run(os.environ)
    except JobFailed as exc:
        print(f"analysis failed: {exc}", file=sys.stderr)
        return 1
    logger.info("%s: %s (%s)", result.kind, result.message, json.dumps(result.counters))
    for item in result.violations:
        logger.info("violation: %s %s: %s", item.get("feature_name", item.get("metric_name")), item["constraint_check_type"], item["description"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
