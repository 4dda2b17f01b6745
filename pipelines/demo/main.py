"""The demo's nine parts, in order (``mlops demo``)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from pipelines.cli.progress import Printer, summary
from pipelines.core.errors import MlopsError, UsageError
from pipelines.demo.monitoring import data_quality, fairness, model_quality
from pipelines.demo.story import ALARM, ATTRIBUTION_SCHEDULE, BIAS_SCHEDULE, CLOCK_SPEED, QUALITY_SCHEDULE, SCHEDULE, Story, output_uri, step_property
from pipelines.demo.traffic import check_capture, next_window, send_traffic, upload_labels
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from pipelines.monitor.schedules import MonitoringStore
from pipelines.registry.store import ModelRegistry
from pipelines.runs import local_run
from pipelines.serving import auth, deploy
from pipelines.serving.clock import set_clock
from pipelines.serving.process import ServingProcess, port_problem
from pipelines.serving.stages import stages


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
    package_arn = step_property(home, result.execution_id, "Register", "ModelPackageArn")
    if not package_arn:
        raise MlopsError("the pipeline registered no model (did the AUC pass its threshold?)")
    test_csv = ObjectStore(home.store).path(output_uri(home, result.execution_id, "Preprocess", "test")) / "test.csv"
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
    start_hour = next_window(home)
    clock_file = home.demo / "clock.json"
    set_clock(clock_file, start_hour, start_hour + timedelta(hours=1), speed=CLOCK_SPEED)
    # Under the guard: the server ends with the demo however the demo ends (SIGTERM, kill -9).
    server = ServingProcess.start(home, home.demo / "server.log", port, ("--workers", "2", "--clock-file", str(clock_file), "--auth", "sigv4"))
    story.echo(f"    boto3 clients sign every request (SigV4) with the endpoint's key in {auth.credentials_path(home)} (mode 0600)")
    try:
        counts, labels = send_traffic(story, server.url, endpoint["EndpointName"], test_csv, clock_file, start_hour)
    finally:
        if not keep_serving:
            server.stop()  # SIGTERM: every answered request is written
    if keep_serving:
        set_clock(clock_file, datetime.now(timezone.utc))  # from here on the server stamps real time
    else:
        check_capture(home, endpoint, start_hour, counts)
    story.facts["requests"] = counts
    story.done("traffic", started)

    started = story.part(4, "Monitoring: the hourly schedule's executions over those hours")
    upload_labels(story, endpoint, start_hour, labels)  # each hour's labels, an hour after it
    outcomes, decisions = data_quality(story, endpoint, package_arn, start_hour)
    story.done("monitoring", started)

    started = story.part(5, "Ground truth an hour late: the model's AUC per hour, next to the drift")
    model_quality(story, endpoint, package_arn, start_hour, outcomes)
    story.done("model quality", started)

    started = story.part(6, "Fairness and explanations: the bias gate, then each hour's disparate impact and SHAP attributions")
    fairness(story, endpoint, package_arn, start_hour, result.execution_id)
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
