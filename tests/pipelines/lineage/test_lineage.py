"""Lineage recorded without user code, queried in every direction, and verified against the store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from pipelines.cli import main as mlops
from pipelines.engine.records import Records
from pipelines.lineage import query
from pipelines.lineage.store import LineageStore
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from pipelines.monitor.scheduler import Monitor
from pipelines.monitoring.local import PipelineJob
from pipelines.registry.store import ModelRegistry
from pipelines.runs import commit as commits
from pipelines.runs import local_run
from pipelines.serving import deploy
from steps.preprocess import plain_decimals
from tests.helpers.capture_helpers import capture_frame
from tests.helpers.retrainers import FakeRetrainer

pytestmark = pytest.mark.long  # run first (conftest.py)

COMMIT = commits.Commit(sha="a" * 40, branch="main", remote_url="https://git.example.com/team/credit.git", author="Ada <ada@example.com>", date="2026-11-20T09:00:00+00:00", subject="Tune depth")
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, scored_test: Path) -> dict:
    """Pipeline -> registration -> approval -> deployment -> one monitoring execution, recorded."""
    home = Home.resolve(tmp_path_factory.mktemp("lineage-home"))
    document, name = local_run.load_definition(local_run.definitions.DEFAULT_MODULE, {}, None, None)
    result = local_run.run(home, document, name, {}, COMMIT)
    assert result.status == "Succeeded", result.failure_reason
    records = Records(home)
    package = records.step_properties(result.execution_id, "Register")["ModelPackageArn"]
    records.close()
    registry = ModelRegistry(home)
    registry.on_approval(lambda p: deploy.deploy_package(home, p["ModelPackageArn"], "credit-staging", "staging"))
    registry.update_status(package, "Approved", "reviewed", by="ada")
    baselines = registry.describe(package)["DriftCheckBaselines"]["ModelDataQuality"]
    registry.close()
    frame = pd.read_csv(scored_test, dtype={"prediction": str}).head(300)
    capture_frame(plain_decimals(frame), ObjectStore(home.store).path("s3://sagemaker-us-east-1-mlops/credit-default/data-capture"), T0, timedelta(minutes=50), endpoint="credit-staging")
    monitor = Monitor(home, retrainer=FakeRetrainer(), job=PipelineJob(home))
    monitor.schedules.create_schedule("hourly", "credit-staging", "cron(0 * ? * * *)", "s3://sagemaker-us-east-1-mlops/credit-default/data-capture", baselines["Statistics"]["S3Uri"], baselines["Constraints"]["S3Uri"], "s3://sagemaker-us-east-1-mlops/credit-default/monitoring")
    outcomes = monitor.run_due(now=T0 + timedelta(hours=1, minutes=5), backfill_from=T0)
    monitor.close()
    assert [o.status for o in outcomes] == ["Completed"]
    return {"home": home, "execution": result.execution_id, "package": package}


def types(table: list[dict]) -> set[str]:
    return {row["Type"] for row in table}


def test_the_endpoint_shows_the_whole_story(story: dict) -> None:
    table = query.frame(story["home"], endpoint="credit-staging")
    assert {"Commit", "PipelineExecution", "ProcessingJob", "TrainingJob", "DataSet", "Code", "Image", "Model", "Baseline",
            "ModelRegistration", "ModelPackage", "Approval", "Deployment", "Endpoint", "MonitoringExecution", "Report"} <= set(table["Type"])  # fmt: skip
    rows = table.set_index("Type")
    assert rows.loc["Commit", "Commit"] == "a" * 12 and rows.loc["Commit", "Author"] == "Ada <ada@example.com>"
    training = table[table["Type"] == "TrainingJob"].iloc[0]
    assert training["Commit"] == "a" * 12 and "validation:auc" in training["Facts"]
    assert all(table[table["Type"].isin(["Deployment", "Endpoint", "MonitoringExecution", "Report"])]["Commit"] == "a" * 12)
    approval = table[table["Type"] == "Approval"].iloc[0]
    assert "Reason reviewed" in approval["Facts"] and "By ada" in approval["Facts"]
    data = table[(table["Type"] == "DataSet") & (table["Name"] == "Preprocess/train")].iloc[0]
    assert data["Uri"].startswith("s3://") and len(data["Digest"]) == 12
    with LineageStore(story["home"]) as store, Records(story["home"]) as records:
        monitoring = store.find("action", "MonitoringExecution")
        jobs = {s["Metadata"]["ProcessingJob"]["Arn"] for e in records.list_executions() if ":pipeline/creditdefaultmonitoring/" in e["PipelineExecutionArn"]
                for s in records.list_steps(e["PipelineExecutionArn"].rsplit("/", 1)[1]) if "ProcessingJob" in s.get("Metadata", {})}  # fmt: skip
    assert monitoring and {m["Properties"]["ProcessingJobArn"] for m in monitoring} <= jobs  # each verdict names the monitoring pipeline's job
    baseline_jobs = table[(table["Type"] == "ProcessingJob") & table["Name"].str.contains("baseline")]
    assert len(baseline_jobs) == 2 and all(baseline_jobs["Commit"] == "a" * 12)  # the builtin analyzer made both baselines (data, model quality)
    order = list(table["Type"])
    assert order.index("Commit") < order.index("TrainingJob") < order.index("ModelPackage") < order.index("Endpoint") < order.index("Report")


def test_every_direction(story: dict) -> None:
    store = query.open_store(story["home"])
    try:
        from_package = query.rows(store, query.start(store, package=story["package"]))
        from_execution = query.rows(store, query.start(store, execution=story["execution"]))
        from_commit = query.rows(store, query.start(store, commit="aaaaaaa"))
    finally:
        store.close()
    assert {"Commit", "TrainingJob", "ModelPackage", "Deployment"} <= types(from_package)
    assert {"Commit", "ProcessingJob", "TrainingJob", "DataSet", "ModelPackage"} <= types(from_execution)
    assert {"PipelineExecution", "TrainingJob", "ModelPackage", "Endpoint", "MonitoringExecution", "Report"} <= types(from_commit)


def test_cli_formats(story: dict, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(story["home"].root)
    assert mlops.main(["--home", home, "lineage", "--endpoint", "credit-staging", "--json"]) == 0
    assert "TrainingJob" in {row["Type"] for row in json.loads(capsys.readouterr().out)}
    assert mlops.main(["--home", home, "lineage", "--endpoint", "credit-staging", "--format", "dot"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph lineage {") and "-> " in dot and "ContributedTo" in dot
    assert mlops.main(["--home", home, "lineage", "--commit", "aaaaaaa", "--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR")
    assert mlops.main(["--home", home, "lineage", "--endpoint", "nope"]) == 1
    assert "no lineage for endpoint 'nope'" in capsys.readouterr().err


def test_verify_catches_a_tampered_and_a_missing_artifact(story: dict, capsys: pytest.CaptureFixture[str]) -> None:
    home = story["home"]
    assert mlops.main(["--home", str(home.root), "lineage", "verify", "--endpoint", "credit-staging"]) == 0
    assert "all as recorded" in capsys.readouterr().out
    records = Records(home)
    outputs = records.step_properties(story["execution"], "Preprocess")["ProcessingOutputConfig"]["Outputs"]
    records.close()
    store = ObjectStore(home.store)
    train = store.path(next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == "train")) / "train.csv"
    original = train.read_bytes()
    train.write_bytes(original.replace(b"\n1,", b"\n0,", 1))
    validation_dir = store.path(next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == "validation"))
    hidden = validation_dir.with_name("validation.hidden")
    validation_dir.rename(hidden)
    try:
        assert mlops.main(["--home", str(home.root), "lineage", "verify", "--endpoint", "credit-staging", "--json"]) == 1
        states = {row["Name"]: row["State"] for row in json.loads(capsys.readouterr().out)}
        assert states["Preprocess/train"] == "changed" and states["Preprocess/validation"] == "missing"
    finally:
        train.write_bytes(original)
        hidden.rename(validation_dir)


def test_recording_twice_records_once(tmp_path: Path) -> None:
    store = LineageStore(Home.resolve(tmp_path / "l"))
    first = store.artifact("DataSet", "s3://b/k", "d1")
    assert store.artifact("DataSet", "s3://b/k", "d1") == first
    assert store.artifact("DataSet", "s3://b/k", "d2") != first  # new content, new artifact
    action = store.action("TrainingJob", "job-1", "Completed")
    store.associate(first, action, "ContributedTo")
    store.associate(first, action, "ContributedTo")
    assert len(store.downstream(first)) == 1
    with pytest.raises(ValueError):
        store.associate(first, action, "Caused")
    store.close()


def test_the_demos_view_keeps_each_schedules_latest_monitoring() -> None:
    def row(kind: str, name: str, step: str = "", produced_by: str = "") -> dict:
        return {"Type": kind, "Name": name, "Step": step, "Created": "2026-11-20T10:00:00Z", "Arn": f"arn:{kind}:{name}", "ProducedBy": produced_by}

    table = [row("Endpoint", "ep")]
    for schedule in ("hourly", "quality"):
        for hour in ("10", "11", "12"):
            name = f"{schedule}@2026-11-20T{hour}:00:00Z"
            table += [row("MonitoringExecution", name, schedule), row("Report", f"{schedule} {hour}", schedule, f"arn:MonitoringExecution:{name}")]
    shown, left_out = query.latest_monitoring(table)
    assert [r["Name"] for r in shown] == ["ep", "hourly@2026-11-20T12:00:00Z", "hourly 12", "quality@2026-11-20T12:00:00Z", "quality 12"]
    assert left_out == 8
