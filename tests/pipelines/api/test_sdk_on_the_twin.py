"""The tools SageMaker users already have, pointed at the twin by ``eval "$(mlops env)"`` and
nothing else: the SDK v3's ``Pipeline.upsert/start`` and ``PipelineExecution.wait`` on this
project's pipeline (the same outcome as ``mlops run``), and the project's own ``run-pipeline``
without ``--local``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import boto3
import git
import pytest
from botocore.exceptions import ClientError

from pipelines import run_pipeline
from pipelines.build import definition
from pipelines.engine.records import Records
from pipelines.lineage import sagemaker_api
from pipelines.local.home import Home
from pipelines.monitor.schedules import MonitoringStore
from pipelines.registry.store import ModelRegistry
from pipelines.runs import local_run
from pipelines.serving import address
from pipelines.serving.stages import stages
from tests.conftest import RAW_CSV
from tests.helpers.serving_helpers import RunningServer, twin_environment

pytestmark = pytest.mark.long  # run first (conftest.py)

ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
BUCKET = "sagemaker-us-east-1-mlops"  # the builder's default bucket
DATA_KEY = "credit-default/data/credit_default.csv"  # InputDataUrl's default


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Home, RunningServer]]:
    home = Home.resolve(tmp_path_factory.mktemp("sdk-twin") / "home")
    server = RunningServer(home, extra_args=("--auth", "sigv4"))
    said = twin_environment(home)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in said["values"].items():
                patch.setenv(name, value)
            for name in said["unset"] + ["AWS_SECURITY_TOKEN"]:
                patch.delenv(name, raising=False)
            boto3.setup_default_session()  # a session made earlier in this process holds the fake credentials
            # The user's part, as on AWS: the bucket and the raw data, with boto3.
            s3 = boto3.client("s3")
            s3.create_bucket(Bucket=BUCKET)
            s3.upload_file(str(RAW_CSV), BUCKET, DATA_KEY)
            yield home, server
    finally:
        boto3.DEFAULT_SESSION = None
        server.stop()


def test_mlops_env_points_every_client_at_the_running_server(twin: tuple[Home, RunningServer]) -> None:
    home, server = twin
    said = twin_environment(home)
    assert said["values"]["AWS_ENDPOINT_URL"] == server.url and said["values"]["AWS_REGION"] == said["values"]["AWS_DEFAULT_REGION"] == "us-east-1"
    assert said["unset"] == ["AWS_SESSION_TOKEN", "AWS_PROFILE"]  # another identity's token or profile would win
    assert boto3.client("sts").get_caller_identity()["Account"] == home.account  # no endpoint_url given: the environment's
    # AWS's own address, as the SDKs give STS explicitly: through the server's proxy, to the twin.
    assert said["values"]["HTTPS_PROXY"] == address.running(home)["proxy"] and said["values"]["AWS_CA_BUNDLE"] == str(home.proxy_ca)
    assert boto3.client("sts", endpoint_url="https://sts.us-east-1.amazonaws.com").get_caller_identity()["Account"] == home.account
    s3 = boto3.client("s3", endpoint_url="https://s3.us-east-1.amazonaws.com")  # virtual-hosted: the bucket in the host name
    s3.put_object(Bucket=BUCKET, Key="through/the-proxy.txt", Body=b"hello")
    assert home.objects().path(f"s3://{BUCKET}/through/the-proxy.txt").read_bytes() == b"hello"
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="through/")["KeyCount"] == 1
    with pytest.raises(ClientError, match=r"AccessDenied.*does not serve iam"):  # a service the twin does not serve: denied, as without permissions
        boto3.client("iam").get_role(RoleName="SageMakerExecutionRole")


def test_an_aws_notebooks_first_lines_work_as_in_a_sagemaker_notebook(twin: tuple[Home, RunningServer], caplog: pytest.LogCaptureFixture) -> None:
    from sagemaker.core.helper.session_helper import Session, get_execution_role

    session = Session()  # each of these asks STS at its regional address, given explicitly
    assert session.account_id() == "000000000000"
    assert get_execution_role() == "arn:aws:iam::000000000000:role/SageMakerExecutionRole"  # the caller is an assumed role, as in a notebook
    assert "Couldn't call 'get_role'" in caplog.text  # IAM is not served; the SDK says so and goes on, as it does without IAM permissions
    assert session.default_bucket() == "sagemaker-us-east-1-000000000000"
    assert "sagemaker-us-east-1-000000000000" in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]


def test_mlops_env_says_when_no_server_runs(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pipelines.cli.main", "--home", str(tmp_path / "h"), "env"], capture_output=True, text=True)
    assert done.returncode == 1 and done.stdout == ""
    assert f"no mlops serve is running for {tmp_path / 'h'}" in done.stderr and "Traceback" not in done.stderr


def evaluation_of(home: Home, package_arn: str) -> dict[str, Any]:
    with ModelRegistry(home) as registry:
        uri = registry.describe(package_arn)["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    report = json.loads(home.objects().path(uri).read_text())
    report["dataset"].pop("evaluation_time")  # when it ran
    return report


def test_the_sdk_v3_upserts_starts_and_waits_as_on_sagemaker_with_mlops_runs_outcome(twin: tuple[Home, RunningServer], tmp_path: Path) -> None:
    home, _ = twin
    pipeline = definition.build(definition.DEFAULT_MODULE, {"role": ROLE})
    assert pipeline.upsert(role_arn=ROLE)["PipelineArn"].endswith(":pipeline/creditdefaultpipeline")
    execution = pipeline.start()
    execution.wait(delay=1, max_attempts=100_000)  # the SDK's own waiter on DescribePipelineExecution
    assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    over_api = {s["StepName"]: s["StepStatus"] for s in execution.list_steps()}
    package = next(s["Metadata"]["RegisterModel"]["Arn"] for s in execution.list_steps() if s["StepName"] == "Register")
    # Each job a step names is DescribeProcessingJob's / DescribeTrainingJob's, as on SageMaker.
    client = boto3.client("sagemaker")
    for step in execution.list_steps():
        if "ProcessingJob" in step["Metadata"]:
            job = client.describe_processing_job(ProcessingJobName=step["Metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[1])
            assert job["ProcessingJobStatus"] == "Completed" and job["ProcessingJobArn"] == step["Metadata"]["ProcessingJob"]["Arn"]
        if "TrainingJob" in step["Metadata"]:
            job = client.describe_training_job(TrainingJobName=step["Metadata"]["TrainingJob"]["Arn"].rsplit("/", 1)[1])
            assert job["TrainingJobStatus"] == "Completed" and job["ModelArtifacts"]["S3ModelArtifacts"].endswith("/output/model.tar.gz")
            model_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    # Lineage, through SageMaker's lineage API: the model's artifact leads up to the job that
    # produced it and the data that went in.
    # Each job is a trial component, as SageMaker records them: the SDKs' LineageTableVisualizer
    # starts from ListTrialComponents(SourceArn=<job>) and lists its associations both ways.
    training_arn = next(s["Metadata"]["TrainingJob"]["Arn"] for s in execution.list_steps() if "TrainingJob" in s["Metadata"])
    (component,) = client.list_trial_components(SourceArn=training_arn)["TrialComponentSummaries"]
    assert component["TrialComponentArn"].endswith("-aws-training-job") and component["TrialComponentSource"] == {"SourceArn": training_arn, "SourceType": "SageMakerTrainingJob"}
    described = client.describe_trial_component(TrialComponentName=component["TrialComponentName"])
    assert described["Status"]["PrimaryStatus"] == "Completed" and any(m["MetricName"] == "validation:auc" for m in described["Metrics"])
    produced = client.list_associations(SourceArn=component["TrialComponentArn"])["AssociationSummaries"]
    assert model_uri in [client.describe_artifact(ArtifactArn=a["DestinationArn"])["Source"]["SourceUri"] for a in produced if a["AssociationType"] == "Produced"]
    assert {a["AssociationType"] for a in client.list_associations(DestinationArn=component["TrialComponentArn"])["AssociationSummaries"]} == {"ContributedTo"}
    artifact = client.list_artifacts(SourceUri=model_uri)["ArtifactSummaries"][0]
    assert client.describe_artifact(ArtifactArn=artifact["ArtifactArn"])["Source"]["SourceUri"] == model_uri
    up = client.query_lineage(StartArns=[artifact["ArtifactArn"]], Direction="Ascendants", IncludeEdges=True, MaxDepth=2)
    vertices = {v["Arn"]: v for v in up["Vertices"]}
    assert vertices[component["TrialComponentArn"]]["LineageType"] == "TrialComponent"  # the job that produced it
    assert any(v["LineageType"] == "Artifact" for v in vertices.values())  # and what went into that job
    assert all(e["SourceArn"] in vertices and e["DestinationArn"] in {*vertices, artifact["ArtifactArn"]} for e in up["Edges"])
    (registration,) = client.list_actions(ActionType="ModelRegistration")["ActionSummaries"]
    assert client.describe_action(ActionName=registration["ActionArn"])["ActionType"] == "ModelRegistration"
    assert {a["SourceArn"] for a in client.list_associations(DestinationArn=artifact["ArtifactArn"])["AssociationSummaries"]} <= set(vertices)
    context = client.list_contexts()["ContextSummaries"][0]
    assert client.describe_context(ContextName=context["ContextArn"])["ContextType"] == context["ContextType"]

    # The same definition by mlops run, in a home of its own.
    local = Home.resolve(tmp_path / "local")
    document, name = local_run.load_definition(definition.DEFAULT_MODULE, {"role": ROLE}, None, None)
    result = local_run.run(local, document, name, {}, None, tracking="off")
    with Records(local) as records:
        by_mlops = {s["StepName"]: s["StepStatus"] for s in records.list_steps(result.execution_id)}
        local_package = records.step_properties(result.execution_id, "Register")["ModelPackageArn"]
    assert over_api == by_mlops and set(over_api.values()) == {"Succeeded"}
    evaluation = evaluation_of(home, package)
    assert evaluation == evaluation_of(local, local_package) and evaluation["binary_classification_metrics"]["auc"]["value"] > 0.7


def test_run_pipeline_without_local_runs_on_the_twin_with_the_commit(twin: tuple[Home, RunningServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    home, _ = twin
    repository = git.Repo.init(tmp_path / "repo")
    (tmp_path / "repo" / "README.md").write_text("hello\n")
    repository.index.add(["README.md"])
    actor = git.Actor("Ada Lovelace", "ada@example.com")
    repository.index.commit("Train on the new split", author=actor, committer=actor)
    monkeypatch.chdir(tmp_path / "repo")
    monkeypatch.delenv("CODEBUILD_RESOLVED_SOURCE_VERSION", raising=False)
    # A model of its own (another depth), so that its package is this commit's.
    assert run_pipeline.main(["--role-arn", ROLE, "--parameters", '{"MaxDepth": 3}', "--wait", "--poll-seconds", "0.2"]) == 0
    arn = capsys.readouterr().out.strip().splitlines()[-1]
    sha = repository.head.commit.hexsha
    client = boto3.client("sagemaker")
    described = client.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionStatus"] == "Succeeded" and described["PipelineExecutionDisplayName"] == f"git-{sha[:12]}"
    parameters = client.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    assert {"Name": "GitCommit", "Value": sha} in parameters

    # The AWS path's own lineage reader (lineage/sagemaker_api.py, written for SageMaker) traces it
    # on the twin: the approval deploys staging, and a schedule watches it.
    package = next(s["Metadata"]["RegisterModel"]["Arn"] for s in client.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"] if s["StepName"] == "Register")
    client.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    endpoint = stages(home)["staging"]["endpoint"]
    baselines = client.describe_model_package(ModelPackageName=package)["DriftCheckBaselines"]["ModelDataQuality"]
    capture = client.describe_endpoint(EndpointName=endpoint)["DataCaptureConfig"]["DestinationS3Uri"]
    with MonitoringStore(home) as store:
        store.create_schedule("credit-hourly", endpoint, "cron(0 * ? * * *)", capture, baselines["Statistics"]["S3Uri"], baselines["Constraints"]["S3Uri"], f"{capture}-reports")
    traced = sagemaker_api.trace_endpoint(client, endpoint, "CreditDefaultPipeline")
    assert traced["ModelPackageArn"] == package and traced["GitCommit"] == sha and traced["PipelineExecutions"] == [arn]
    assert traced["Monitoring"] == []  # scheduled, nothing run yet
    assert [s["MonitoringScheduleName"] for s in client.list_monitoring_schedules(EndpointName=endpoint)["MonitoringScheduleSummaries"]] == ["credit-hourly"]
    assert client.describe_monitoring_schedule(MonitoringScheduleName="credit-hourly")["MonitoringType"] == "DataQuality"
    assert client.list_monitoring_executions(MonitoringScheduleName="credit-hourly")["MonitoringExecutionSummaries"] == []
