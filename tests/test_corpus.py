"""Other people's SageMaker pipelines, installed unchanged in virtualenvs of their own with their
own SDK (``make test`` makes them: ``.venv-corpus/``), run against the twin as their users run
them, and ending as SageMaker ends them. Their sources and licences: ``tests/corpus/``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

import boto3
import numpy as np
import pytest

from pipelines.engine import confinement
from pipelines.local.home import Home

from serving_helpers import RunningServer, twin_environment

ROOT = Path(__file__).resolve().parents[1]
ABALONE = ROOT / ".venv-corpus" / "abalone-sdk2"
ROLE = "arn:aws:iam::000000000000:role/SageMakerPipelineRole"
SEED_DATA = ("sagemaker-servicecatalog-seedcode-us-east-1", "dataset/abalone-dataset.csv")  # InputDataUrl's default


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
    """A twin serving, and a shell's environment after ``eval "$(mlops env)"``."""
    home = Home.resolve(tmp_path / "home")
    server = RunningServer(home, extra_args=("--auth", "sigv4"))
    said = twin_environment(home)
    environment = {k: v for k, v in os.environ.items() if k not in said["unset"] and k not in ("AWS_SECURITY_TOKEN", "MLOPS_HOME")}
    try:
        yield home, {**environment, **said["values"]}  # type: ignore[dict-item]
    finally:
        server.stop()


@pytest.mark.skipif(not (ABALONE / ".installed").exists(), reason="make test installs .venv-corpus/abalone-sdk2 (AWS's seed code with SDK v2)")
@pytest.mark.skipif(confinement.problem() is not None, reason=f"its scripts hard-code /opt/ml, which needs bubblewrap: {confinement.problem()}")
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
