"""Every ``--json`` output that claims an AWS shape is one, by botocore's service model and by
the SDK v3's own resource classes; what the project adds is a documented extra, listed here."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.cli import main as mlops
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.monitor.scheduler import Monitor
from pipelines.monitoring.local import PipelineJob
from pipelines.registry.store import ModelRegistry
from pipelines.runs import local_run
from pipelines.serving import deploy
from steps.preprocess import plain_decimals
from tests.helpers.aws_shapes import problems
from tests.helpers.capture_helpers import capture_frame
from tests.helpers.retrainers import FakeRetrainer

pytestmark = pytest.mark.long  # run first (conftest.py)

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
CAPTURE = "s3://sagemaker-us-east-1-mlops/credit-default/data-capture"

# What the project adds to AWS's shapes, on purpose (docs/local-vs-aws.md lists them).
MONITORING_EXTRAS = ("ExecutionId", "ReportUri", "Violations", "AnalysisWindow", "Metrics")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, scored_test: Path) -> Home:
    """A pipeline run, an approval and deployment, a schedule and one monitoring execution."""
    home = Home.resolve(tmp_path_factory.mktemp("shapes-home"))
    document, name = local_run.load_definition(local_run.definitions.DEFAULT_MODULE, {}, None, None)
    # At the commit `mlops run` resolves from here, so that its run below is this one's cache hits.
    result = local_run.run(home, document, name, {}, local_run.local_commit(), tracking="off")
    assert result.status == "Succeeded", result.failure_reason
    with Records(home) as records:
        package = records.step_properties(result.execution_id, "Register")["ModelPackageArn"]
    with ModelRegistry(home) as registry:
        registry.on_approval(lambda p: deploy.deploy_package(home, p["ModelPackageArn"], "credit-default-staging", "staging"))
        registry.update_status(package, "Approved", "reviewed", by="ada")
        baselines = registry.describe(package)["DriftCheckBaselines"]["ModelDataQuality"]
    frame = pd.read_csv(scored_test, dtype={"prediction": str}).head(300)
    capture_frame(plain_decimals(frame), home.objects().path(CAPTURE), T0, timedelta(minutes=50), endpoint="credit-default-staging")
    with Monitor(home, retrainer=FakeRetrainer(), job=PipelineJob(home)) as monitor:
        monitor.schedules.create_schedule("hourly", "credit-default-staging", "cron(0 * ? * * *)", CAPTURE, baselines["Statistics"]["S3Uri"], baselines["Constraints"]["S3Uri"], deploy.monitoring_destination(CAPTURE))
        assert [o.status for o in monitor.run_due(now=T0 + timedelta(hours=1, minutes=5), backfill_from=T0)] == ["Completed"]
    return home


def cli(home: Home, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert mlops.main(["--home", str(home.root), *args]) == 0
    out = capsys.readouterr().out
    return json.loads(out[out.index("{") :])


def execution_id(home: Home) -> str:
    with Records(home) as records:
        (arn,) = [e["PipelineExecutionArn"] for e in records.list_executions() if ":pipeline/creditdefaultpipeline/" in e["PipelineExecutionArn"]]
        return arn.rsplit("/", 1)[1]


CASES = [
    (("executions", "list", "--json"), "ListPipelineExecutionsResponse", ()),
    (("registry", "list", "--json"), "ListModelPackagesOutput", ()),
    (("registry", "describe", "CreditDefaultPackageGroup/1", "--json"), "DescribeModelPackageOutput", ("ApprovalHistory",)),
    (("endpoint", "list", "--json"), "ListEndpointsOutput", ()),
    (("endpoint", "describe", "credit-default-staging", "--json"), "DescribeEndpointOutput", ("CaptureCounts", "DeploymentHistory")),
    (("monitor", "schedule", "list", "--json"), "ListMonitoringSchedulesResponse", ()),
    (("monitor", "schedule", "describe", "hourly"), "DescribeMonitoringScheduleResponse", tuple(f"LastMonitoringExecutionSummary.{k}" for k in MONITORING_EXTRAS)),
    (("monitor", "executions", "--json"), "ListMonitoringExecutionsResponse", tuple(f"MonitoringExecutionSummaries[].{k}" for k in MONITORING_EXTRAS)),
]


@pytest.mark.parametrize(("args", "shape", "extras"), CASES, ids=[c[1] for c in CASES])
def test_json_outputs_are_botocores_shapes(home: Home, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], shape: str, extras: tuple[str, ...]) -> None:
    assert problems(cli(home, capsys, *args), shape, frozenset(extras)) == []


def test_an_execution_and_its_steps_are_botocores_shapes(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    described = cli(home, capsys, "executions", "describe", execution_id(home), "--json")
    steps = described.pop("PipelineExecutionSteps")  # ListPipelineExecutionSteps' list, beside the description
    assert problems(described, "DescribePipelineExecutionResponse", frozenset({"PipelineParameters"})) == []
    assert problems({"PipelineExecutionSteps": steps}, "ListPipelineExecutionStepsResponse", frozenset({"PipelineExecutionSteps[].StepType", "PipelineExecutionSteps[].LogPath"})) == []
    metadata = {s["StepName"]: s.get("Metadata") for s in steps}
    assert metadata["Register"]["RegisterModel"]["Arn"].startswith("arn:aws:sagemaker:us-east-1:000000000000:model-package/")
    assert metadata["DataQualityBaseline"]["ProcessingJob"]["Arn"].startswith("arn:aws:sagemaker:us-east-1:000000000000:processing-job/")
    assert metadata["CheckAuc"]["Condition"]["Outcome"] in ("True", "False") and "ProcessingJob" in metadata["Preprocess"]


def test_the_sdk_v3_resource_classes_load_them(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    from sagemaker.core.resources import Endpoint, ModelPackage, MonitoringSchedule, PipelineExecution
    from sagemaker.core.utils.code_injection.codec import transform

    def without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
        return {k: v for k, v in document.items() if k not in keys}

    schedule = MonitoringSchedule(**transform(without(cli(home, capsys, "monitor", "schedule", "describe", "hourly"), "LastMonitoringExecutionSummary"), "DescribeMonitoringScheduleResponse"))
    assert schedule.monitoring_schedule_config.monitoring_job_definition.role_arn.startswith("arn:aws:iam::")
    package = ModelPackage(**transform(without(cli(home, capsys, "registry", "describe", "CreditDefaultPackageGroup/1", "--json"), "ApprovalHistory"), "DescribeModelPackageOutput"))
    assert package.model_package_name == "CreditDefaultPackageGroup" and package.model_approval_status == "Approved"
    endpoint = Endpoint(**transform(without(cli(home, capsys, "endpoint", "describe", "credit-default-staging", "--json"), "CaptureCounts", "DeploymentHistory"), "DescribeEndpointOutput"))
    assert endpoint.endpoint_status == "InService"
    described = cli(home, capsys, "executions", "describe", execution_id(home), "--json")
    execution = PipelineExecution(**transform(without(described, "PipelineExecutionSteps", "PipelineParameters"), "DescribePipelineExecutionResponse"))
    assert execution.pipeline_execution_status == "Succeeded"


def test_run_json_uses_describe_pipeline_executions_names(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(home, capsys, "run", "--json")  # cached: the same execution again
    assert problems(result, "DescribePipelineExecutionResponse", frozenset({"Steps"})) == []
