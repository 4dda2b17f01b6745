"""The local AWS endpoint through boto3's own clients, signed (``mlops serve --auth sigv4``):
STS, S3 and the SageMaker API on the one address the runtime answers on. The server runs with
MLOPS_API_STRICT=1 (conftest): every SageMaker answer is checked against botocore's output shape
by botocore's validator, so a handler that answers a member the shape lacks, or leaves out a
required one, fails the call that got it."""

from __future__ import annotations

import io
import json
import re
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from pipelines.api import sagemaker as api
from pipelines.engine import callbacks
from pipelines.local.home import Home
from pipelines.runs import local_run
from pipelines.serving.auth import load_or_create
from pipelines.serving.endpoints import EndpointStore
from tests.helpers.serving_helpers import XGBOOST_IMAGE, RunningServer

ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"


class Twin:
    def __init__(self, home: Home, server: RunningServer) -> None:
        self.home, self.server = home, server
        self.credentials = load_or_create(home)

    def client(self, service: str, secret: str | None = None, **config: Any) -> Any:
        return boto3.client(
            service, endpoint_url=self.server.url, region_name="us-east-1", aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=secret or self.credentials.secret_access_key, aws_session_token=None,
            config=botocore.config.Config(retries={"max_attempts": 1}, **config),
        )  # fmt: skip


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    home = Home.resolve(tmp_path_factory.mktemp("twin") / "home")
    server = RunningServer(home, extra_args=("--auth", "sigv4"))
    try:
        yield Twin(home, server)
    finally:
        server.stop()


def code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


# -- STS and S3 -------------------------------------------------------------------------------
def test_sts_names_the_twins_account_and_refuses_a_wrong_signature(twin: Twin) -> None:
    identity = twin.client("sts").get_caller_identity()
    assert identity["Account"] == twin.home.account == "000000000000"
    assert identity["Arn"] == "arn:aws:sts::000000000000:assumed-role/SageMakerExecutionRole/mlops-local"
    with pytest.raises(ClientError) as refused:
        twin.client("sts", secret="x" * 40).get_caller_identity()
    assert code(refused.value) == "SignatureDoesNotMatch"


def test_s3_objects_round_trip_through_the_store_the_jobs_read(twin: Twin) -> None:
    s3 = twin.client("s3")
    s3.create_bucket(Bucket="raw-data")
    s3.put_object(Bucket="raw-data", Key="abalone/abalone.csv", Body=b"a,b\n1,2\n3,4\n")
    s3.put_object(Bucket="raw-data", Key="abalone/more/x.csv", Body=b"x")
    s3.put_object(Bucket="raw-data", Key="top.txt", Body=b"t")
    s3.put_object(Bucket="raw-data", Key="odd names/100% é+1.txt", Body=b"odd")  # decoded once, as S3 does
    assert twin.home.objects().path("s3://raw-data/odd names/100% é+1.txt").read_bytes() == b"odd"
    assert s3.get_object(Bucket="raw-data", Key="odd names/100% é+1.txt")["Body"].read() == b"odd"
    # What a job sees is what the client put: the same file under MLOPS_HOME.
    assert twin.home.objects().path("s3://raw-data/abalone/abalone.csv").read_bytes() == b"a,b\n1,2\n3,4\n"
    listed = s3.list_objects_v2(Bucket="raw-data", Prefix="abalone/", Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == ["abalone/abalone.csv"] and [p["Prefix"] for p in listed["CommonPrefixes"]] == ["abalone/more/"]
    assert s3.get_object(Bucket="raw-data", Key="abalone/abalone.csv", Range="bytes=4-6")["Body"].read() == b"1,2"
    assert s3.head_object(Bucket="raw-data", Key="abalone/abalone.csv")["ContentLength"] == 12
    s3.copy_object(Bucket="raw-data", Key="copied.csv", CopySource={"Bucket": "raw-data", "Key": "abalone/abalone.csv"})
    assert s3.get_object(Bucket="raw-data", Key="copied.csv")["Body"].read() == b"a,b\n1,2\n3,4\n"
    # boto3's transfer manager: multipart past 8 MB, parts in parallel.
    big = bytes(range(256)) * (40 * 1024 * 4)  # 40 MiB
    s3.upload_fileobj(io.BytesIO(big), "raw-data", "big.bin")
    back = io.BytesIO()
    s3.download_fileobj("raw-data", "big.bin", back)
    assert back.getvalue() == big and s3.head_object(Bucket="raw-data", Key="big.bin")["ContentLength"] == len(big)
    deleted = s3.delete_objects(Bucket="raw-data", Delete={"Objects": [{"Key": "top.txt"}, {"Key": "copied.csv"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["copied.csv", "top.txt"]
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="raw-data", Key="top.txt")
    assert code(missing.value) == "NoSuchKey"
    with pytest.raises(ClientError) as no_bucket:
        s3.list_objects_v2(Bucket="nowhere")
    assert code(no_bucket.value) == "NoSuchBucket"
    assert "raw-data" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as refused:
        twin.client("s3", secret="y" * 40).list_buckets()
    assert code(refused.value) == "SignatureDoesNotMatch"


def test_pandas_reads_s3_urls_from_the_twin(twin: Twin, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    twin.client("s3").create_bucket(Bucket="frames")
    twin.client("s3").put_object(Bucket="frames", Key="frame.csv", Body=b"x,y\n1,2\n")
    for name, value in {"AWS_ENDPOINT_URL": twin.server.url, "AWS_ACCESS_KEY_ID": twin.credentials.access_key_id, "AWS_SECRET_ACCESS_KEY": twin.credentials.secret_access_key}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    monkeypatch.delenv("AWS_SECURITY_TOKEN")
    with warnings.catch_warnings():  # fsspec's warning about the s3fs the SDK's dependencies resolve to (0.4.2)
        warnings.simplefilter("ignore", UserWarning)
        frame = pd.read_csv("s3://frames/frame.csv")  # AWS_ENDPOINT_URL alone sends s3fs to the twin
    assert frame.to_dict("records") == [{"x": 1, "y": 2}]


# -- the SageMaker API: what it refuses -------------------------------------------------------
def test_an_operation_not_served_is_aws_error_naming_it(twin: Twin) -> None:
    sagemaker = twin.client("sagemaker")
    with pytest.raises(ClientError) as refused:
        sagemaker.list_hyper_parameter_tuning_jobs()
    assert code(refused.value) == "UnknownOperationException" and refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "SageMaker.ListHyperParameterTuningJobs is not served" in str(refused.value)


def test_no_custom_images_are_kept_so_a_lookup_falls_back_as_on_sagemaker(twin: Twin) -> None:
    sagemaker = twin.client("sagemaker")
    assert sagemaker.list_images()["Images"] == []
    # AWS's CDK project template looks its images up and catches exactly this.
    with pytest.raises(sagemaker.exceptions.ResourceNotFound, match="image-version/sagemaker-p-1-trainingimagebuild does not exist"):
        sagemaker.describe_image_version(ImageName="sagemaker-p-1-trainingimagebuild")


def test_inputs_are_validated_against_botocores_model_on_the_server(twin: Twin) -> None:
    unchecked = twin.client("sagemaker", parameter_validation=False)  # the client's own check off
    with pytest.raises(ClientError) as refused:
        unchecked.create_pipeline(PipelineName="x" * 300, ClientRequestToken="t" * 40, RoleArn=ROLE, PipelineDefinition="{}")
    assert code(refused.value) == "ValidationException" and "at 'pipelineName' failed to satisfy constraint: Member must have length less than or equal to 256" in str(refused.value)
    with pytest.raises(ClientError) as not_json:
        twin.client("sagemaker").create_pipeline(PipelineName="Bad", ClientRequestToken="t" * 40, RoleArn=ROLE, PipelineDefinition="{not json")
    assert code(not_json.value) == "ValidationException" and "not JSON" in str(not_json.value)


# -- pipelines and executions -----------------------------------------------------------------
@pytest.fixture(scope="module")
def review_definition() -> str:
    document, _ = local_run.load_definition("tests.builders.callbacks", {}, None, None)
    return json.dumps(document)


def ended(sagemaker: Any, arn: str) -> dict[str, Any]:
    """DescribePipelineExecution once the execution is no longer Executing (an event: its
    runner records the end)."""
    while True:
        described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        if described["PipelineExecutionStatus"] not in ("Executing", "Stopping"):
            return described
        time.sleep(0.1)


def waiting_token(home: Home, arn: str) -> str:
    """The callback token of ``arn``'s waiting step, once it waits (the message file appears)."""
    while True:
        for message in callbacks.pending(home):
            if message["pipelineExecutionArn"] == arn:
                return str(message["token"])
        time.sleep(0.1)


def test_pipelines_are_created_listed_updated_and_deleted(twin: Twin, review_definition: str) -> None:
    sagemaker = twin.client("sagemaker")
    arn = sagemaker.create_pipeline(PipelineName="Lifecycle", PipelineDefinition=review_definition, RoleArn=ROLE, Tags=[{"Key": "team", "Value": "risk"}])["PipelineArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:pipeline/lifecycle"
    with pytest.raises(ClientError) as again:
        sagemaker.create_pipeline(PipelineName="Lifecycle", PipelineDefinition=review_definition, RoleArn=ROLE)
    # The SDKs' upsert recognises exactly these words, then updates.
    assert code(again.value) == "ValidationException" and "Pipeline names must be unique" in str(again.value)
    sagemaker.update_pipeline(PipelineName="Lifecycle", PipelineDescription="reviewed by a human")
    described = sagemaker.describe_pipeline(PipelineName="Lifecycle")
    assert described["PipelineDescription"] == "reviewed by a human" and json.loads(described["PipelineDefinition"]) == json.loads(review_definition)
    assert "Lifecycle" in [p["PipelineName"] for p in sagemaker.list_pipelines(PipelineNamePrefix="Life")["PipelineSummaries"]]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "risk"}]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}])
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]
    assert sagemaker.delete_pipeline(PipelineName="Lifecycle", ClientRequestToken="d" * 32)["PipelineArn"] == arn
    with pytest.raises(ClientError) as gone:
        sagemaker.describe_pipeline(PipelineName="Lifecycle")
    assert code(gone.value) == "ResourceNotFound"


def test_an_execution_runs_on_the_engine_and_waits_for_its_callback(twin: Twin, review_definition: str) -> None:
    sagemaker = twin.client("sagemaker")
    sagemaker.create_pipeline(PipelineName="Review", PipelineDefinition=review_definition, RoleArn=ROLE)
    token = "start-once-" + "x" * 21
    started = sagemaker.start_pipeline_execution(
        PipelineName="Review", PipelineExecutionDisplayName="by-boto3", ClientRequestToken=token, PipelineParameters=[{"Name": "ModelPackage", "Value": "CreditDefaultPackageGroup/9"}],
    )["PipelineExecutionArn"]  # fmt: skip
    # The same request again (a retry) is the same execution, as SageMaker answers it.
    assert sagemaker.start_pipeline_execution(PipelineName="Review", ClientRequestToken=token)["PipelineExecutionArn"] == started
    assert sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=started)["PipelineParameters"] == [{"Name": "ModelPackage", "Value": "CreditDefaultPackageGroup/9"}]
    callback = waiting_token(twin.home, started)
    sagemaker.send_pipeline_execution_step_success(CallbackToken=callback, OutputParameters=[{"Name": "approved", "Value": "true"}, {"Name": "reviewer", "Value": "ada"}, {"Name": "confidence", "Value": "0.9"}])
    described = ended(sagemaker, started)
    assert described["PipelineExecutionStatus"] == "Succeeded" and described["PipelineExecutionDisplayName"] == "by-boto3"
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=started, SortOrder="Ascending")["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("HumanReview", "Succeeded"), ("Approved", "Succeeded")]
    definition = sagemaker.describe_pipeline_definition_for_execution(PipelineExecutionArn=started)["PipelineDefinition"]
    assert json.loads(definition) == json.loads(review_definition)
    # A failure answer fails the execution with the reviewer's reason.
    failing = sagemaker.start_pipeline_execution(PipelineName="Review", ClientRequestToken="f" * 32)["PipelineExecutionArn"]
    sagemaker.send_pipeline_execution_step_failure(CallbackToken=waiting_token(twin.home, failing), FailureReason="not this quarter")
    failed = ended(sagemaker, failing)
    assert failed["PipelineExecutionStatus"] == "Failed" and "not this quarter" in failed.get("FailureReason", "")
    summaries = sagemaker.list_pipeline_executions(PipelineName="Review")["PipelineExecutionSummaries"]
    assert [s["PipelineExecutionArn"] for s in summaries] == [failing, started]


def test_stop_pipeline_execution_stops_its_runner(twin: Twin, review_definition: str) -> None:
    sagemaker = twin.client("sagemaker")
    sagemaker.create_pipeline(PipelineName="Stoppable", PipelineDefinition=review_definition, RoleArn=ROLE)
    arn = sagemaker.start_pipeline_execution(PipelineName="Stoppable", ClientRequestToken="s" * 32)["PipelineExecutionArn"]
    callback = waiting_token(twin.home, arn)
    sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken="t" * 32)
    assert ended(sagemaker, arn)["PipelineExecutionStatus"] == "Stopped"
    with pytest.raises(ClientError) as late:  # the step no longer waits: its answer is refused
        sagemaker.send_pipeline_execution_step_success(CallbackToken=callback)
    assert code(late.value) == "ConflictException"  # one of the operation's errors in botocore's model
    with pytest.raises(ClientError) as twice:
        sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken="u" * 32)
    assert code(twice.value) == "ValidationException" and "Stopped" in str(twice.value)


def test_a_definition_the_engine_refuses_ends_its_execution_failed_saying_why(twin: Twin) -> None:
    sagemaker = twin.client("sagemaker")
    emr = {"Version": "2020-12-01", "Steps": [{"Name": "Cluster", "Type": "EMR", "Arguments": {"ClusterId": "j-1", "StepConfig": {}}}]}
    sagemaker.create_pipeline(PipelineName="OnEmr", PipelineDefinition=json.dumps(emr), RoleArn=ROLE)
    arn = sagemaker.start_pipeline_execution(PipelineName="OnEmr", ClientRequestToken="e" * 32)["PipelineExecutionArn"]
    described = ended(sagemaker, arn)
    assert described["PipelineExecutionStatus"] == "Failed" and "/Steps/0" in described["FailureReason"] and "EMR" in described["FailureReason"]


# -- the registry -----------------------------------------------------------------------------
def test_model_packages_are_registered_described_and_an_approval_deploys_staging(twin: Twin, model_dir: Path) -> None:
    s3, sagemaker = twin.client("s3"), twin.client("sagemaker")
    s3.create_bucket(Bucket="models")
    s3.upload_file(str(model_dir / "model.tar.gz"), "models", "abalone/model.tar.gz")
    group = sagemaker.create_model_package_group(ModelPackageGroupName="AbalonePackageGroup", ModelPackageGroupDescription="abalone")["ModelPackageGroupArn"]
    assert sagemaker.describe_model_package_group(ModelPackageGroupName="AbalonePackageGroup")["ModelPackageGroupArn"] == group
    assert "AbalonePackageGroup" in [g["ModelPackageGroupName"] for g in sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]]
    package = sagemaker.create_model_package(
        ModelPackageGroupName="AbalonePackageGroup", ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={"Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": "s3://models/abalone/model.tar.gz"}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]  # fmt: skip
    assert package.endswith("model-package/abalonepackagegroup/1")
    assert sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "PendingManualApproval"
    listed = sagemaker.list_model_packages(ModelPackageGroupName="AbalonePackageGroup")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [package]
    sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    assert sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "Approved"
    with EndpointStore(twin.home) as endpoints:
        described = endpoints.describe_endpoint("credit-default-staging")
    assert described["EndpointStatus"] == "InService"


# -- jobs, models, endpoint configs, endpoints ---------------------------------------------------
def training_definition(bucket: str) -> str:
    step = {
        "Name": "Train", "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
            "HyperParameters": {"num_round": "3", "objective": "binary:logistic", "max_depth": "2"},
            "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/train/"}}}],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/models"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5},
            "RoleArn": ROLE, "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }  # fmt: skip
    return json.dumps({"Version": "2020-12-01", "Metadata": {}, "Parameters": [], "Steps": [step]})


def test_the_jobs_an_execution_ran_are_described_and_listed(twin: Twin) -> None:
    s3, sagemaker = twin.client("s3"), twin.client("sagemaker")
    s3.create_bucket(Bucket="jobs")
    s3.put_object(Bucket="jobs", Key="train/train.csv", Body=b"".join(f"{i % 2},{i % 2 + 0.1 * (i % 3)},{i % 5}\n".encode() for i in range(60)))
    sagemaker.create_pipeline(PipelineName="Trains", PipelineDefinition=training_definition("jobs"), RoleArn=ROLE)
    arn = sagemaker.start_pipeline_execution(PipelineName="Trains", ClientRequestToken="j" * 32)["PipelineExecutionArn"]
    assert ended(sagemaker, arn)["PipelineExecutionStatus"] == "Succeeded"
    (step,) = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    job_arn = step["Metadata"]["TrainingJob"]["Arn"]
    (summary,) = sagemaker.list_training_jobs(NameContains="train", StatusEquals="Completed")["TrainingJobSummaries"]
    assert summary["TrainingJobArn"] == job_arn and summary["TrainingJobStatus"] == "Completed"
    described = sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
    assert described["HyperParameters"]["num_round"] == "3" and described["SecondaryStatus"] == "Completed"
    model = described["ModelArtifacts"]["S3ModelArtifacts"]
    assert model.startswith("s3://jobs/models/") and twin.home.objects().path(model).is_file()
    assert [m["MetricName"] for m in described["FinalMetricDataList"]] == ["train:logloss"]
    assert described["TrainingEndTime"] >= described["TrainingStartTime"]
    assert sagemaker.list_processing_jobs(NameContains="no-such-job")["ProcessingJobSummaries"] == []
    assert sagemaker.list_transform_jobs()["TransformJobSummaries"] == []
    with pytest.raises(ClientError) as no_processing:
        sagemaker.describe_processing_job(ProcessingJobName="nowhere")
    with pytest.raises(ClientError) as no_transform:
        sagemaker.describe_transform_job(TransformJobName="nowhere")
    assert code(no_processing.value) == code(no_transform.value) == "ResourceNotFound"


def test_models_configs_and_endpoints_created_over_the_api_are_served(twin: Twin, model_dir: Path) -> None:
    from tests.helpers.serving_helpers import wait_until_served

    s3, sagemaker = twin.client("s3"), twin.client("sagemaker")
    s3.create_bucket(Bucket="served")
    s3.upload_file(str(model_dir / "model.tar.gz"), "served", "m/model.tar.gz")
    container = {"Image": XGBOOST_IMAGE, "ModelDataUrl": "s3://served/m/model.tar.gz"}
    assert sagemaker.create_model(ModelName="credit-m1", PrimaryContainer=container, ExecutionRoleArn=ROLE)["ModelArn"].endswith(":model/credit-m1")
    assert sagemaker.describe_model(ModelName="credit-m1")["PrimaryContainer"]["ModelDataUrl"] == "s3://served/m/model.tar.gz"
    variant = {"VariantName": "AllTraffic", "ModelName": "credit-m1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    sagemaker.create_endpoint_config(EndpointConfigName="credit-c1", ProductionVariants=[variant])
    sagemaker.create_endpoint_config(EndpointConfigName="credit-c2", ProductionVariants=[variant])
    assert sagemaker.describe_endpoint_config(EndpointConfigName="credit-c1")["ProductionVariants"][0]["ModelName"] == "credit-m1"
    sagemaker.create_endpoint(EndpointName="credit-api", EndpointConfigName="credit-c1")
    with pytest.raises(ClientError) as twice:
        sagemaker.create_endpoint(EndpointName="credit-api", EndpointConfigName="credit-c1")
    assert code(twice.value) == "ValidationException" and "already existing endpoint" in str(twice.value)
    assert sagemaker.describe_endpoint(EndpointName="credit-api")["EndpointStatus"] == "InService"
    assert "credit-api" in [e["EndpointName"] for e in sagemaker.list_endpoints(NameContains="credit")["Endpoints"]]
    wait_until_served(twin.home, twin.server)
    row = "0.1,0.2,20000,2,2,1,24,2,2,-1,-1,-2,-2,3913,3102,689,0,0,0,689,0,0,0"
    answer = twin.client("sagemaker-runtime").invoke_endpoint(EndpointName="credit-api", ContentType="text/csv", Body=row)
    assert 0 < float(answer["Body"].read()) < 1
    sagemaker.update_endpoint(EndpointName="credit-api", EndpointConfigName="credit-c2")
    assert sagemaker.describe_endpoint(EndpointName="credit-api")["EndpointConfigName"] == "credit-c2"
    with pytest.raises(ClientError) as in_use:
        sagemaker.delete_model(ModelName="credit-m1")
    assert code(in_use.value) == "ValidationException" and "served by endpoint credit-api" in str(in_use.value)
    sagemaker.delete_endpoint_config(EndpointConfigName="credit-c1")  # no longer the live one
    sagemaker.delete_endpoint(EndpointName="credit-api")
    sagemaker.delete_endpoint_config(EndpointConfigName="credit-c2")
    sagemaker.delete_model(ModelName="credit-m1")
    with pytest.raises(ClientError) as gone:
        sagemaker.describe_model(ModelName="credit-m1")
    assert code(gone.value) == "ValidationException" and "Could not find model" in str(gone.value)


def test_every_operation_served_is_called_by_a_test_here() -> None:
    """Each served operation is called by a test of this folder through boto3 against the strict
    server, so its answer was checked against botocore's output shape."""
    source = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
    called = {re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() for name in api.OPERATIONS}
    missing = sorted(name for name in called if f".{name}(" not in source)
    assert not missing, f"served but not called by a test: {missing}"
