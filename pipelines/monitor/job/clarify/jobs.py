"""The fairness and explainability job: what SageMaker Clarify's processing job did, as a
processing job of our own (Clarify is closed to new customers since 2026-07-30). It runs from
the analyzer bundle, nothing installed at start::

    python3 monitor-analyzer.pyz bias --dataset DIR --predictions DIR [--train DIR] \\
        --label Label --label-values 0 --facet SEX=2 --facet AGE>40 [--group-variable EDUCATION] \\
        [--probability-threshold 0.5] [--di-band 0.8 1.25] --output DIR
    python3 monitor-analyzer.pyz explain --model DIR --dataset DIR --output DIR

and the two monitors an endpoint's hourly schedule runs (``clarify_monitor.py``), which write
their files to ``{output}/yyyy/mm/dd/hh/`` (the scheduled hour, as the other monitors)::

    python3 monitor-analyzer.pyz bias-monitor --capture s3://.../data-capture/ENDPOINT \\
        --ground-truth s3://.../ground-truth/ENDPOINT --scheduled-time T --constraints URI \\
        --config URI [--start-offset -PT2H --end-offset -PT1H] --endpoint E --schedule S
    python3 monitor-analyzer.pyz attribution-monitor --capture s3://.../data-capture/ENDPOINT \\
        --scheduled-time T --constraints URI --model URI [--threshold 0.9] --endpoint E --schedule S

``bias`` (on the scikit-learn image) reads the test split (``test.csv``: a header, the label
first), the model's probability for each of its rows (``predictions.csv``: ``label,probability``,
the Evaluate step's) and, with ``--train``, the training split (no header, the same columns),
and writes Clarify's ``analysis.json`` (pre-training metrics of the training split, or of the
test split without one; post-training metrics of the test split), ``analysis_config.json`` and
``report.html``, plus ``bias_summary.json``: the lowest and highest disparate impact and the
facet group each belongs to, what the pipeline's gate reads.

A facet is ``NAME=V1,V2`` (those values are the sensitive group), ``NAME>T`` (the rows above
``T``) or ``NAME`` (each value against the rest).

``explain`` (on the built-in XGBoost image, which has xgboost) reads the model
(``model.tar.gz``) and the rows to explain (a CSV with a header, the label first), and writes
``analysis.json``, ``analysis_config.json``, ``explanations_shap/out.csv`` and ``report.html``.

``--constraints`` is the baseline's analysis.json (BiasReport's, Explain's), ``--config`` the
bias baseline's analysis_config.json, ``--model`` the model.tar.gz: an s3:// object or folder,
or a local path. ``attribution-monitor`` runs on the XGBoost image.

A job that cannot produce its result fails with the reason as its ExitMessage (``--message``).
Standard library, numpy and pandas (both images have them); Python 3.8.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from pipelines.core import model_archive
from pipelines.core.fileio import write_text_atomic
from pipelines.monitor.job.clarify import attribution, bias
from pipelines.monitor.job.clarify import monitor as clarify_monitor
from pipelines.monitor.job.common import hours, layout, metrics
from pipelines.monitor.job.common.hours import fetch_capture, fetch_hours, glued
from pipelines.monitor.job.common.objects import Objects
from pipelines.monitor.job.common.result import JobFailed, Result, write_message
from pipelines.monitor.job.html import clarify_report

logger = logging.getLogger("pipelines.monitor.job.clarify.jobs")
MODES = ("bias", "explain", "bias-monitor", "attribution-monitor")
SUMMARY = "bias_summary.json"
_FACET = re.compile(r"^(?P<name>[^=>]+?)(?:(?P<op>[=>])(?P<values>.+))?$")
_LARGEST = sys.float_info.max  # an infinite DI in the summary: JSON has no Infinity


def facet(text: str) -> bias.Facet:
    match = _FACET.match(text.strip())
    if not match:
        raise JobFailed(f"--facet {text!r}: expected NAME=V1,V2, NAME>T or NAME")
    name, op, values = match["name"].strip(), match["op"], match["values"]
    try:
        numbers = tuple(float(v) for v in values.split(",")) if values else ()
    except ValueError as exc:
        raise JobFailed(f"--facet {text!r}: the values must be numbers") from exc
    if op == ">" and len(numbers) != 1:
        raise JobFailed(f"--facet {text!r}: a threshold is one number")
    return bias.Facet(name, tuple(int(v) if v.is_integer() else v for v in numbers), continuous=op == ">")


def config_of(args: argparse.Namespace) -> bias.BiasConfig:
    try:
        values = tuple(int(float(v)) if float(v).is_integer() else float(v) for v in args.label_values.split(","))
    except ValueError as exc:
        raise JobFailed(f"--label-values {args.label_values!r}: the favourable labels must be numbers") from exc
    return bias.BiasConfig(
        label=args.label,
        label_values=values,
        facets=tuple(facet(text) for text in args.facet),
        group_variable=args.group_variable or None,
        probability_threshold=args.probability_threshold,
    )


def _csv(path: Path, header: bool, what: str) -> Any:
    import pandas as pd

    files = sorted(p for p in path.rglob("*.csv") if p.is_file()) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise JobFailed(f"{what}: no CSV file at {path}")
    try:
        return pd.read_csv(files[0], header=0 if header else None)
    except (ValueError, OSError) as exc:
        raise JobFailed(f"{what} {files[0]}: not a readable CSV: {exc}") from exc


def _numbers(frame: Any, what: str) -> Dict[str, np.ndarray]:
    columns = {}
    for name in frame.columns:
        try:
            columns[str(name)] = frame[name].to_numpy(dtype=float)
        except (ValueError, TypeError) as exc:
            raise JobFailed(f"{what}: column {name!r} is not numeric") from exc
    return columns


def read_bias_inputs(args: argparse.Namespace, config: bias.BiasConfig) -> Tuple[bias.Table, bias.Table, List[str]]:
    """(the table of the pre-training metrics, the test table with predictions, the header)."""
    test = _csv(Path(args.dataset), True, "--dataset")
    names = [str(c) for c in test.columns]
    if config.label not in names:
        raise JobFailed(f"--dataset: no label column {config.label!r} (it has: {', '.join(names)})")
    missing = [c for c in config.columns() if c not in names]
    if missing:
        raise JobFailed(f"--dataset: no column {', '.join(repr(m) for m in missing)} for the facets (it has: {', '.join(names)})")
    predictions = _csv(Path(args.predictions), True, "--predictions")
    if "probability" not in predictions.columns or "label" not in predictions.columns:
        raise JobFailed("--predictions: expected the columns label,probability (the Evaluate step's predictions.csv)")
    if len(predictions) != len(test):
        raise JobFailed(f"--predictions has {len(predictions)} rows, --dataset {len(test)}: they must be the same rows in the same order")
    columns = _numbers(test, "--dataset")
    mismatch = np.flatnonzero(predictions["label"].to_numpy(dtype=float) != columns[config.label])
    if len(mismatch):
        raise JobFailed(f"--predictions row {int(mismatch[0]) + 2} has label {predictions['label'].iloc[mismatch[0]]}, --dataset {columns[config.label][mismatch[0]]:g}: not the same rows")
    features = [n for n in names if n != config.label]
    label = bias.favourable(columns[config.label], config)
    predicted = bias.predicted_favourable(predictions["probability"].to_numpy(dtype=float), config)
    after = bias.Table(columns=columns, label=label, predicted=predicted, features=features)
    before = after
    if args.train:
        train = _csv(Path(args.train), False, "--train")
        if train.shape[1] != len(names):
            raise JobFailed(f"--train has {train.shape[1]} columns, --dataset {len(names)}: expected the same columns without a header")
        train.columns = names
        train_columns = _numbers(train, "--train")
        before = bias.Table(columns=train_columns, label=bias.favourable(train_columns[config.label], config))
    return before, after, names


def summary(document: Dict[str, Any], band: Tuple[float, float]) -> Dict[str, Any]:
    """The lowest and highest disparate impact and their facet groups; an undefined DI fails."""
    found = []
    for facet_name, value_or_threshold, value in bias.values(document, "DI"):
        group = f"{facet_name}={value_or_threshold}"
        number = bias.numeric(value)
        if number is None:
            reason = next(
                (m.get("error") for e in document[bias.POST_TRAINING]["facets"][facet_name] if e["value_or_threshold"] == value_or_threshold for m in e["metrics"] if m["name"] == "DI"),
                "no value",
            )  # fmt: skip
            raise JobFailed(f"disparate impact of {group} has no value ({reason}): check the facet's values against the data")
        found.append((min(number, _LARGEST), group))
    if not found:
        raise JobFailed("no facet group to measure")
    lowest, highest = min(found), max(found)
    return {
        "disparate_impact": {
            "band": list(band),
            "lowest": {"value": lowest[0], "group": lowest[1]},
            "highest": {"value": highest[0], "group": highest[1]},
            "within_band": band[0] <= lowest[0] and highest[0] <= band[1],
        }
    }


def run_bias(args: argparse.Namespace) -> str:
    config = config_of(args)
    before, after, names = read_bias_inputs(args, config)
    started = time.perf_counter()
    try:
        document = bias.analysis(bias.pre_training(before, config), bias.post_training(after, config))
    except bias.BiasConfigError as exc:
        raise JobFailed(str(exc)) from exc
    band = (args.di_band[0], args.di_band[1])
    gate = summary(document, band)
    output = Path(args.output)
    write_text_atomic(output / "analysis.json", json.dumps(document, indent=2) + "\n")
    write_text_atomic(output / "analysis_config.json", json.dumps(config.to_dict(names), indent=2) + "\n")
    write_text_atomic(output / SUMMARY, json.dumps(gate, indent=2) + "\n")
    clarify_report.bias_report(output / "report.html", document, band, {"training": len(before), "test": len(after)} if args.train else {"test": len(after)})
    di = gate["disparate_impact"]
    message = (
        f"bias of {len(after)} rows in {time.perf_counter() - started:.2f} s: disparate impact {di['lowest']['value']:.4g} ({di['lowest']['group']}) "
        f"to {di['highest']['value']:.4g} ({di['highest']['group']}), {'within' if di['within_band'] else 'OUTSIDE'} {band[0]:g}-{band[1]:g}"
    )
    logger.info(message)
    return message


def load_booster(model: Path) -> Any:
    """The Booster of ``model.tar.gz`` in ``model`` (a folder or the archive), read in memory
    without trusting it (``model_archive``)."""
    archive = model / model_archive.ARCHIVE_FILE if model.is_dir() else model
    try:
        return model_archive.load_booster(model_archive.read_model(archive), str(archive))
    except model_archive.ArchiveError as exc:
        raise JobFailed(str(exc)) from exc


def run_explain(args: argparse.Namespace) -> str:
    booster = load_booster(Path(args.model))
    frame = _csv(Path(args.dataset), True, "--dataset")
    names = [str(c) for c in frame.columns]
    label = args.label or names[0]
    if label not in names:
        raise JobFailed(f"--dataset: no label column {label!r} (it has: {', '.join(names)})")
    features = [n for n in names if n != label]
    matrix = np.column_stack([_numbers(frame, "--dataset")[n] for n in features])
    started = time.perf_counter()
    values, expected = attribution.shap_values(booster, matrix)
    elapsed = time.perf_counter() - started
    global_shap = attribution.global_values(values, features)
    output = Path(args.output)
    write_text_atomic(output / "analysis.json", json.dumps(attribution.analysis(global_shap, expected), indent=2) + "\n")
    write_text_atomic(output / "analysis_config.json", json.dumps(attribution.config(features, label), indent=2) + "\n")
    write_text_atomic(output / "explanations_shap" / "out.csv", attribution.local_csv(values, features))
    clarify_report.explainability_report(output / "report.html", global_shap, expected, values, matrix, features)
    top = sorted(global_shap.items(), key=lambda item: -item[1])[:3]
    message = f"SHAP of {len(values)} rows in {elapsed:.2f} s; most important: " + ", ".join(f"{n} {v:.3g}" for n, v in top)
    logger.info(message)
    return message


def _json_file(objects: Objects, source: str, name: str, folder: Path) -> Dict[str, Any]:
    """The JSON object ``name`` that ``source`` names: an s3:// object or folder, or a local path."""
    try:
        if source.startswith("s3://"):
            objects.fetch(source, folder)
            path = folder / source.rsplit("/", 1)[1] if (folder / source.rsplit("/", 1)[1]).is_file() else folder / name
        else:
            path = Path(source) / name if Path(source).is_dir() else Path(source)
        document = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise JobFailed(f"baseline {source}: expected {name} there, found nothing") from exc
    except (ValueError, OSError) as exc:
        raise JobFailed(f"baseline {source}: not a JSON file ({exc})") from exc
    if not isinstance(document, dict):
        raise JobFailed(f"baseline {source}: not a JSON object")
    return document


def _scheduled(args: argparse.Namespace) -> Tuple[datetime, datetime, datetime]:
    scheduled = layout.parse_time(args.scheduled_time)
    if scheduled is None:
        raise JobFailed(f"--scheduled-time {args.scheduled_time!r} is not an ISO-8601 time")
    start, end = hours.bounds(scheduled, args.start_offset, args.end_offset)
    return scheduled, start, end


def _publish(args: argparse.Namespace, objects: Objects, namespace: str, data: List[Dict[str, Any]]) -> None:
    if args.publish_metrics == "true" and not objects.local and data:
        import boto3

        sent = metrics.publish(boto3.client("cloudwatch"), data, namespace=namespace)
        logger.info("%d metric(s) to CloudWatch (%s)", sent, namespace)


def _deliver(work: Path, args: argparse.Namespace, scheduled: datetime) -> Path:
    destination = Path(args.output, f"{scheduled:%Y/%m/%d/%H}")
    if destination.exists():
        shutil.rmtree(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(work, destination)
    return destination


def run_bias_monitor(args: argparse.Namespace, objects: Objects) -> Result:
    scheduled, start, end = _scheduled(args)
    until = layout.parse_time(args.ground_truth_until) if args.ground_truth_until else scheduled
    if until is None:
        raise JobFailed(f"--ground-truth-until {args.ground_truth_until!r} is not an ISO-8601 time")
    until = max(until, end)
    with tempfile.TemporaryDirectory(prefix="bias-drift-") as tmp:
        work = Path(tmp)
        constraints = _json_file(objects, args.constraints, "analysis.json", work / "baseline")
        try:
            config = bias.BiasConfig.from_dict(_json_file(objects, args.config, "analysis_config.json", work / "config"), args.config)
        except bias.BiasConfigError as exc:
            raise JobFailed(str(exc)) from exc
        captured = fetch_capture(objects, args.capture, start, end, work / "capture")
        labelled = fetch_hours(objects, args.ground_truth, start, until, work / "ground-truth")
        logger.info("%d capture file(s) for %s - %s, %d ground-truth file(s) collected until %s", captured, start.isoformat(), end.isoformat(), labelled, until.isoformat())
        try:
            result = clarify_monitor.bias_drift(work / "capture", work / "ground-truth", work / "output", constraints, config, start, end, until, args.probability_index,
                                                 rule=args.constraint_rule)  # fmt: skip
        except JobFailed as exc:
            raise JobFailed(str(exc).replace(str(work / "capture"), args.capture).replace(str(work / "ground-truth"), args.ground_truth)) from exc
        document = json.loads((work / "output" / clarify_monitor.ANALYSIS).read_text())
        data = clarify_monitor.bias_metric_data(document, args.endpoint, args.schedule, scheduled)
        clarify_monitor.write_metrics(work / "output", clarify_monitor.BIAS_NAMESPACE, result.metrics)
        _deliver(work / "output", args, scheduled)
    _publish(args, objects, clarify_monitor.BIAS_NAMESPACE, data)
    return result


def run_attribution_monitor(args: argparse.Namespace, objects: Objects) -> Result:
    scheduled, start, end = _scheduled(args)
    with tempfile.TemporaryDirectory(prefix="attribution-drift-") as tmp:
        work = Path(tmp)
        constraints = _json_file(objects, args.constraints, "analysis.json", work / "baseline")
        try:
            names = list(attribution.global_from(constraints))
        except ValueError as exc:
            raise JobFailed(f"baseline {args.constraints}: {exc}") from exc
        model = Path(args.model)
        if args.model.startswith("s3://"):
            if not objects.fetch(args.model, work / "model"):
                raise JobFailed(f"--model {args.model}: no model.tar.gz there")
            model = work / "model"
        booster = load_booster(model)
        captured = fetch_capture(objects, args.capture, start, end, work / "capture")
        logger.info("%d capture file(s) for %s - %s", captured, start.isoformat(), end.isoformat())
        try:
            result = clarify_monitor.attribution_drift(work / "capture", work / "output", constraints, booster, names, start, end, args.threshold, args.probability_index,
                                                        rule=args.constraint_rule)  # fmt: skip
        except JobFailed as exc:
            raise JobFailed(str(exc).replace(str(work / "capture"), args.capture)) from exc
        clarify_monitor.write_metrics(work / "output", clarify_monitor.EXPLAINABILITY_NAMESPACE, result.metrics)
        _deliver(work / "output", args, scheduled)
    _publish(args, objects, clarify_monitor.EXPLAINABILITY_NAMESPACE, clarify_monitor.attribution_metric_data(result.metrics, args.endpoint, args.schedule, scheduled))
    return result


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="monitor-analyzer", description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    run = modes.add_parser("bias", help="Clarify's pre- and post-training bias metrics of the test split")
    run.add_argument("--dataset", default="/opt/ml/processing/input/dataset", help="test.csv: a header, the label first")
    run.add_argument("--predictions", default="/opt/ml/processing/input/predictions", help="predictions.csv: label,probability of the same rows")
    run.add_argument("--train", default=None, help="train.csv (no header, the same columns): the pre-training metrics' data")
    run.add_argument("--label", default="Label")
    run.add_argument("--label-values", default="0", help="the favourable outcome's labels, comma-separated")
    run.add_argument("--facet", action="append", required=True, help="NAME=V1,V2 (the sensitive group's values), NAME>T or NAME")
    run.add_argument("--group-variable", default="", help="the column CDDL and CDDPL are conditioned on")
    run.add_argument("--probability-threshold", type=float, default=0.5)
    run.add_argument("--di-band", type=float, nargs=2, default=[0.8, 1.25], metavar=("LOW", "HIGH"), help="the band disparate impact must stay in")
    explain = modes.add_parser("explain", help="exact SHAP values of an XGBoost model's rows")
    explain.add_argument("--model", default="/opt/ml/processing/model", help="the folder holding model.tar.gz")
    explain.add_argument("--dataset", default="/opt/ml/processing/input/dataset", help="a CSV with a header, the label first")
    explain.add_argument("--label", default="", help="the label column (default: the first)")
    bias_run = modes.add_parser("bias-monitor", help="one window of captured requests merged with ground truth: bias drift against a baseline")
    bias_run.add_argument("--ground-truth", required=True, help="s3://.../ground-truth/ENDPOINT (yyyy/mm/dd/hh folders of when labels were collected)")
    bias_run.add_argument("--ground-truth-until", default="", help="count labels collected until then instead (ISO-8601; a backfill passes the time it runs)")
    bias_run.add_argument("--config", required=True, help="the bias baseline's analysis_config.json: s3://... (the object or its folder) or a local path")
    bias_run.add_argument("--constraint-rule", choices=clarify_monitor.RULES, default="window",
                          help="window: a metric is a violation when worse than the baseline's beyond what the window's size explains; baseline: Clarify's plain rule, any worse")
    attribution_run = modes.add_parser("attribution-monitor", help="one window of captured requests: feature-attribution drift against a baseline")
    attribution_run.add_argument("--model", required=True, help="the model's model.tar.gz: s3://... or a local path")
    attribution_run.add_argument("--threshold", type=float, default=None, help="the nDCG below which the ranking drifted (default 0.9)")
    attribution_run.add_argument("--constraint-rule", choices=clarify_monitor.RULES, default="window",
                                 help="window: Clarify's nDCG check and each feature's attribution beyond what the window's size explains; baseline: Clarify's nDCG check alone")
    for mode, offsets in ((bias_run, ("-PT2H", "-PT1H")), (attribution_run, ("-PT1H", "-PT0H"))):
        mode.add_argument("--capture", required=True, help="s3://.../data-capture/ENDPOINT")
        mode.add_argument("--scheduled-time", required=True)
        mode.add_argument("--start-offset", default=offsets[0])
        mode.add_argument("--end-offset", default=offsets[1])
        mode.add_argument("--constraints", required=True, help="the baseline's analysis.json: s3://... (the object or its folder) or a local path")
        mode.add_argument("--probability-index", type=int, default=0, help="which value of the endpoint's CSV output is the probability")
        mode.add_argument("--endpoint", required=True)
        mode.add_argument("--schedule", required=True)
        mode.add_argument("--publish-metrics", nargs="?", const="true", default="false", choices=("true", "false"))
    for mode in (run, explain, bias_run, attribution_run):
        mode.add_argument("--output", default="/opt/ml/processing/output")
        mode.add_argument("--message", default=None, help="where the ExitMessage goes (/opt/ml/output/message)")
    return parser.parse_args(glued(argv))


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.mode == "bias":
            message = run_bias(args)
        elif args.mode == "explain":
            message = run_explain(args)
        else:
            run = run_bias_monitor if args.mode == "bias-monitor" else run_attribution_monitor
            result = run(args, Objects.from_environment())
            message = result.message
            print(json.dumps({"status": result.status, "violations": len(result.violations)}), file=sys.stderr)
    except JobFailed as exc:
        print(f"analysis failed: {exc}", file=sys.stderr)
        write_message(args.message, str(exc))
        return 1
    write_message(args.message, message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
