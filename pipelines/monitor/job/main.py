"""The monitoring job: what Model Monitor's container did, as a processing job of our own.

Model Monitor is closed to new customers (since 2026-07-30); this job is its replacement on
AWS, and the same code the local twin runs. It runs from the analyzer bundle (``bundle.py``)
on SageMaker's stock scikit-learn image, nothing installed at start::

    python3 monitor-analyzer.pyz baseline --dataset DIR --output DIR
    python3 monitor-analyzer.pyz monitor --capture s3://.../data-capture/ENDPOINT \\
        --scheduled-time 2026-12-01T10:00:00Z --statistics URI --constraints URI \\
        --output /opt/ml/processing/output --endpoint ENDPOINT --schedule SCHEDULE \\
        [--start-offset -PT1H --end-offset -PT0H] [--publish-metrics] [--message FILE]

and the same for model quality (``model_quality.py``: captured predictions merged with ground
truth by inference id)::

    python3 monitor-analyzer.pyz quality-baseline --dataset DIR --output DIR \\
        --probability-attribute probability --ground-truth-attribute label [--threshold 0.5] \\
        [--constraint-rule window --window-rows 500 --false-alarm-rate 0.01]
    python3 monitor-analyzer.pyz quality-monitor --capture s3://.../data-capture/ENDPOINT \\
        --ground-truth s3://.../ground-truth/ENDPOINT --scheduled-time T --constraints URI \\
        [--start-offset -PT2H --end-offset -PT1H] [--threshold 0.5] [--probability-index 0] ...

``baseline`` writes statistics.json and constraints.json (and analysis_report.json) into
``--output``, as the container's baselining job did. ``monitor`` analyses the window
``[t + start, t + end)`` (by default the hour before ``t``): it fetches only the capture hours
that overlap it, from every variant, writes statistics.json, constraint_violations.json,
cloudwatch_metrics.json, analysis_report.json and report.html to ``{output}/yyyy/mm/dd/hh/``
(``t``'s hour, Model Monitor's layout; ``--output`` is a ProcessingOutput's folder, so
SageMaker uploads it, with the job's KMS key, under the schedule's prefix), and publishes
the metrics to CloudWatch as Model Monitor did (``metrics.py``). A window with no data fails as Model Monitor's did: exit 1, the
reason in ``--message`` (``/opt/ml/output/message``, the job's ExitMessage). A capture file
that arrives late is analysed by the next run of its hour (a backfill).

Standard library, numpy, pyarrow, scipy and boto3: Python 3.9, as on the image.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

from pipelines.monitor.job.common import hours, layout, metrics, process
from pipelines.monitor.job.common.hours import fetch_capture, fetch_hours, glued
from pipelines.monitor.job.common.objects import Objects
from pipelines.monitor.job.common.result import CONSTRAINTS, STATISTICS, JobFailed, Result, write_message
from pipelines.monitor.job.data_quality import analyzer
from pipelines.monitor.job.html import report
from pipelines.monitor.job.model_quality import analysis as model_quality
from pipelines.monitor.job.model_quality import estimate, quality

logger = logging.getLogger("pipelines.monitor.job.main")


def baseline_file(objects: Objects, source: str, name: str, folder: Path) -> Path:
    """The baseline file ``name`` that ``source`` names: an s3:// object or folder (read as a
    ProcessingInput would read it), or a local file or folder."""
    try:
        if source.startswith("s3://"):
            objects.fetch(source, folder)
            return analyzer.baseline_file(folder, name, source)
        return analyzer.baseline_file(Path(source), name, source)
    except JobFailed as exc:
        raise JobFailed(str(exc)) from exc
    except ValueError as exc:  # not an s3://bucket/key URI
        raise JobFailed(f"baseline {source}: {exc}") from exc


def calibration_file(objects: Objects, constraints: str, folder: Path) -> Optional[Path]:
    """The baseline's calibration.json beside its constraints.json, when it has one (a
    model-quality baseline of this job writes it; Model Monitor's does not)."""
    name = estimate.CALIBRATION
    if constraints.startswith("s3://"):
        sibling = constraints.rsplit("/", 1)[0] + "/" + name if constraints.endswith(".json") else constraints.rstrip("/") + "/" + name
        try:
            objects.fetch(sibling, folder)
        except (JobFailed, ValueError):
            return None
        found = folder / name
        return found if found.is_file() else None
    local = Path(constraints)
    found = (local.parent if local.suffix == ".json" else local) / name
    return found if found.is_file() else None


def run_monitor(args: argparse.Namespace, objects: Objects) -> Result:
    scheduled = layout.parse_time(args.scheduled_time)
    if scheduled is None:
        raise JobFailed(f"--scheduled-time {args.scheduled_time!r} is not an ISO-8601 time")
    start, end = hours.bounds(scheduled, args.start_offset, args.end_offset)
    with tempfile.TemporaryDirectory(prefix="monitoring-") as tmp:
        work = Path(tmp)
        statistics = baseline_file(objects, args.statistics, STATISTICS, work / "baseline" / "statistics")
        constraints = baseline_file(objects, args.constraints, CONSTRAINTS, work / "baseline" / "constraints")
        fetched = fetch_capture(objects, args.capture, start, end, work / "capture")
        logger.info("%d capture file(s) for %s - %s under %s", fetched, start.isoformat(), end.isoformat(), args.capture)
        try:
            result = analyzer.monitor(work / "capture", work / "output", statistics, constraints, capture=True, start=start, end=end, publish_metrics=True)
        except JobFailed as exc:  # named by the capture's URI, not the job's scratch folder
            raise JobFailed(str(exc).replace(str(work / "capture"), args.capture)) from exc
        report.execution_report(work / "output", statistics, schedule=args.schedule, endpoint=args.endpoint, scheduled=scheduled, window=(start, end), status=result.status)
        destination = Path(args.output, f"{scheduled:%Y/%m/%d/%H}")
        if destination.exists():
            shutil.rmtree(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(work / "output", destination)
        logger.info("%s: %d file(s) in %s", result.message, sum(1 for p in destination.iterdir()), destination)
    if args.publish_metrics == "true" and not objects.local:
        import boto3

        sent = metrics.publish(boto3.client("cloudwatch"), metrics.metric_data(result.metrics, args.endpoint, args.schedule, scheduled))
        logger.info("%d metric(s) to CloudWatch (%s)", sent, metrics.NAMESPACE)
    return result


def run_quality(args: argparse.Namespace, objects: Objects) -> Result:
    """One window of captured predictions merged with the labels collected from its start until
    the scheduled time, against the model-quality constraints."""
    scheduled = layout.parse_time(args.scheduled_time)
    if scheduled is None:
        raise JobFailed(f"--scheduled-time {args.scheduled_time!r} is not an ISO-8601 time")
    start, end = hours.bounds(scheduled, args.start_offset, args.end_offset)
    until = layout.parse_time(args.ground_truth_until) if args.ground_truth_until else scheduled
    if until is None:
        raise JobFailed(f"--ground-truth-until {args.ground_truth_until!r} is not an ISO-8601 time")
    until = max(until, end)
    with tempfile.TemporaryDirectory(prefix="model-quality-") as tmp:
        work = Path(tmp)
        constraints = baseline_file(objects, args.constraints, CONSTRAINTS, work / "baseline")
        calibration = calibration_file(objects, args.constraints, work / "calibration")
        captured = fetch_capture(objects, args.capture, start, end, work / "capture")
        labelled = fetch_hours(objects, args.ground_truth, start, until, work / "ground-truth")
        logger.info("%d capture file(s) for %s - %s, %d ground-truth file(s) collected until %s", captured, start.isoformat(), end.isoformat(), labelled, until.isoformat())
        try:
            result = model_quality.monitor(work / "capture", work / "ground-truth", work / "output", constraints, start, end, until=until,
                                           threshold=args.threshold, probability_index=args.probability_index, publish_metrics=True,
                                           calibration=calibration)  # fmt: skip
        except JobFailed as exc:
            raise JobFailed(str(exc).replace(str(work / "capture"), args.capture).replace(str(work / "ground-truth"), args.ground_truth)) from exc
        destination = Path(args.output, f"{scheduled:%Y/%m/%d/%H}")
        if destination.exists():
            shutil.rmtree(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(work / "output", destination)
    if args.publish_metrics == "true" and not objects.local:
        import boto3

        data = metrics.metric_data(result.metrics, args.endpoint, args.schedule, scheduled, every=True)
        sent = metrics.publish(boto3.client("cloudwatch"), data, namespace=quality.NAMESPACE)
        logger.info("%d metric(s) to CloudWatch (%s)", sent, quality.NAMESPACE)
    return result


def parse_args(argv: List[str]) -> argparse.Namespace:
    argv = glued(argv)
    parser = argparse.ArgumentParser(prog="monitor-analyzer", description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    base = modes.add_parser("baseline", help="statistics.json and constraints.json of a dataset")
    base.add_argument("--dataset", default="/opt/ml/processing/input/baseline_dataset_input")
    base.add_argument("--output", default="/opt/ml/processing/output")
    base.add_argument("--no-header", action="store_true", help="the CSV has no header row")
    run = modes.add_parser("monitor", help="one window of an endpoint's capture against a baseline")
    run.add_argument("--capture", required=True, help="s3://.../data-capture/ENDPOINT")
    run.add_argument("--scheduled-time", required=True)
    run.add_argument("--start-offset", default="-PT1H")
    run.add_argument("--end-offset", default="-PT0H")
    run.add_argument("--statistics", required=True, help="statistics.json: s3://... (the object or its folder) or a local path")
    run.add_argument("--constraints", required=True, help="constraints.json: s3://... (the object or its folder) or a local path")
    run.add_argument("--output", default="/opt/ml/processing/output", help="the folder SageMaker uploads to s3://.../monitoring/ENDPOINT/SCHEDULE (a ProcessingOutput)")
    run.add_argument("--endpoint", required=True)
    run.add_argument("--schedule", required=True)
    run.add_argument("--publish-metrics", nargs="?", const="true", default="false", choices=("true", "false"), help="to CloudWatch (a pipeline parameter passes true or false)")
    qbase = modes.add_parser("quality-baseline", help="model-quality statistics.json and constraints.json of labelled predictions")
    qbase.add_argument("--dataset", default="/opt/ml/processing/input/baseline_dataset_input")
    qbase.add_argument("--output", default="/opt/ml/processing/output")
    qbase.add_argument("--probability-attribute", default="probability", help="the probability's column")
    qbase.add_argument("--ground-truth-attribute", default="label", help="the label's column")
    qbase.add_argument("--constraint-rule", choices=model_quality.RULES, default="window",
                       help="window: thresholds a clean window of --window-rows rows breaks with probability --false-alarm-rate; baseline: AWS's plain rule, the baseline's own values")
    qbase.add_argument("--window-rows", type=int, default=quality.WINDOW_ROWS, help="labelled rows a monitoring window is expected to hold")
    qbase.add_argument("--false-alarm-rate", type=float, default=quality.FALSE_ALARM_RATE, help="the share of clean windows allowed to violate any constraint")
    quality_run = modes.add_parser("quality-monitor", help="one window of captured predictions merged with ground truth, against a baseline")
    quality_run.add_argument("--capture", required=True, help="s3://.../data-capture/ENDPOINT")
    quality_run.add_argument("--ground-truth", required=True, help="s3://.../ground-truth/ENDPOINT (yyyy/mm/dd/hh folders of when labels were collected)")
    quality_run.add_argument("--scheduled-time", required=True)
    quality_run.add_argument("--start-offset", default="-PT2H", help="the window's start; labels collected from it until the scheduled time count")
    quality_run.add_argument("--ground-truth-until", default="", help="count labels collected until then instead (ISO-8601; a backfill passes the time it runs)")
    quality_run.add_argument("--end-offset", default="-PT1H")
    quality_run.add_argument("--constraints", required=True, help="the model-quality constraints.json: s3://... (the object or its folder) or a local path")
    quality_run.add_argument("--probability-index", type=int, default=0, help="which value of the endpoint's CSV output is the probability")
    quality_run.add_argument("--output", default="/opt/ml/processing/output")
    quality_run.add_argument("--endpoint", required=True)
    quality_run.add_argument("--schedule", required=True)
    quality_run.add_argument("--publish-metrics", nargs="?", const="true", default="false", choices=("true", "false"))
    for mode in (qbase, quality_run):
        mode.add_argument("--threshold", type=float, default=0.5, help="a probability at or above it is a positive prediction")
    for mode in (base, run, qbase, quality_run):
        mode.add_argument("--message", default=None, help="where the ExitMessage goes (/opt/ml/output/message)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    if argv is None:  # the job's own process (the bundle's __main__), not a caller's
        process.without_pandas()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.mode == "baseline":
            result = analyzer.baseline(Path(args.dataset), Path(args.output), header=not args.no_header)
        elif args.mode == "quality-baseline":
            result = model_quality.baseline(Path(args.dataset), Path(args.output), args.probability_attribute, args.ground_truth_attribute, args.threshold,
                                            rule=args.constraint_rule, window_rows=args.window_rows, false_alarm_rate=args.false_alarm_rate)  # fmt: skip
        elif args.mode == "quality-monitor":
            result = run_quality(args, Objects.from_environment())
        else:
            result = run_monitor(args, Objects.from_environment())
    except JobFailed as exc:
        print(f"analysis failed: {exc}", file=sys.stderr)
        write_message(args.message, str(exc))
        return 1
    write_message(args.message, result.message)
    print(json.dumps({"status": result.status, "violations": len(result.violations), "counters": result.counters}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
