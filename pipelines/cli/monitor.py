"""``mlops monitor``: baselines, schedules, executions, violations, alarms and reports."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from pipelines.cli.context import Settings
from pipelines.core.errors import UsageError
from pipelines.local.store import ObjectStore, is_s3
from pipelines.monitor import queries, types
from pipelines.monitor.job.common import layout
from pipelines.monitor.job.common.result import JobFailed
from pipelines.monitor.scheduler import Monitor
from pipelines.monitor.schedules import HOURLY, iso, utcnow
from pipelines.monitoring.local import PipelineJob
from pipelines.runs.retraining import LocalRetrainer
from pipelines.serving import deploy


def _monitor(obj: Settings, wait_for_retraining: bool = False) -> Monitor:
    home = obj.home
    return Monitor(home, retrainer=LocalRetrainer(home, wait=wait_for_retraining), job=PipelineJob(home))


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    moment = layout.parse_time(value)
    if moment is None:
        raise UsageError(f"{option}: {value!r} is not an ISO-8601 time such as 2026-11-20T13:00:00Z")
    return moment


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


@click.group("monitor", help="Drift monitoring in Model Monitor's formats, run by the monitoring pipeline: baselines, schedules, executions, violations, drift alarms.", epilog="Example:\n\n  mlops monitor schedule list\n\n  mlops monitor violations")
def group() -> None:
    pass


@group.command("baseline", help="Suggest a baseline (statistics.json, constraints.json) from a CSV with a header, output column first.", epilog="Example:\n\n  mlops monitor baseline --dataset baseline.csv --output s3://bucket/baselines/manual")
@click.option("--dataset", "source", required=True, type=click.Path(exists=True, path_type=Path), help="CSV file, or a directory of them")
@click.option("--output", required=True, help="a directory, or an s3:// URI in the local store")
@click.pass_obj
def baseline(obj: Settings, source: Path, output: str) -> None:
    from pipelines.monitor.job.data_quality import analyzer  # numpy and pyarrow: for this command only

    home = obj.home
    store = ObjectStore(home.store)
    target = store.path(output) if is_s3(output) else Path(output)
    try:
        result = analyzer.baseline(source, target)
    except JobFailed as exc:
        raise UsageError(str(exc)) from exc
    click.echo(f"{result.message} {result.counters['rows']} rows -> {output}/statistics.json, {output}/constraints.json")


# -- schedules -------------------------------------------------------------------------------
@group.group(
    "schedule",
    help="Create and manage monitoring schedules.",
    epilog=f"Example:\n\n  mlops monitor schedule create --name credit-hourly --endpoint credit-default-staging --baseline-statistics s3://b/baselines/x/statistics.json --baseline-constraints s3://b/baselines/x/constraints.json --cron '{HOURLY}'",
)
def schedule() -> None:
    pass


@schedule.command(
    "create",
    help=(
        "Create a monitoring schedule for an endpoint: data quality (the capture against a data-quality baseline), model quality (captured predictions merged with "
        "ground truth, against model-quality constraints), bias (the same merge, Clarify's bias metrics against the BiasReport's analysis.json) or feature attribution "
        "(SHAP of the captured requests against the Explain step's analysis.json)."
    ),
    epilog=(
        f"Examples:\n\n  mlops monitor schedule create --name credit-hourly --endpoint credit-default-staging --baseline-statistics URI --baseline-constraints URI --cron '{HOURLY}'"
        "\n\n  mlops monitor schedule create --type model-quality --name credit-quality --endpoint credit-default-staging --baseline-statistics MQ_STATS_URI --baseline-constraints MQ_CONSTRAINTS_URI"
        "\n\n  mlops monitor schedule create --type bias --name credit-bias --endpoint credit-default-staging --baseline-config BIAS_CONFIG_URI --baseline-constraints BIAS_ANALYSIS_URI"
    ),
)
@click.option("--name", required=True)
@click.option("--endpoint", required=True)
@click.option("--type", "kind", default="data-quality", show_default=True, help=f"what the schedule monitors: {', '.join(t.slug for t in types.TABLE)}")
@click.option("--baseline-statistics", default=None, help="(data and model quality) statistics.json (s3:// URI in the store, or a path): the data-quality or the model-quality baseline's")
@click.option("--baseline-config", default=None, help="(bias, feature attribution) the baseline's analysis_config.json")
@click.option("--baseline-constraints", required=True, help="constraints.json (s3:// URI in the store, or a path); for bias and feature attribution the baseline's analysis.json")
@click.option("--cron", "expression", default=HOURLY, show_default=True, help="cron(0 * ? * * *), cron(0 H ? * * *), cron(0 H/X ? * * *) or NOW")
@click.option("--capture", default=None, help="the data-capture destination (default: the deployed endpoint's)")
@click.option("--ground-truth", default=None, help="(model quality) the ground truth's prefix: labels under {prefix}/{endpoint}/yyyy/mm/dd/hh/ (default: beside the capture, .../ground-truth)")
@click.option("--output", default=None, help="where reports go: {output}/{endpoint}/{schedule}/yyyy/mm/dd/hh/ (default: beside the capture, .../monitoring)")
@click.option("--start-offset", default=None, help="DataAnalysisStartTime, e.g. -PT1H (model quality: -PT2H by default)")
@click.option("--end-offset", default=None, help="DataAnalysisEndTime, e.g. -PT0H (model quality: -PT1H by default)")
@click.option("--json", "as_json", is_flag=True, help="DescribeMonitoringSchedule's shape")
@click.pass_obj
def schedule_create(
    obj: Settings, name: str, endpoint: str, kind: str, baseline_statistics: str | None, baseline_config: str | None, baseline_constraints: str, expression: str,
    capture: str | None, ground_truth: str | None, output: str | None, start_offset: str | None, end_offset: str | None, as_json: bool,
) -> None:  # fmt: skip
    row = types.by_slug(kind)
    clarify = row.clarify
    given, missing = (baseline_statistics, "--baseline-config") if clarify else (baseline_config, "--baseline-statistics")
    if given is not None:
        raise UsageError(f"--type {kind} takes {missing}, not {'--baseline-statistics' if clarify else '--baseline-config'}")
    baseline_statistics = baseline_config if clarify else baseline_statistics
    if baseline_statistics is None:
        raise UsageError(f"--type {kind} needs {missing}")
    if capture is None:
        try:
            capture = deploy.capture_of(obj.home, endpoint)
        except UsageError as exc:
            raise UsageError(f"--capture: {exc}; deploy it first, or give --capture") from exc
    output = output or deploy.monitoring_destination(capture)
    if row.ground_truth:
        ground_truth = ground_truth or deploy.ground_truth_destination(capture)
    elif ground_truth:
        raise UsageError("--ground-truth is for " + " and ".join(f"--type {t.slug}" for t in types.TABLE if t.ground_truth))
    monitor = _monitor(obj)
    try:
        described = monitor.schedules.create_schedule(name, endpoint, expression, capture, baseline_statistics, baseline_constraints, output, start_offset, end_offset, row.name, ground_truth)
    finally:
        monitor.close()
    _echo_json(described) if as_json else click.echo(f"created {described['MonitoringScheduleArn']} ({expression})")


@schedule.command("list", help="Every schedule.", epilog="Example:\n\n  mlops monitor schedule list --json")
@click.option("--endpoint", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def schedule_list(obj: Settings, endpoint: str | None, as_json: bool) -> None:
    monitor = _monitor(obj)
    try:
        items = monitor.schedules.list_schedules(endpoint)
    finally:
        monitor.close()
    if as_json:
        _echo_json({"MonitoringScheduleSummaries": items})
        return
    if not items:
        click.echo("no monitoring schedules; create one with `mlops monitor schedule create`")
    for item in items:
        click.echo(f"{item['MonitoringScheduleName']:<28} {item['MonitoringScheduleStatus']:<10} {item['EndpointName']}")


@schedule.command("describe", help="One schedule, in DescribeMonitoringSchedule's shape.", epilog="Example:\n\n  mlops monitor schedule describe credit-hourly")
@click.argument("name")
@click.pass_obj
def schedule_describe(obj: Settings, name: str) -> None:
    monitor = _monitor(obj)
    try:
        _echo_json(monitor.schedules.describe_schedule(name))
    finally:
        monitor.close()


def _set_status(obj: Settings, name: str, status: str) -> None:
    monitor = _monitor(obj)
    try:
        monitor.schedules.set_status(name, status)
    finally:
        monitor.close()
    click.echo(f"{name}: {status}")


@schedule.command("stop", help="Stop a schedule (no executions until started again).", epilog="Example:\n\n  mlops monitor schedule stop credit-hourly")
@click.argument("name")
@click.pass_obj
def schedule_stop(obj: Settings, name: str) -> None:
    _set_status(obj, name, "Stopped")


@schedule.command("start", help="Start a stopped schedule.", epilog="Example:\n\n  mlops monitor schedule start credit-hourly")
@click.argument("name")
@click.pass_obj
def schedule_start(obj: Settings, name: str) -> None:
    _set_status(obj, name, "Scheduled")


@schedule.command("delete", help="Delete a schedule, its execution records and alarms (reports stay).", epilog="Example:\n\n  mlops monitor schedule delete credit-hourly")
@click.argument("name")
@click.pass_obj
def schedule_delete(obj: Settings, name: str) -> None:
    monitor = _monitor(obj)
    try:
        monitor.schedules.delete_schedule(name)
    finally:
        monitor.close()
    click.echo(f"deleted {name}")


# -- running ---------------------------------------------------------------------------------
def _print_outcomes(outcomes: list[Any]) -> None:
    for outcome in outcomes:
        detail = f"{outcome.violations} violation(s)" if outcome.status != "Failed" else outcome.failure_reason
        click.echo(f"{iso(outcome.scheduled)} {outcome.schedule:<24} {outcome.status:<24} {detail}")


@group.command(
    "scheduler", help="Run due executions (each analyses the previous full hour); with --once, once and exit.", epilog="Examples:\n\n  mlops monitor scheduler --once\n\n  mlops monitor scheduler --backfill-from 2026-11-20T00:00:00Z --once"
)
@click.option("--once", is_flag=True, help="run what is due now, then exit")
@click.option("--interval", type=click.FloatRange(min=1), default=60, show_default=True, help="seconds between checks")
@click.option("--now", "now_text", default=None, help="the time to act as (ISO-8601), for replaying past hours")
@click.option("--backfill-from", default=None, help="also run the executions due after this time that never ran")
@click.option("--wait-for-retraining", is_flag=True, help="when an alarm starts retraining, wait for that run to end")
@click.pass_obj
def scheduler(obj: Settings, once: bool, interval: float, now_text: str | None, backfill_from: str | None, wait_for_retraining: bool) -> None:
    monitor = _monitor(obj, wait_for_retraining)
    backfill = _moment(backfill_from, "--backfill-from")
    try:
        while True:
            now = _moment(now_text, "--now") or utcnow()
            outcomes = monitor.run_due(now=now, backfill_from=backfill)
            _print_outcomes(outcomes)
            backfill = None
            if once:
                if not outcomes:
                    scheduled = [s for s in monitor.schedules.list_schedules() if s["MonitoringScheduleStatus"] == "Scheduled"]
                    click.echo(f"nothing due at {iso(now)}: " + (f"{len(scheduled)} schedule(s) ran every execution due so far" if scheduled else "no schedule is Scheduled (mlops monitor schedule create)"))
                return
            time.sleep(interval)
    finally:
        monitor.close()


@group.command(
    "run",
    help=(
        "Run one monitoring execution now, on a window of your choice. Its scheduled time is --end (model quality: --end plus the schedule's lag, "
        "an hour by default); if that time already ran, this execution replaces it (a backfill, e.g. after capture or labels arrived late; "
        "model quality then counts the labels collected until now)."
    ),
    epilog="Example:\n\n  mlops monitor run --endpoint credit-default-staging --start 2026-11-20T12:00:00Z --end 2026-11-20T13:00:00Z",
)
@click.option("--endpoint", default=None, help="the endpoint whose schedule to use")
@click.option("--schedule", "schedule_name", default=None, help="the schedule (needed when the endpoint has several)")
@click.option("--start", "start_text", required=True)
@click.option("--end", "end_text", required=True)
@click.pass_obj
def run(obj: Settings, endpoint: str | None, schedule_name: str | None, start_text: str, end_text: str) -> int:
    start, end = _moment(start_text, "--start"), _moment(end_text, "--end")
    assert start is not None and end is not None
    if start >= end:
        raise UsageError("--start must come before --end")
    monitor = _monitor(obj)
    try:
        outcome = monitor.run_window(start, end, endpoint=endpoint, schedule=schedule_name)
    finally:
        monitor.close()
    _print_outcomes([outcome])
    if outcome.report:
        click.echo(f"report: {outcome.report}/report.html")
    return 0 if outcome.status != "Failed" else 1


@group.command("executions", help="Monitoring executions, newest first (ListMonitoringExecutions).", epilog="Example:\n\n  mlops monitor executions --schedule credit-hourly --json")
@click.option("--schedule", "schedule_name", default=None)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def executions(obj: Settings, schedule_name: str | None, limit: int, as_json: bool) -> None:
    monitor = _monitor(obj)
    try:
        items = monitor.schedules.list_executions(schedule_name, limit)
    finally:
        monitor.close()
    if as_json:
        _echo_json({"MonitoringExecutionSummaries": items})
        return
    for item in items:
        detail = item.get("FailureReason") or f"{item.get('Violations', 0)} violation(s)"
        click.echo(f"{item['ScheduledTime']} {item['MonitoringScheduleName']:<24} {item['MonitoringExecutionStatus']:<24} {detail}")


@group.command("violations", help="The latest execution's violations, as a table.", epilog="Example:\n\n  mlops monitor violations --schedule credit-hourly")
@click.option("--schedule", "schedule_name", default=None)
@click.option("--execution", "execution_id", type=int, default=None)
@click.option("--json", "as_json", is_flag=True, help="constraint_violations.json as written")
@click.pass_obj
def violations(obj: Settings, schedule_name: str | None, execution_id: int | None, as_json: bool) -> None:
    frame = queries.violations_frame(obj.home, schedule_name, execution_id)
    if as_json:
        _echo_json({"violations": frame.to_dict(orient="records")})
        return
    click.echo(f"{frame.attrs['schedule']} at {frame.attrs['scheduled_time']}: {frame.attrs['status']}")
    if frame.empty:
        click.echo("no violations")
        return
    import pandas as pd

    with pd.option_context("display.max_colwidth", 90, "display.width", 200):
        click.echo(frame.to_string(index=False))


# -- alarms ----------------------------------------------------------------------------------
@group.group("alarm", help="Drift alarms: a threshold on a feature's drift over N executions starts retraining.", epilog="Example:\n\n  mlops monitor alarm create --name drift --schedule credit-hourly --feature '*' --threshold 0.1 --periods 2")
def alarm() -> None:
    pass


@alarm.command(
    "create",
    help="Alarm when the drift of a feature (or any: *) exceeds a threshold N executions in a row, or (a model-quality schedule) when a metric such as auc falls below its threshold; retrain then.",
    epilog=(
        "Examples:\n\n  mlops monitor alarm create --name limit-drift --schedule credit-hourly --feature LIMIT_BAL --threshold 0.2 --periods 2"
        "\n\n  mlops monitor alarm create --name auc-drop --schedule credit-quality --metric auc --threshold 0.7 --periods 2"
    ),
)
@click.option("--name", required=True)
@click.option("--schedule", "schedule_name", required=True)
@click.option("--feature", default=None, help="(data quality) a feature name, or * for any [default: *]")
@click.option(
    "--metric",
    default=None,
    help=(
        "(model quality) auc, accuracy, f1, precision, recall, ... (lower is worse), false_positive_rate, false_negative_rate (higher is worse); "
        "(bias) bias_metric_DI.SEX=2 (lower is worse), bias_metric_DPPL.SEX=2 ...; (feature attribution) feature_attribution_ndcg (lower is worse), feature_MARRIAGE ..."
    ),
)
@click.option("--threshold", type=float, default=None, help="drift above it breaches [default: 0.1]; a metric worse than it breaches [default: the schedule's constraint for it]")
@click.option("--periods", type=click.IntRange(min=1), default=2, show_default=True, help="breaching executions in a row")
@click.pass_obj
def alarm_create(obj: Settings, name: str, schedule_name: str, feature: str | None, metric: str | None, threshold: float | None, periods: int) -> None:
    if feature and metric:
        raise UsageError("give --feature (a data-quality schedule) or --metric (the other types), not both")
    monitor = _monitor(obj)
    try:
        kind = types.get(monitor.schedules.schedule(schedule_name)["monitoring_type"])
        other = "metric" if kind.watches == "feature" else "feature"
        if (metric if other == "metric" else feature) is not None:
            raise UsageError(f"{schedule_name} is a {kind.name} schedule: give --{kind.watches}, not --{other}")
        created = monitor.schedules.create_alarm(name, schedule_name, feature if kind.watches == "feature" else metric, threshold, periods)
    finally:
        monitor.close()
    rule = types.Alarm(created["feature"], created["comparison"], created["threshold"])
    click.echo(f"alarm {created['name']}: {rule.words} for {periods} execution(s) -> retrain")


@alarm.command("list", help="Alarms, their state and their decisions.", epilog="Example:\n\n  mlops monitor alarm list --json")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def alarm_list(obj: Settings, as_json: bool) -> None:
    monitor = _monitor(obj)
    try:
        items = [{**a, "decisions": monitor.decisions(a["name"])} for a in monitor.schedules.alarms()]
    finally:
        monitor.close()
    if as_json:
        _echo_json(items)
        return
    for item in items:
        rule = f"{item['feature']} < {item['threshold']}" if item["comparison"] == "LessThanThreshold" else f"drift of {item['feature']} > {item['threshold']}"
        click.echo(f"{item['name']:<20} {item['state']:<6} {item['schedule']}: {rule} x{item['periods']}")
        for decision in item["decisions"]:
            click.echo(f"    {decision['time']} {decision['decision']}: {decision['reason']}" + (f" ({decision['pipeline_execution_arn']})" if decision["pipeline_execution_arn"] else ""))


@alarm.command("delete", help="Delete an alarm.", epilog="Example:\n\n  mlops monitor alarm delete drift")
@click.argument("name")
@click.pass_obj
def alarm_delete(obj: Settings, name: str) -> None:
    monitor = _monitor(obj)
    try:
        monitor.schedules.delete_alarm(name)
    finally:
        monitor.close()
    click.echo(f"deleted alarm {name}")


@group.command("report", help="Where a schedule's HTML timeline and latest execution report are.", epilog="Example:\n\n  mlops monitor report --schedule credit-hourly")
@click.option("--schedule", "schedule_name", required=True)
@click.pass_obj
def report_paths(obj: Settings, schedule_name: str) -> None:
    timeline, latest = queries.report_paths(obj.home, schedule_name)
    click.echo(f"timeline: {timeline}")
    if latest is not None:
        click.echo(f"latest:   {latest}")


# -- ground truth ----------------------------------------------------------------------------
@group.group("ground-truth", help="Ground truth for model-quality monitoring, in SageMaker's layout.", epilog="Example:\n\n  mlops monitor ground-truth upload labels.csv --endpoint credit-default-staging")
def ground_truth_group() -> None:
    pass


@ground_truth_group.command(
    "upload",
    help="Write labels (a CSV of inference id and label, or ground-truth JSON Lines) as one ground-truth file under {prefix}/{endpoint}/yyyy/mm/dd/hh/, the hour they were collected.",
    epilog="Example:\n\n  mlops monitor ground-truth upload labels.csv --endpoint credit-default-staging --collected-at 2026-11-20T14:05:00Z",
)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--endpoint", required=True, help="the endpoint whose predictions these label")
@click.option("--ground-truth", "prefix", default=None, help="the ground truth's prefix (default: beside the endpoint's capture, .../ground-truth)")
@click.option("--collected-at", default=None, help="when the labels were collected (ISO-8601; default now): the hour folder")
@click.pass_obj
def ground_truth_upload(obj: Settings, file: Path, endpoint: str, prefix: str | None, collected_at: str | None) -> None:
    from pipelines.monitor import ground_truth

    labels = ground_truth.read(file)
    if prefix is None:
        try:
            prefix = deploy.ground_truth_destination(deploy.capture_of(obj.home, endpoint))
        except UsageError as exc:
            raise UsageError(f"--ground-truth: {exc}; give --ground-truth") from exc
    if not is_s3(prefix):
        raise UsageError(f"--ground-truth {prefix!r}: an s3:// prefix (in the local store, or on AWS) is expected")
    uri = ground_truth.key(prefix, endpoint, _moment(collected_at, "--collected-at") or utcnow())
    store = obj.home.objects()
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".jsonl") as handle:
        handle.write(ground_truth.body(labels))
        handle.flush()
        store.put_file(Path(handle.name), uri)
    click.echo(f"{len(labels)} label(s) -> {uri}")

