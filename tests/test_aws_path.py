"""The AWS path over the wire: the console scripts against a moto_server on 127.0.0.1.

run-pipeline upserts and starts the pipeline on a commit; a package built from that commit is
approved; mlops aws deploy-config fills the staging stage from it; the stage's endpoint config
and endpoint are created from the filled parameters (what CloudFormation would do); and
mlops lineage aws walks from the commit to the execution, the package and the endpoint.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import boto3
import git
import pytest

from moto_server import MotoServer

ROOT = Path(__file__).resolve().parents[1]
ROLE = "arn:aws:iam::123456789012:role/credit-default-pipeline-execution"
BUCKET = "credit-default-bucket"
GROUP = "CreditDefaultPackageGroup"
CONSTRAINTS = ROOT / "tests" / "golden" / "monitor" / "constraints_xgb_churn.json"


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path / "moto.log")
    yield server
    server.stop()


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    repository = git.Repo.init(tmp_path / "repo")
    (tmp_path / "repo" / "README.md").write_text("credit\n")
    repository.index.add(["README.md"])
    actor = git.Actor("Ada Lovelace", "ada@example.com")
    repository.index.commit("Tune the split", author=actor, committer=actor)
    return repository


def console(name: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name(name)
    return subprocess.run([str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_commit_to_endpoint_over_the_wire(moto: MotoServer, repo: git.Repo, guarded_env: dict[str, str], tmp_path: Path) -> None:
    env = {**guarded_env, "AWS_ENDPOINT_URL": moto.url, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    env.pop("CODEBUILD_RESOLVED_SOURCE_VERSION", None)
    sha = repo.head.commit.hexsha
    s3 = boto3.client("s3", region_name="eu-west-1", endpoint_url=moto.url)
    sm = boto3.client("sagemaker", region_name="eu-west-1", endpoint_url=moto.url)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    # 1. run-pipeline: upsert + start, carrying the commit.
    kwargs = json.dumps({"region": "eu-west-1", "default_bucket": BUCKET})
    done = console("run-pipeline", ["--role-arn", ROLE, "--kwargs", kwargs, "--tags", '{"project": "credit"}'], env, Path(repo.working_dir))
    assert done.returncode == 0, done.stderr
    execution_arn = done.stdout.strip()
    pipeline = sm.describe_pipeline(PipelineName="CreditDefaultPipeline")
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=pipeline["PipelineArn"])["Tags"]}
    assert tags["GitCommit"] == sha and tags["project"] == "credit"
    execution = sm.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    assert execution["PipelineExecutionDisplayName"] == f"git-{sha[:12]}"
    assert execution["PipelineExecutionDescription"] == f"{sha[:12]} Tune the split"
    listed = sm.list_pipeline_executions(PipelineName="CreditDefaultPipeline")["PipelineExecutionSummaries"]
    assert [e["PipelineExecutionArn"] for e in listed] == [execution_arn]
    uploaded = sorted(o["Key"].rsplit("/", 1)[1] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert uploaded == ["evaluate.py", "monitor-analyzer.pyz", "preprocess.py"]  # the job scripts and the analyzer bundle

    # 2. The pipeline's RegisterModel step, as SageMaker would run it, then the approval.
    s3.put_object(Bucket=BUCKET, Key="credit-default/baseline/constraints.json", Body=CONSTRAINTS.read_bytes())
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    package_arn = sm.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={"Containers": [{"Image": "xgboost", "ModelDataUrl": f"s3://{BUCKET}/credit-default/models/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        DriftCheckBaselines={"ModelDataQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/credit-default/baseline/statistics.json"},
                                                  "Constraints": {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/credit-default/baseline/constraints.json"}}},
        MetadataProperties={"CommitId": sha},
    )["ModelPackageArn"]  # fmt: skip
    refused = console("mlops", ["aws", "deploy-config", "--stage", "staging", "--bucket", BUCKET, "--model-role-arn", ROLE,
                                "--retrain-role-arn", ROLE, "-o", str(tmp_path / "build")], env, ROOT)
    assert refused.returncode == 1 and "has no Approved package" in refused.stderr
    sm.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved")

    # 3. The deploy build's step, then what CloudFormation would create from its output.
    done = console("mlops", ["aws", "deploy-config", "--stage", "staging", "--bucket", BUCKET, "--model-role-arn", ROLE,
                             "--retrain-role-arn", ROLE, "-o", str(tmp_path / "build")], env, ROOT)
    assert done.returncode == 0, done.stderr
    parameters = json.loads((tmp_path / "build" / "staging-config-export.json").read_text())["Parameters"]
    assert parameters["ModelPackageArn"] == package_arn and parameters["GitCommit"] == sha
    sm.create_model(ModelName="credit-default-staging-model", ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": parameters["ModelPackageArn"]}])
    sm.create_endpoint_config(
        EndpointConfigName="credit-default-staging-config",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "credit-default-staging-model", "InitialInstanceCount": int(parameters["EndpointInstanceCount"]),
                             "InstanceType": parameters["EndpointInstanceType"]}],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": int(parameters["SamplingPercentage"]), "DestinationS3Uri": parameters["DataCaptureUri"],
                           "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]},
    )  # fmt: skip
    sm.create_endpoint(EndpointName="credit-default-staging", EndpointConfigName="credit-default-staging-config")
    config = sm.describe_endpoint_config(EndpointConfigName="credit-default-staging-config")
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 100

    # 4. Lineage from the commit, read back from the APIs.
    done = console("mlops", ["lineage", "aws", "--commit", sha], env, ROOT)
    assert done.returncode == 0, done.stderr
    traced = json.loads(done.stdout)
    assert [e["PipelineExecutionArn"] for e in traced["PipelineExecutions"]] == [execution_arn]
    assert traced["ModelPackages"] == [{"ModelPackageArn": package_arn, "ModelApprovalStatus": "Approved"}]
    assert [e["EndpointName"] for e in traced["Endpoints"]] == ["credit-default-staging"]
    # Nothing left this machine: the guard logs any refused connection.
    log = Path(env["MLOPS_NETGUARD_LOG"])
    assert not log.exists() or log.read_text() == ""
