"""``mlops demo``: the whole story on one machine, told in the terminal: commit -> pipeline ->
approval -> endpoint -> traffic -> monitoring -> ground truth and model quality -> fairness and
explanations -> drift alarm -> retraining -> lineage, with what each part took.

``mlops demo`` (and ``make demo``) runs it. Traffic is sent through the real endpoint server
with real signed boto3 clients. The server stamps capture with a clock the demo drives
(``mlops serve --clock-file``): the demo sets the clock to a simulated hour, sends that hour's
requests and waits for their answers before it moves to the next hour, so a few seconds of
traffic fill several capture hours and no hour can spill into another, however busy the
machine is. The monitoring schedule's hourly executions then analyse those hours exactly as
they would in production. Every request carries an InferenceId; the held-out rows' real labels
arrive an hour after their predictions, as ground truth, and a model-quality schedule measures
the model's AUC hour by hour next to the drift. The pipeline's bias gate is shown as it decided,
and bias and feature-attribution schedules measure each facet group's disparate impact and the
features' SHAP attributions hour by hour. Each run uses fresh simulated hours, so running the
demo again works.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import click

from pipelines import local_run
from pipelines.cli.context import Settings
from pipelines.cli.progress import Printer, summary
from pipelines.engine.records import Records
from pipelines.errors import MlopsError, UsageError
from pipelines.fileio import write_text_atomic
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from pipelines.monitor.scheduler import Monitor
from pipelines.monitor.schedules import HOURLY, MonitoringStore, iso
from pipelines.monitoring.local import PipelineJob
from pipelines.registry.store import ModelRegistry
from pipelines.retraining import LocalRetrainer
from pipelines.serving import auth, deploy
from pipelines.serving.clock import set_clock
from pipelines.serving.process import ServingProcess, port_problem
from pipelines.serving.stages import stages

SCHEDULE = "credit-default-hourly"
QUALITY_SCHEDULE = "credit-default-quality"
BIAS_SCHEDULE = "credit-default-bias"
ATTRIBUTION_SCHEDULE = "credit-default-attribution"
ALARM = "credit-default-drift"
PARTS = 9
CLOCK_SPEED = 720.0  # simulated seconds per real second: spreads an hour's capture stamps
CLIENTS = 8
HOURS = (("clean", 500), ("clean", 500), ("drifted", 500), ("drifted", 500))


@dataclass
class Story:
    home: Home
    echo: Callable[[str], None] = click.echo
    timings: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def part(self, number: int, title: str) -> float:
        self.echo(click.style(f"\n[{number}/{PARTS}] {title}", bold=True))
        return time.perf_counter()

    def done(self, name: str, started: float) -> None:
        self.timings[name] = time.perf_counter() - started


def run(home: Home, keep_serving: bool = False, port: int | None = None) -> int:
    if port is not None:  # a taken port is one line before anything starts
        problem = port_problem("127.0.0.1", port)
        if problem:
            raise UsageError(problem)
    story = Story(home)
    began = time.perf_counter()
    commit = local_run.local_commit(allow_dirty=True)

    started = story.part(1, "Pipeline on the local engine, tagged with the repository's commit")
    story.echo(f"    commit {commit.sha[:12] if commit else '(not a git repository)'}{' (uncommitted changes)' if commit and commit.dirty else ''}: {commit.subject if commit else ''}")
    document, name = local_run.load_definition(local_run.definitions.DEFAULT_MODULE, {}, None, None)
    result = local_run.run(home, document, name, {}, commit, progress=Printer())
    story.echo(summary(result, home))
    if result.status != "Succeeded":
        raise MlopsError(f"the pipeline ended {result.status}: {result.failure_reason}")
    package_arn = _step_property(home, result.execution_id, "Register", "ModelPackageArn")
    if not package_arn:
        raise MlopsError("the pipeline registered no model (did the AUC pass its threshold?)")
    test_csv = ObjectStore(home.store).path(_output(home, result.execution_id, "Preprocess", "test")) / "test.csv"
    story.facts.update(execution=result.arn, package=package_arn)
    story.done("pipeline", started)

    started = story.part(2, "Approval and deployment to staging, with data capture")
    staging = stages(home)["staging"]
    registry = ModelRegistry(home)
    try:
        if registry.describe(package_arn)["ModelApprovalStatus"] == "Approved":  # the same model, approved in an earlier run
            story.echo(f"    {package_arn} is the model an earlier run registered, and a human approved it then: deployed again.")
            story.facts["endpoint"] = deploy.deploy_package(home, package_arn, staging["endpoint"], "staging")
        else:
            registry.on_approval(lambda approved: story.facts.update(endpoint=deploy.deploy_package(home, approved["ModelPackageArn"], staging["endpoint"], "staging")))
            story.echo(f"    {package_arn} is PendingManualApproval: a human reviews the evaluation here and approves it.")
            registry.update_status(package_arn, "Approved", "demo: evaluation reviewed, AUC above its threshold", by="demo-reviewer")
    finally:
        registry.close()
    endpoint = story.facts["endpoint"]
    capture = endpoint.get("DataCaptureConfig", {})
    story.echo(f"    approved -> deployed {endpoint['EndpointName']} ({endpoint['EndpointStatus']}), capturing {capture.get('CurrentSamplingPercentage')}% to {capture.get('DestinationS3Uri')}")
    story.done("approve+deploy", started)

    started = story.part(3, "Traffic through the endpoint: two clean hours, then the workshop's drift")
    start_hour = _next_window(home)
    clock_file = home.demo / "clock.json"
    set_clock(clock_file, start_hour, start_hour + timedelta(hours=1), speed=CLOCK_SPEED)
    # Under the guard: the server ends with the demo however the demo ends (SIGTERM, kill -9).
    server = ServingProcess.start(home, home.demo / "server.log", port, ("--workers", "2", "--clock-file", str(clock_file), "--auth", "sigv4"))
    story.echo(f"    boto3 clients sign every request (SigV4) with the endpoint's key in {auth.credentials_path(home)} (mode 0600)")
    try:
        counts, labels = _send_traffic(story, server.url, endpoint["EndpointName"], test_csv, clock_file, start_hour)
    finally:
        if not keep_serving:
            server.stop()  # SIGTERM: every answered request is written
    if keep_serving:
        set_clock(clock_file, datetime.now(timezone.utc))  # from here on the server stamps real time
    else:
        _check_capture(home, endpoint, start_hour, counts)
    story.facts["requests"] = counts
    story.done("traffic", started)

    started = story.part(4, "Monitoring: the hourly schedule's executions over those hours")
    _upload_labels(story, endpoint, start_hour, labels)  # each hour's labels, an hour after it
    outcomes, decisions = _monitor(story, endpoint, package_arn, start_hour)
    story.done("monitoring", started)

    started = story.part(5, "Ground truth an hour late: the model's AUC per hour, next to the drift")
    _model_quality(story, endpoint, package_arn, start_hour, outcomes)
    story.done("model quality", started)

    started = story.part(6, "Fairness and explanations: the bias gate, then each hour's disparate impact and SHAP attributions")
    _fairness(story, endpoint, package_arn, start_hour, result.execution_id)
    story.done("fairness", started)

    started = story.part(7, "The drift alarm and the retraining it started")
    _show_retraining(story, decisions)
    story.done("retraining", started)

    started = story.part(8, "Lineage of the endpoint, from the commit to the monitoring report")
    _show_lineage(story, endpoint["EndpointName"])
    story.done("lineage", started)

    story.part(9, "Summary")
    total = time.perf_counter() - began
    for part, seconds in story.timings.items():
        story.echo(f"    {part:<16} {seconds:6.1f} s")
    story.echo(f"    {'total':<16} {total:6.1f} s")
    with MonitoringStore(home) as schedules:
        row = schedules.schedule(SCHEDULE)
    reports = home.objects().path(f"{row['output_uri'].rstrip('/')}/{row['endpoint']}/{SCHEDULE}")
    story.echo(f"    drift timeline: {reports / 'timeline.html'}")
    story.echo(f"    AUC timeline:   {reports.parent / QUALITY_SCHEDULE / 'timeline.html'}")
    story.echo(f"    bias timeline:  {reports.parent / BIAS_SCHEDULE / 'timeline.html'}")
    story.echo(f"    SHAP timeline:  {reports.parent / ATTRIBUTION_SCHEDULE / 'timeline.html'}")
    latest = [o for o in outcomes if o.report]
    if latest:
        story.echo(f"    latest report:  {home.objects().path(latest[-1].report) / 'report.html'}")
    story.echo(f"    pipeline logs:  {home.executions}")
    story.echo(f"    state:          {home.root}  (make clean removes it)")
    if keep_serving:
        server.detach()
        story.echo(f"    the endpoint still answers on {server.url}/endpoints/{endpoint['EndpointName']}/invocations (process group {server.pid})")
    else:
        story.echo("    the endpoint server is stopped (mlops serve starts it again; --keep-serving keeps it)")
    return 0


# -- helpers ----------------------------------------------------------------------------------
def _step_property(home: Home, execution_id: str, step: str, key: str) -> Any:
    records = Records(home)
    try:
        return (records.step_properties(execution_id, step) or {}).get(key)
    finally:
        records.close()


def _output(home: Home, execution_id: str, step: str, output: str) -> str:
    records = Records(home)
    try:
        properties = records.step_properties(execution_id, step) or {}
    finally:
        records.close()
    return next(o["S3Output"]["S3Uri"] for o in properties["ProcessingOutputConfig"]["Outputs"] if o["OutputName"] == output)


def _next_window(home: Home) -> datetime:
    """Fresh simulated hours for this run: after the previous run's, else from the next hour."""
    state_file = home.demo / "state.json"
    previous = json.loads(state_file.read_text())["next"] if state_file.is_file() else None
    now_hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = max(now_hour, datetime.fromisoformat(previous)) if previous else now_hour
    write_text_atomic(state_file, json.dumps({"next": (start + timedelta(hours=len(HOURS) + 2)).isoformat()}))
    return start


def drift(rows: list[list[str]], columns: list[str], seed: int) -> list[list[str]]:
    """The workshop's drift: LIMIT_BAL / 1000 on half the rows, EDUCATION negated on 75%, MARRIAGE on half."""
    rng = random.Random(seed)
    limit, education, marriage = columns.index("LIMIT_BAL"), columns.index("EDUCATION"), columns.index("MARRIAGE")
    changed = []
    for row in rows:
        row = list(row)
        if rng.random() < 0.5:
            row[limit] = str(int(float(row[limit])) // 1000)
        if rng.random() < 0.75:
            row[education] = str(-int(float(row[education])))
        if rng.random() < 0.5:
            row[marriage] = str(-int(float(row[marriage])))
        changed.append(row)
    return changed


def _send_traffic(story: Story, url: str, endpoint: str, test_csv: Path, clock_file: Path, start_hour: datetime) -> tuple[dict[str, int], list[list[tuple[str, str]]]]:
    """Each simulated hour: set the server's capture clock to that hour, send its requests, wait
    for every answer. A request is stamped before it is answered, so no hour can spill into the
    next, whatever the machine's load; a slow machine only takes longer. Each request carries an
    InferenceId; what comes back is, per hour, each id with the row's real label (not sent)."""
    import boto3
    from botocore.config import Config

    lines = test_csv.read_text().splitlines()
    columns = lines[0].split(",")[1:]  # the label is not sent: clients send the 23 features
    rows = [line.split(",") for line in lines[1:]]
    random.Random(7).shuffle(rows)
    # The clients sign every request (SigV4) with the endpoint's own credentials, as they would on AWS.
    credentials = auth.load_or_create(story.home)
    session = boto3.Session(aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key, region_name=story.home.region)
    config = Config(read_timeout=600, connect_timeout=60)  # a busy machine answers late, not never
    clients = [session.client("sagemaker-runtime", endpoint_url=url, config=config) for _ in range(CLIENTS)]
    counts: dict[str, int] = {}
    labels: list[list[tuple[str, str]]] = []
    offset = 0
    for hour, (kind, size) in enumerate(HOURS):
        batch = [row[1:] for row in rows[offset : offset + size]]
        begins = start_hour + timedelta(hours=hour)
        ids = [f"{begins:%Y%m%d%H}-{index:04d}" for index in range(len(batch))]
        labels.append([(identifier, row[0]) for identifier, row in zip(ids, rows[offset : offset + size], strict=True)])
        offset += size
        if kind == "drifted":
            batch = drift(batch, columns, hour)
        set_clock(clock_file, begins, begins + timedelta(hours=1), speed=CLOCK_SPEED)

        def send(item: tuple[int, str, list[str]]) -> None:
            index, identifier, row = item
            client = clients[index % len(clients)]
            client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=",".join(row), InferenceId=identifier)["Body"].read()

        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            list(pool.map(send, [(index, identifier, row) for index, (identifier, row) in enumerate(zip(ids, batch, strict=True))]))
        counts[f"{begins:%H}:00 {kind}"] = len(batch)
        story.echo(f"    {begins:%Y-%m-%d %H}:00-{(begins + timedelta(hours=1)):%H}:00  {len(batch)} requests ({kind})")
    return counts, labels


def _check_capture(home: Home, endpoint: dict[str, Any], start_hour: datetime, counts: dict[str, int]) -> None:
    """Every request of every hour is in that hour's capture folder, or the story stops here."""
    capture = endpoint["DataCaptureConfig"]["DestinationS3Uri"]
    variant = endpoint["ProductionVariants"][0].get("VariantName", "AllTraffic")
    root = ObjectStore(home.store).path(capture) / endpoint["EndpointName"] / variant
    for hour, (label, sent) in enumerate(counts.items()):
        folder = root / f"{start_hour + timedelta(hours=hour):%Y/%m/%d/%H}"
        found = sum(path.read_bytes().count(b"\n") for path in folder.glob("*.jsonl")) if folder.is_dir() else 0
        if found != sent:
            raise MlopsError(f"the capture of {label} holds {found} records for {sent} requests sent ({folder}); see {home.demo / 'server.log'}")


def _monitor(story: Story, endpoint: dict[str, Any], package_arn: str, start_hour: datetime) -> tuple[list[Any], list[dict[str, Any]]]:
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


def _upload_labels(story: Story, endpoint: dict[str, Any], start_hour: datetime, labels: list[list[tuple[str, str]]]) -> None:
    """The served rows' labels, as ground truth collected an hour after their hour: what the
    model-quality and bias schedules merge with the capture, and what a retraining learns from."""
    from pipelines.monitor import ground_truth

    prefix = deploy.ground_truth_destination(endpoint["DataCaptureConfig"]["DestinationS3Uri"])
    store = story.home.objects()
    for hour, rows in enumerate(labels):
        collected = start_hour + timedelta(hours=hour + 1, minutes=5)
        uri = ground_truth.key(prefix, endpoint["EndpointName"], collected)
        with tempfile.TemporaryDirectory(prefix="labels-") as scratch:
            file = Path(scratch) / "labels.jsonl"
            file.write_bytes(ground_truth.body([ground_truth.Label(identifier, label) for identifier, label in rows]))
            store.put_file(file, uri)
    story.echo(f"    {sum(len(rows) for rows in labels)} labels (the held-out rows' real outcomes) uploaded an hour after their predictions, under {prefix}/")


def _model_quality(story: Story, endpoint: dict[str, Any], package_arn: str, start_hour: datetime, outcomes: list[Any]) -> None:
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
    story.echo("    (the suggested constraints are the test split's own values, as Model Monitor suggests them: any metric below its baseline is a violation)")
    story.echo("    hour         kind     drift (data quality)            AUC    model quality")
    for hour, ((kind, _), drifted, outcome) in enumerate(zip(HOURS, outcomes, measured, strict=True)):
        begins = start_hour + timedelta(hours=hour)
        execution = executions.get(iso(outcome.scheduled), {})
        auc = execution.get("Metrics", {}).get("auc")
        flagged = _drifted_features(story.home, drifted) or "-"
        shown = f"{auc:.3f}" if auc is not None else "  -  "
        detail = f"{outcome.status} ({_violated_metrics(story.home, outcome)})" if outcome.violations else outcome.status
        detail = detail if outcome.status != "Failed" else f"Failed: {outcome.failure_reason}"
        story.echo(f"    {begins:%H}:00-{begins + timedelta(hours=1):%H}:00  {kind:<8} {flagged:<31} {shown}  {detail}")
    story.facts["auc"] = [executions.get(iso(o.scheduled), {}).get("Metrics", {}).get("auc") for o in measured]


def _fairness(story: Story, endpoint: dict[str, Any], package_arn: str, start_hour: datetime, execution_id: str) -> None:
    """The gate the pipeline passed (or would have failed), the explanation it registered, and
    the bias and feature-attribution schedules over the demo's hours, the labels merged."""
    from pipelines.monitor.job.clarify import attribution, bias

    store = story.home.objects()
    folder = store.path(_output(story.home, execution_id, "BiasReport", "bias"))
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
    explained = attribution.global_from(json.loads((store.path(_output(story.home, execution_id, "Explain", "explainability")) / "analysis.json").read_text()))
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
        by_hour = {}
        for schedule, lag in ((BIAS_SCHEDULE, 2), (ATTRIBUTION_SCHEDULE, 1)):
            for execution in monitor.schedules.list_executions(schedule):
                hour = datetime.strptime(execution["ScheduledTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) - timedelta(hours=lag)
                by_hour.setdefault(hour, {}).update(execution.get("Metrics", {}))
    finally:
        monitor.close()
    groups = [f"{facet}={bias.group_value(value)}" for facet, value, _ in bias.values(analysis, "DI")]
    watched = ("EDUCATION", "MARRIAGE", "LIMIT_BAL")

    def cell(value: float | None, width: int) -> str:
        return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"

    story.echo(f"    {'hour':<11}  {'kind':<8}" + "".join(f" {'DI ' + g:>14}" for g in groups) + f" {'nDCG':>6}" + "".join(f" {'SHAP ' + f:>15}" for f in watched))
    shifts = []
    for hour, (kind, _) in enumerate(HOURS):
        begins = start_hour + timedelta(hours=hour)
        metrics = by_hour.get(begins, {})
        shap = [metrics.get(f"feature_attribution_{f}") for f in watched]
        shifts.append((kind, shap))
        dis = "".join(f" {cell(metrics.get(f'bias_metric_DI.{g}'), 14)}" for g in groups)
        story.echo(f"    {begins:%H}:00-{begins + timedelta(hours=1):%H}:00  {kind:<8}{dis} {cell(metrics.get('feature_attribution_ndcg'), 6)}" + "".join(f" {cell(v, 15)}" for v in shap))
    baseline = "".join(f" {cell(gate_value, 14)}" for gate_value in [next(v for f, g, v in bias.values(analysis, "DI") if f"{f}={bias.group_value(g)}" == group) for group in groups])
    story.echo(f"    {'test split':<21}{baseline} {'':>6}" + "".join(f" {cell(explained.get(f), 15)}" for f in watched))
    story.echo("    (the drift negates EDUCATION and MARRIAGE and divides LIMIT_BAL: their attributions move; Clarify's nDCG weighs each feature by its")
    story.echo("    baseline attribution, so features that move but keep their rank leave it above 0.9: alarm on a feature's own, e.g. feature_attribution_LIMIT_BAL)")
    story.facts["fairness"] = {"gate": gate, "shifts": shifts}


def _violated_metrics(home: Home, outcome: Any) -> str:
    violations = json.loads((home.objects().path(outcome.report) / "constraint_violations.json").read_text())["violations"]
    return ", ".join(v["metric_name"] for v in violations)


def _drifted_features(home: Home, outcome: Any) -> str:
    if not outcome.report:
        return ""
    violations = json.loads((home.objects().path(outcome.report) / "constraint_violations.json").read_text())["violations"]
    return ",".join(sorted({v["feature_name"] for v in violations if v["constraint_check_type"] == "baseline_drift_check"}))


def _show_retraining(story: Story, decisions: list[dict[str, Any]]) -> None:
    acted = [d for d in decisions if d["decision"] in ("retrain started", "retrain skipped")]
    if not acted:
        story.echo("    the alarm did not fire (no drift held for two hours)")
        return
    decision = acted[-1]
    if decision["decision"] == "retrain skipped":
        story.echo(f"    alarm {ALARM} entered ALARM; retraining skipped: {decision['reason']}")
        return
    story.echo(f"    alarm {ALARM} entered ALARM: {decision['reason']}")
    arn = decision["pipeline_execution_arn"]
    records = Records(story.home)
    try:
        described = records.describe_execution(arn)
        register = next((s for s in records.list_steps(arn.rsplit("/", 1)[1]) if s["StepName"] == "Register"), None)
    except MlopsError:
        story.echo(f"    retraining {arn}: not recorded (see {story.home.retraining})")
        return
    finally:
        records.close()
    on = described.get("PipelineExecutionDescription", "").rsplit("; on ", 1)[-1]
    story.echo(f"    retraining execution {arn.rsplit('/', 1)[1]}: {described['PipelineExecutionStatus']}, trained on the current data: {on}")
    package = ((register or {}).get("Metadata") or {}).get("RegisterModel", {}).get("Arn")
    if package:
        with ModelRegistry(story.home) as registry:
            by = (registry.describe(package).get("CreatedBy") or {}).get("UserProfileName", "")
        if by == f"pipeline:{arn}":
            story.echo(f"    Register: {package} registered, PendingManualApproval: a human reviews the new model before it serves")
        else:  # the RegisterModel step found the same model registered: no copy
            story.echo(f"    Register: the model is byte for byte {package}'s: not registered again")
    story.facts["retraining"] = arn


def _show_lineage(story: Story, endpoint: str) -> None:
    from pipelines.lineage.query import endpoint_table

    for line in endpoint_table(story.home, endpoint):
        story.echo(f"    {line}")


@click.command(
    "demo",
    help="Run the whole story: pipeline, approval, endpoint, traffic with drift, monitoring, model quality with late labels, fairness and explanations, alarm, retraining, lineage.",
    epilog="Example:\n\n  mlops demo\n\n  mlops demo --keep-serving   (the endpoint keeps answering afterwards)",
)
@click.option("--keep-serving", is_flag=True, help="leave the endpoint server running at the end")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="port for the endpoint server (default: a free one)")
@click.pass_obj
def command(obj: Settings, keep_serving: bool, port: int | None) -> int:
    return run(obj.home, keep_serving=keep_serving, port=port)
