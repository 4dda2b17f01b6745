"""Other people's SageMaker pipelines, installed unchanged in virtualenvs of their own with their
own SDK (``make test`` makes them: ``.venv-corpus/``), run against the twin as their users run
them, and ending as SageMaker ends them. Their sources and licences: ``tests/corpus/``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterator

import boto3
import numpy as np
import pytest

from pipelines.engine import confinement
from pipelines.local.home import Home

from serving_helpers import RunningServer, twin_environment

ROOT = Path(__file__).resolve().parents[1]
ABALONE = ROOT / ".venv-corpus" / "abalone-sdk2"
SDK3 = ROOT / ".venv-corpus" / "sdk3"
CORPUS = ROOT / "tests" / "corpus"
ROLE = "arn:aws:iam::000000000000:role/SageMakerPipelineRole"
SEED_DATA = ("sagemaker-servicecatalog-seedcode-us-east-1", "dataset/abalone-dataset.csv")  # InputDataUrl's default
SAMPLE_DATA = ("sagemaker-sample-files", "datasets/tabular/uci_abalone/abalone.csv")  # the SDK's notebooks' InputDataUrl
NEEDS_BUBBLEWRAP = pytest.mark.skipif(confinement.problem() is not None, reason=f"its scripts hard-code /opt/ml, which needs bubblewrap: {confinement.problem()}")


def abalone_rows(count: int = 1200, seed: int = 0) -> str:
    """Rows in the UCI abalone layout the seed code reads (no header; sex, seven measures, rings),
    made here: rings grow with the shell's weight, as they do in the real data."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["M", "F", "I"], count)
    length = rng.uniform(0.1, 0.8, count)
    whole = length**3 * 2.5
    shell = whole * 0.3
    rings = np.clip(np.round(2 + 25 * shell + rng.normal(0, 1, count)), 1, 29).astype(int)
    columns = zip(sex, length, length * 0.8, length * 0.25, whole, whole * 0.45, whole * 0.22, shell, rings, strict=True)
    return "\n".join(f"{s},{a:.3f},{b:.3f},{c:.3f},{d:.4f},{e:.4f},{f:.4f},{g:.4f},{r}" for s, a, b, c, d, e, f, g, r in columns) + "\n"


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[tuple[Home, dict[str, str]]]:
    """A twin serving, and a shell's environment after ``eval "$(mlops env)"`` (without the test
    setup's SAGEMAKER_VALIDATE_ROLE=false: a user's shell has no such thing)."""
    home = Home.resolve(tmp_path / "home")
    server = RunningServer(home, extra_args=("--auth", "sigv4"))
    said = twin_environment(home)
    dropped = ("AWS_SECURITY_TOKEN", "MLOPS_HOME", "SAGEMAKER_VALIDATE_ROLE")
    environment = {k: v for k, v in os.environ.items() if k not in said["unset"] and k not in dropped}
    try:
        yield home, {**environment, **said["values"]}  # type: ignore[dict-item]
    finally:
        server.stop()


@pytest.mark.skipif(not (ABALONE / ".installed").exists(), reason="make test installs .venv-corpus/abalone-sdk2 (AWS's seed code with SDK v2)")
@NEEDS_BUBBLEWRAP
def test_aws_project_seed_code_runs_its_own_codebuild_command_to_a_registered_package(shell: tuple[Home, dict[str, str]], tmp_path: Path) -> None:
    home, environment = shell
    session = boto3.Session(aws_access_key_id=environment["AWS_ACCESS_KEY_ID"], aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=environment["AWS_ENDPOINT_URL"])
    # The user's part: the raw data where the template reads it, put with boto3.
    s3.create_bucket(Bucket=SEED_DATA[0])
    s3.put_object(Bucket=SEED_DATA[0], Key=SEED_DATA[1], Body=abalone_rows().encode())
    # The template's buildspec.yml command, with its kwargs (the artifact bucket, the project's names).
    kwargs = {"region": "us-east-1", "role": ROLE, "default_bucket": "sagemaker-project-p-abalone", "pipeline_name": "abalone-p-1", "model_package_group_name": "abalone-p-1", "base_job_prefix": "abalone-p-1"}
    tags = [{"Key": "sagemaker:project-name", "Value": "abalone"}, {"Key": "sagemaker:project-id", "Value": "p-1"}]
    command = [str(ABALONE / "bin" / "run-pipeline"), "--module-name", "pipelines.abalone.pipeline", "--role-arn", ROLE, "--tags", json.dumps(tags), "--kwargs", json.dumps(kwargs)]
    done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "#####Execution completed." in done.stdout

    sagemaker = session.client("sagemaker", endpoint_url=environment["AWS_ENDPOINT_URL"])
    (execution,) = sagemaker.list_pipeline_executions(PipelineName="abalone-p-1")["PipelineExecutionSummaries"]
    assert execution["PipelineExecutionStatus"] == "Succeeded"
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=execution["PipelineExecutionArn"], SortOrder="Ascending")["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [
        ("PreprocessAbaloneData", "Succeeded"), ("TrainAbaloneModel", "Succeeded"), ("EvaluateAbaloneModel", "Succeeded"),
        ("CheckMSEAbaloneEvaluation", "Succeeded"), ("RegisterAbaloneModel-RegisterModel", "Succeeded"),
    ]  # fmt: skip
    (package,) = sagemaker.list_model_packages(ModelPackageGroupName="abalone-p-1")["ModelPackageSummaryList"]
    described = sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    report_uri = described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, key = report_uri[len("s3://") :].split("/", 1)
    report = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert 0 < report["regression_metrics"]["mse"]["value"] <= 6.0  # the template's own condition
    assert not Path("/opt/ml").exists()  # its scripts hard-code /opt/ml/processing: their sandboxes took it


def clients(environment: dict[str, str]) -> tuple[Any, Any]:
    """boto3's S3 and SageMaker clients as that shell makes them."""
    session = boto3.Session(aws_access_key_id=environment["AWS_ACCESS_KEY_ID"], aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
    return session.client("s3", endpoint_url=environment["AWS_ENDPOINT_URL"]), session.client("sagemaker", endpoint_url=environment["AWS_ENDPOINT_URL"])


def run_notebook(notebook: Path, work: Path, environment: dict[str, str]) -> None:
    """``jupyter-execute`` on a copy of ``notebook`` in ``work`` (its cells write files beside it),
    with Jupyter's own folders in ``work`` so no user's kernels or settings take part. The kernel
    starts when it starts: no start-up deadline, no cell deadline."""
    work.mkdir(parents=True)
    copy = work / notebook.name
    copy.write_bytes(notebook.read_bytes())
    jupyter = {"JUPYTER_CONFIG_DIR": str(work / ".jupyter"), "JUPYTER_DATA_DIR": str(work / ".jupyter-data"), "JUPYTER_RUNTIME_DIR": str(work / ".jupyter-runtime"), "IPYTHONDIR": str(work / ".ipython")}
    command = [str(SDK3 / "bin" / "jupyter-execute"), "--startup_timeout=86400", "--output={notebook_name}.executed", copy.name]
    done = subprocess.run(command, cwd=work, env={**environment, **jupyter}, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr[-4000:]


def steps_of(sagemaker: Any, pipeline: str) -> list[tuple[str, str]]:
    """The one execution of ``pipeline``, Succeeded, and its steps in order with their statuses."""
    (execution,) = sagemaker.list_pipeline_executions(PipelineName=pipeline)["PipelineExecutionSummaries"]
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=execution["PipelineExecutionArn"], SortOrder="Ascending")["PipelineExecutionSteps"]
    assert execution["PipelineExecutionStatus"] == "Succeeded", [(s["StepName"], s.get("FailureReason")) for s in steps]
    return [(s["StepName"], s["StepStatus"]) for s in steps]


@pytest.mark.skipif(not (SDK3 / ".installed").exists(), reason="make test installs .venv-corpus/sdk3 (the SDK v3 and nbclient)")
@NEEDS_BUBBLEWRAP
def test_the_sdk_v3_example_notebook_runs_unchanged_to_an_approved_package(shell: tuple[Home, dict[str, str]], tmp_path: Path) -> None:
    home, environment = shell
    s3, sagemaker = clients(environment)
    s3.create_bucket(Bucket=SAMPLE_DATA[0])
    s3.put_object(Bucket=SAMPLE_DATA[0], Key=SAMPLE_DATA[1], Body=abalone_rows().encode())
    # Its cells as a user runs them: Session() and get_execution_role() ask STS at its own address
    # (through mlops env's proxy), ModelTrainer checks the role with IAM (denied, and it goes on),
    # then upsert, start and wait.
    run_notebook(CORPUS / "sdk3-pipeline-train-create-registry" / "v3-pipeline-train-create-registry.ipynb", tmp_path / "work", environment)

    assert steps_of(sagemaker, "pipeline-v3") == [
        ("PreprocessAbaloneData", "Succeeded"), ("TrainModelTestStep", "Succeeded"), ("CreateModel", "Succeeded"), ("RegisterModel", "Succeeded"),
    ]  # fmt: skip
    (package,) = sagemaker.list_model_packages(ModelPackageGroupName="my-model-package-group")["ModelPackageSummaryList"]
    assert package["ModelApprovalStatus"] == "Approved"
    (container,) = sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])["InferenceSpecification"]["Containers"]
    assert container["Image"].endswith("/sagemaker-xgboost:1.0-1-cpu-py3")
    (job,) = sagemaker.list_training_jobs()["TrainingJobSummaries"]
    trained = sagemaker.describe_training_job(TrainingJobName=job["TrainingJobName"])
    assert container["ModelDataUrl"] == trained["ModelArtifacts"]["S3ModelArtifacts"]
    assert trained["HyperParameters"]["silent"] == "0" and trained["HyperParameters"]["objective"] == "reg:linear"  # as 1.0-1 takes them
    assert not Path("/opt/ml").exists()
