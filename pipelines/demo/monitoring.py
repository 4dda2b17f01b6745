"""The demo's monitoring: data quality hour by hour with its drift alarm, model quality with the
late labels, and fairness and explanations."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from pipelines.demo.story import ALARM, ATTRIBUTION_SCHEDULE, BIAS_SCHEDULE, HOURS, QUALITY_SCHEDULE, SCHEDULE, Story, output_uri
from pipelines.local.home import Home
from pipelines.monitor.scheduler import Monitor
from pipelines.monitor.schedules import HOURLY, iso
from pipelines.monitoring.local import PipelineJob
from pipelines.registry.store import ModelRegistry
from pipelines.runs.retraining import LocalRetrainer
from pipelines.serving import deploy


def data_quality(story: Story, endpoint: dict[str, Any], package_arn: str, start_hour: datetime) -> tuple[list[Any], list[dict[str, Any]]]:
    registry = ModelRegistry(story.home)
    try:
        baselines = registry.describe(package_arn)["DriftCheckBaselines"]["ModelDataQuality"]
    finally:
        registry.close()
    monitor = Monitor(story.home, retrainer=LocalRetrainer(story.home, wait=True), job=PipelineJob(story.home))
    try:
        existing = {s["MonitoringScheduleName"] for s in monitor.schedules.list_schedules()}
        if SCHEDULE in existing:
            monitor.schedules.delete_schedule(SCHEDULE)  # a new baseline and a new run: a new schedule
        monitor.schedules.create_schedule(
            SCHEDULE, endpoint["EndpointName"], HOURLY, endpoint["DataCaptureConfig"]["DestinationS3Uri"],
            baselines["Statistics"]["S3Uri"], baselines["Constraints"]["S3Uri"], deploy.monitoring_destination(endpoint["DataCaptureConfig"]["DestinationS3Uri"]),
        )  # fmt: skip
        monitor.schedules.create_alarm(ALARM, SCHEDULE, "*", 0.1, 2)
        story.echo(f"    schedule {SCHEDULE} ({HOURLY}) with the package's drift-check baseline; alarm: any feature's drift > 0.1 for 2 hours -> retrain")
        story.echo("    each hour is a run of the monitoring pipeline (pipelines/monitoring), the one EventBridge Scheduler starts on AWS")
        outcomes = monitor.run_due(now=start_hour + timedelta(hours=len(HOURS), minutes=5), backfill_from=start_hour, only=[SCHEDULE])
        for outcome in outcomes:
            detail = f"{outcome.violations} violation(s)" if outcome.status != "Failed" else outcome.failure_reason
            story.echo(f"    {iso(outcome.scheduled)}  {outcome.status:<24} {detail}")
            if outcome.report:
                violations = json.loads((monitor.local_path(outcome.report) / "constraint_violations.json").read_text())["violations"]
                flagged = sorted({v["feature_name"] for v in violations if v["constraint_check_type"] == "baseline_drift_check"})
                if flagged:
                    story.echo(f"        drift on: {', '.join(flagged)}")
        decisions = monitor.schedules.decisions(ALARM)
    finally:
        monitor.close()
    return outcomes, decisions


def model_quality(story: Story, endpoint: dict[str, Any], package_arn: str, start_hour: datetime, outcomes: list[Any]) -> None:
    """The model-quality schedule merges the labels (an hour late) with the captured predictions
    and measures the model."""
    from pipelines.monitor.job.model_quality import quality

    capture = endpoint["DataCaptureConfig"]["DestinationS3Uri"]
    prefix = deploy.ground_truth_destination(capture)
    store = story.home.objects()
    registry = ModelRegistry(story.home)
    try:
        package = registry.describe(package_arn)
    finally:
        registry.close()
    baselines = package["DriftCheckBaselines"]["ModelQuality"]
    baseline_auc = json.loads(store.path(package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]).read_text())[quality.KEY]["auc"]["value"]
    monitor = Monitor(story.home, retrainer=LocalRetrainer(story.home, wait=True), job=PipelineJob(story.home))
    try:
        if QUALITY_SCHEDULE in {s["MonitoringScheduleName"] for s in monitor.schedules.list_schedules()}:
            monitor.schedules.delete_schedule(QUALITY_SCHEDULE)
        monitor.schedules.create_schedule(
            QUALITY_SCHEDULE, endpoint["EndpointName"], HOURLY, capture, baselines["Statistics"]["S3Uri"], baselines["Constraints"]["S3Uri"],
            deploy.monitoring_destination(capture), monitoring_type="ModelQuality", ground_truth_uri=prefix,
        )  # fmt: skip
        story.echo(f"    schedule {QUALITY_SCHEDULE} (model quality): each hour, the hour before last merged with its labels by InferenceId; test-split AUC {baseline_auc:.3f}")
        measured = monitor.run_due(now=start_hour + timedelta(hours=len(HOURS) + 1, minutes=5), backfill_from=start_hour + timedelta(hours=1), only=[QUALITY_SCHEDULE])
        executions = {e["ScheduledTime"]: e for e in monitor.schedules.list_executions(QUALITY_SCHEDULE)}
    finally:
        monitor.close()
    story.echo("    (the suggested constraints leave room for what a clean window of 500 labelled rows varies: about 1 clean hour in 100 breaks one;"
               " Model Monitor suggested the test split's own values, which most clean hours break: --constraint-rule baseline)")
    story.echo("    hour         kind     drift (data quality)            AUC    estimated AUC   model quality")
    estimates: list[tuple[float, float] | None] = []
    for hour, ((kind, _), drifted, outcome) in enumerate(zip(HOURS, outcomes, measured, strict=True)):
        begins = start_hour + timedelta(hours=hour)
        execution = executions.get(iso(outcome.scheduled), {})
        auc = execution.get("Metrics", {}).get("auc")
        flagged = _drifted_features(story.home, drifted) or "-"
        shown = f"{auc:.3f}" if auc is not None else "  -  "
        estimated = _estimated_auc(story.home, outcome)
        estimate_shown = f"{estimated[0]:.3f} +/- {2 * estimated[1]:.3f}" if estimated else "      -      "
        estimates.append(estimated)
        detail = f"{outcome.status} ({_violated_metrics(story.home, outcome)})" if outcome.violations else outcome.status
        detail = detail if outcome.status != "Failed" else f"Failed: {outcome.failure_reason}"
        story.echo(f"    {begins:%H}:00-{begins + timedelta(hours=1):%H}:00  {kind:<8} {flagged:<31} {shown}  {estimate_shown}   {detail}")
    story.echo("    (estimated AUC: from the hour's predictions alone, before any label, by the test split's calibration; +/- two standard deviations."
               " The drift changes what the model sees, not the outcomes: an estimate from its scores cannot see that, the labels do)")
    story.facts["auc"] = [executions.get(iso(o.scheduled), {}).get("Metrics", {}).get("auc") for o in measured]
    story.facts["estimated_auc"] = estimates


def fairness(story: Story, endpoint: dict[str, Any], package_arn: str, start_hour: datetime, execution_id: str) -> None:
    """The gate the pipeline passed (or would have failed), the explanation it registered, and
    the bias and feature-attribution schedules over the demo's hours, the labels merged."""
    from pipelines.monitor.job.clarify import attribution, bias

    store = story.home.objects()
    folder = store.path(output_uri(story.home, execution_id, "BiasReport", "bias"))
    gate = json.loads((folder / "bias_summary.json").read_text())["disparate_impact"]
    analysis = json.loads((folder / "analysis.json").read_text())
    low, high = gate["band"]
    verdict = "registered" if gate["within_band"] else "the execution failed at BiasOutsideBand"
    story.echo(f"    CheckBias: disparate impact {gate['lowest']['value']:.3f} ({gate['lowest']['group']}) to {gate['highest']['value']:.3f} ({gate['highest']['group']}),"
               f" {'within' if gate['within_band'] else 'OUTSIDE'} {low:g}-{high:g}: {verdict}")  # fmt: skip
    post = analysis[bias.POST_TRAINING]
    story.echo(f"    favourable outcome {post['label']} = {post['label_value_or_threshold']} (no default); per facet group (DI, DPPL, recall difference):")
    for facet, value, di in bias.values(analysis, "DI"):
        dppl = next(v for f, g, v in bias.values(analysis, "DPPL") if (f, g) == (facet, value))
        rd = next(v for f, g, v in bias.values(analysis, "RD") if (f, g) == (facet, value))
        story.echo(f"        {facet + '=' + value:<16} DI {di:.3f}  DPPL {dppl:+.3f}  RD {rd:+.3f}")
    explained = attribution.global_from(json.loads((store.path(output_uri(story.home, execution_id, "Explain", "explainability")) / "analysis.json").read_text()))
    top = sorted(explained.items(), key=lambda item: -item[1])[:5]
    story.echo("    exact SHAP (mean |SHAP| on the test split): " + ", ".join(f"{name} {value:.3f}" for name, value in top))
    registry = ModelRegistry(story.home)
    try:
        baselines = registry.describe(package_arn)["DriftCheckBaselines"]
    finally:
        registry.close()
    capture = endpoint["DataCaptureConfig"]["DestinationS3Uri"]
    name = endpoint["EndpointName"]
    monitor = Monitor(story.home, retrainer=LocalRetrainer(story.home, wait=True), job=PipelineJob(story.home))
    try:
        existing = {s["MonitoringScheduleName"] for s in monitor.schedules.list_schedules()}
        for schedule in (BIAS_SCHEDULE, ATTRIBUTION_SCHEDULE):
            if schedule in existing:
                monitor.schedules.delete_schedule(schedule)
        monitor.schedules.create_schedule(
            BIAS_SCHEDULE, name, HOURLY, capture, baselines["Bias"]["ConfigFile"]["S3Uri"], baselines["Bias"]["PostTrainingConstraints"]["S3Uri"],
            deploy.monitoring_destination(capture), monitoring_type="ModelBias", ground_truth_uri=deploy.ground_truth_destination(capture),
        )  # fmt: skip
        monitor.schedules.create_schedule(
            ATTRIBUTION_SCHEDULE, name, HOURLY, capture, baselines["Explainability"]["ConfigFile"]["S3Uri"], baselines["Explainability"]["Constraints"]["S3Uri"],
            deploy.monitoring_destination(capture), monitoring_type="ModelExplainability",
        )  # fmt: skip
        story.echo(f"    schedules {BIAS_SCHEDULE} (the hour before last, merged with its labels) and {ATTRIBUTION_SCHEDULE} (SHAP of the last hour by the served model)")
        monitor.run_due(now=start_hour + timedelta(hours=len(HOURS) + 1, minutes=5), backfill_from=start_hour + timedelta(hours=1), only=[BIAS_SCHEDULE])
        monitor.run_due(now=start_hour + timedelta(hours=len(HOURS), minutes=5), backfill_from=start_hour, only=[ATTRIBUTION_SCHEDULE])
        by_hour: dict[datetime, dict[str, Any]] = {}
        statuses: dict[datetime, dict[str, str]] = {}
        for schedule, lag, what in ((BIAS_SCHEDULE, 2, "bias"), (ATTRIBUTION_SCHEDULE, 1, "attribution")):
            for execution in monitor.schedules.list_executions(schedule):
                hour = datetime.strptime(execution["ScheduledTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) - timedelta(hours=lag)
                by_hour.setdefault(hour, {}).update(execution.get("Metrics", {}))
                statuses.setdefault(hour, {})[what] = execution["MonitoringExecutionStatus"]
    finally:
        monitor.close()
    groups = [f"{facet}={bias.group_value(value)}" for facet, value, _ in bias.values(analysis, "DI")]
    watched = ("EDUCATION", "MARRIAGE", "LIMIT_BAL")

    def cell(value: float | None, width: int) -> str:
        return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"

    story.echo(f"    {'hour':<11}  {'kind':<8}" + "".join(f" {'DI ' + g:>14}" for g in groups) + f" {'nDCG':>6}" + "".join(f" {'SHAP ' + f:>15}" for f in watched))
    shifts, verdicts = [], []
    for hour, (kind, _) in enumerate(HOURS):
        begins = start_hour + timedelta(hours=hour)
        metrics = by_hour.get(begins, {})
        shap = [metrics.get(f"feature_{f}") for f in watched]
        shifts.append((kind, shap))
        dis = "".join(f" {cell(metrics.get(f'bias_metric_DI.{g}'), 14)}" for g in groups)
        status = statuses.get(begins, {})
        verdicts.append((kind, status.get("bias", "-"), status.get("attribution", "-")))
        story.echo(f"    {begins:%H}:00-{begins + timedelta(hours=1):%H}:00  {kind:<8}{dis} {cell(metrics.get('feature_attribution_ndcg'), 6)}" + "".join(f" {cell(v, 15)}" for v in shap)
                   + f"  bias {verdicts[-1][1]}, attribution {verdicts[-1][2]}")  # fmt: skip
    baseline = "".join(f" {cell(gate_value, 14)}" for gate_value in [next(v for f, g, v in bias.values(analysis, "DI") if f"{f}={bias.group_value(g)}" == group) for group in groups])
    story.echo(f"    {'test split':<21}{baseline} {'':>6}" + "".join(f" {cell(explained.get(f), 15)}" for f in watched))
    story.echo("    (the drift negates EDUCATION and MARRIAGE and divides LIMIT_BAL: their attributions move; Clarify's nDCG weighs each feature by its")
    story.echo("    baseline attribution, so features that move but keep their rank leave it above 0.9; the per-feature check, beyond what 500 rows")
    story.echo("    explain, names them; bias drift sees MARRIAGE=2's class imbalance move. mlops monitor violations --schedule shows what each hour broke)")
    story.facts["fairness"] = {"gate": gate, "shifts": shifts, "verdicts": verdicts}


def _estimated_auc(home: Home, outcome: Any) -> tuple[float, float] | None:
    """The execution's estimated AUC and its standard deviation (estimated_metrics.json), if any."""
    from pipelines.monitor.job.model_quality import estimate

    if not outcome.report:
        return None
    path = home.objects().path(outcome.report) / estimate.ESTIMATES
    if not path.is_file():
        return None
    found = json.loads(path.read_text())["estimated_metrics"].get("auc")
    return (found["value"], found["standard_deviation"]) if found else None


def _violated_metrics(home: Home, outcome: Any) -> str:
    violations = json.loads((home.objects().path(outcome.report) / "constraint_violations.json").read_text())["violations"]
    return ", ".join(v["metric_name"] for v in violations)


def _drifted_features(home: Home, outcome: Any) -> str:
    if not outcome.report:
        return ""
    violations = json.loads((home.objects().path(outcome.report) / "constraint_violations.json").read_text())["violations"]
    return ",".join(sorted({v["feature_name"] for v in violations if v["constraint_check_type"] == "baseline_drift_check"}))
