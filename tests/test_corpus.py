"""Other people's SageMaker pipelines, installed unchanged in virtualenvs of their own with their
own SDK (``make test`` makes them: ``.venv-corpus/``), run against the twin as their users run
them, and ending as SageMaker ends them. Their sources and licences: ``tests/corpus/``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import numpy as np
import pytest
import yaml

from pipelines.engine import confinement
from pipelines.local.home import Home
from tests.helpers import timescale
from tests.helpers.serving_helpers import RunningServer, twin_environment

pytestmark = pytest.mark.long  # run first (conftest.py)

ROOT = Path(__file__).resolve().parents[1]
ABALONE = ROOT / ".venv-corpus" / "abalone-sdk2"
SDK3 = ROOT / ".venv-corpus" / "sdk3"
SDK2_NOTEBOOKS = ROOT / ".venv-corpus" / "sdk2-notebooks"
CDK_SEED = ROOT / ".venv-corpus" / "cdk-seedcode"
CORPUS = ROOT / "tests" / "corpus"
ROLE = "arn:aws:iam::000000000000:role/SageMakerPipelineRole"
SEED_DATA = ("sagemaker-servicecatalog-seedcode-us-east-1", "dataset/abalone-dataset.csv")  # InputDataUrl's default
SAMPLE_DATA = ("sagemaker-sample-files", "datasets/tabular/uci_abalone/abalone.csv")  # the SDK's notebooks' InputDataUrl
EXAMPLE_DATA = ("sagemaker-example-files-prod-us-east-1", "datasets/tabular/uci_abalone/abalone.csv")  # amazon-sagemaker-examples'
BATCH_DATA = ("sagemaker-servicecatalog-seedcode-us-east-1", "dataset/abalone-dataset-batch")
NEEDS_BUBBLEWRAP = pytest.mark.skipif(confinement.problem() is not None, reason=f"its scripts hard-code /opt/ml, which needs bubblewrap: {confinement.problem()}")


def abalone_rows(count: int = 1200, seed: int = 0, noise: float = 1.0) -> str:
    """Rows in the UCI abalone layout the seed code reads (no header; sex, seven measures, rings),
    made here: rings grow with the shell's weight, as they do in the real data; ``noise`` (the
    rings' standard deviation about that) sets how well a model can do."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["M", "F", "I"], count)
    length = rng.uniform(0.1, 0.8, count)
    whole = length**3 * 2.5
    shell = whole * 0.3
    rings = np.clip(np.round(2 + 25 * shell + rng.normal(0, noise, count)), 1, 29).astype(int)
    columns = zip(sex, length, length * 0.8, length * 0.25, whole, whole * 0.45, whole * 0.22, shell, rings, strict=True)
    return "\n".join(f"{s},{a:.3f},{b:.3f},{c:.3f},{d:.4f},{e:.4f},{f:.4f},{g:.4f},{r}" for s, a, b, c, d, e, f, g, r in columns) + "\n"


def feature_rows(count: int = 200, seed: int = 1) -> str:
    """Rows of what the examples' models take (no header): seven scaled measures and the sex
    one-hot, as their preprocessing writes them without the label."""
    rng = np.random.default_rng(seed)
    measures = rng.normal(0, 1, (count, 7))
    sex = np.eye(3)[rng.integers(0, 3, count)]
    return "\n".join(",".join(f"{v:.6f}" for v in row) for row in np.hstack([measures, sex])) + "\n"


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Home, dict[str, str]]]:
    """A twin serving, and a shell's environment after ``eval "$(mlops env)"`` (without the test
    setup's SAGEMAKER_VALIDATE_ROLE=false: a user's shell has no such thing). The server and
    every process started in that shell run under the network guard (``tests/guarded``): what
    they try beyond loopback, the twin's proxy tunnelling included, is refused and written to
    ``netguard.log`` in ``tmp_path``."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "tests" / "guarded"), str(ROOT)]))
    monkeypatch.setenv("MLOPS_NETGUARD_LOG", str(tmp_path / "netguard.log"))
    home = Home.resolve(tmp_path / "home")
    server = RunningServer(home, extra_args=("--auth", "sigv4"))
    said = twin_environment(home)
    dropped = ("AWS_SECURITY_TOKEN", "MLOPS_HOME", "SAGEMAKER_VALIDATE_ROLE")
    environment = {k: v for k, v in os.environ.items() if k not in said["unset"] and k not in dropped}
    environment["PYTHONPATH"] = str(ROOT / "tests" / "guarded")  # the guard only: their own `pipelines` package, not ours
    try:
        # Their pacing for AWS (a waiter's 30 s, a notebook's sleeps) 20 times faster, their
        # patience unchanged (tests/helpers/timescale.py).
        yield home, {**environment, **said["values"], timescale.VARIABLE: "20"}  # type: ignore[dict-item]
    finally:
        server.stop()


def refused(tmp_path: Path) -> list[str]:
    """What the guard refused, in the server and in the shell's processes."""
    log = tmp_path / "netguard.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.skipif(not (ABALONE / ".installed").exists(), reason="make test installs .venv-corpus/abalone-sdk2 (AWS's seed code with SDK v2)")
@NEEDS_BUBBLEWRAP
def test_aws_project_seed_code_runs_its_own_codebuild_command_to_a_registered_package(shell: tuple[Home, dict[str, str]], tmp_path: Path) -> None:
    home, environment = shell
    s3, sagemaker = clients(environment)
    # The user's part: the raw data where the template reads it, put with boto3.
    put(s3, SEED_DATA, abalone_rows())
    # The template's buildspec.yml command, with its kwargs (the artifact bucket, the project's names).
    kwargs = {"region": "us-east-1", "role": ROLE, "default_bucket": "sagemaker-project-p-abalone", "pipeline_name": "abalone-p-1", "model_package_group_name": "abalone-p-1", "base_job_prefix": "abalone-p-1"}
    tags = [{"Key": "sagemaker:project-name", "Value": "abalone"}, {"Key": "sagemaker:project-id", "Value": "p-1"}]
    command = [str(ABALONE / "bin" / "run-pipeline"), "--module-name", "pipelines.abalone.pipeline", "--role-arn", ROLE, "--tags", json.dumps(tags), "--kwargs", json.dumps(kwargs)]
    done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "#####Execution completed." in done.stdout

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
    assert refused(tmp_path) == []


def clients(environment: dict[str, str]) -> tuple[Any, Any]:
    """boto3's S3 and SageMaker clients as that shell makes them."""
    session = boto3.Session(aws_access_key_id=environment["AWS_ACCESS_KEY_ID"], aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
    return session.client("s3", endpoint_url=environment["AWS_ENDPOINT_URL"]), session.client("sagemaker", endpoint_url=environment["AWS_ENDPOINT_URL"])


def run_notebook(venv: Path, notebook: Path, work: Path, environment: dict[str, str]) -> None:
    """``jupyter-execute`` from ``venv`` (activated: its ``bin`` first on PATH, as for the
    notebook's ``!pip``) on a copy of ``notebook`` in ``work`` (its cells write files beside it),
    with Jupyter's own folders in ``work`` so no user's kernels or settings take part, on the
    venv's own ``python3`` kernel (AWS's notebooks name SageMaker Studio's image kernels, which a
    user off Studio replaces the same way). The kernel starts when it starts: no start-up
    deadline, no cell deadline."""
    work.mkdir(parents=True)
    copy = work / notebook.name
    copy.write_bytes(notebook.read_bytes())
    jupyter = {"JUPYTER_CONFIG_DIR": str(work / ".jupyter"), "JUPYTER_DATA_DIR": str(work / ".jupyter-data"), "JUPYTER_RUNTIME_DIR": str(work / ".jupyter-runtime"), "IPYTHONDIR": str(work / ".ipython")}
    activated = {"VIRTUAL_ENV": str(venv), "PATH": os.pathsep.join([str(venv / "bin"), environment["PATH"]])}
    command = [str(venv / "bin" / "jupyter-execute"), "--kernel_name=python3", "--startup_timeout=86400", "--output={notebook_name}.executed", copy.name]
    done = subprocess.run(command, cwd=work, env={**environment, **jupyter, **activated}, capture_output=True, text=True, timeout=3600)
    (work / "jupyter-execute.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, f"{work / 'jupyter-execute.log'}: {done.stderr[-4000:]}"


def put(s3: Any, location: tuple[str, str], body: str) -> None:
    """Data where a pipeline reads it: its bucket made, the object put, with boto3."""
    s3.create_bucket(Bucket=location[0])
    s3.put_object(Bucket=location[0], Key=location[1], Body=body.encode())


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
    put(s3, SAMPLE_DATA, abalone_rows())
    # Its cells as a user runs them: Session() and get_execution_role() ask STS at its own address
    # (through mlops env's proxy), ModelTrainer checks the role with IAM (denied, and it goes on),
    # then upsert, start and wait.
    run_notebook(SDK3, CORPUS / "sdk3-pipeline-train-create-registry" / "v3-pipeline-train-create-registry.ipynb", tmp_path / "work", environment)

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
    assert refused(tmp_path) == []  # every AWS call it made reached the twin


def executions_of(sagemaker: Any, pipeline: str) -> list[dict[str, Any]]:
    """Each execution of ``pipeline``, oldest first, with its status, parameters and steps."""
    summaries = sagemaker.list_pipeline_executions(PipelineName=pipeline, SortOrder="Ascending")["PipelineExecutionSummaries"]
    found = []
    for summary in summaries:
        arn = summary["PipelineExecutionArn"]
        described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        parameters = {p["Name"]: p["Value"] for p in sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]}
        steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn, SortOrder="Ascending")["PipelineExecutionSteps"]
        found.append({"status": summary["PipelineExecutionStatus"], "failure": described.get("FailureReason"), "parameters": parameters, "steps": {s["StepName"]: s for s in steps}})
    return found


@pytest.mark.skipif(not (SDK2_NOTEBOOKS / ".installed").exists(), reason="make test installs .venv-corpus/sdk2-notebooks (the last SDK v2 and nbclient)")
@NEEDS_BUBBLEWRAP
def test_aws_pipelines_example_notebook_runs_unchanged_to_its_three_outcomes(shell: tuple[Home, dict[str, str]], tmp_path: Path) -> None:
    home, environment = shell
    s3, sagemaker = clients(environment)
    # What it downloads: the raw data, as many rows as the real data set (4,177) and noisy enough
    # that the model's MSE lands where the real data's did (4.91), between the notebook's
    # thresholds 3.0 and 6.0 whatever its unseeded shuffle: over 40 shuffles 4.28 +/- 0.18
    # (3.97 to 4.75); and rows to score.
    put(s3, EXAMPLE_DATA, abalone_rows(count=4177, noise=2.2))
    put(s3, BATCH_DATA, feature_rows())
    run_notebook(SDK2_NOTEBOOKS, CORPUS / "aws-examples-abalone-batch-transform" / "sagemaker-pipelines-preprocess-train-evaluate-batch-transform.ipynb", tmp_path / "work", environment)

    first, approved, strict = executions_of(sagemaker, "AbalonePipeline")
    every_step = {"AbaloneProcess", "AbaloneTrain", "AbaloneEval", "AbaloneMSECond", "AbaloneCreateModel-CreateModel", "AbaloneTransform", "AbaloneRegisterModel-RegisterModel"}
    for execution in (first, approved):  # as in the repository's recorded run: every step Succeeded
        assert execution["status"] == "Succeeded" and set(execution["steps"]) == every_step
        assert {s["StepStatus"] for s in execution["steps"].values()} == {"Succeeded"}
    assert approved["parameters"]["ModelApprovalStatus"] == "Approved"
    # MseThreshold=3.0: the condition is false and the FailStep ends it, with its Join'ed message.
    assert strict["status"] == "Failed" and strict["parameters"]["MseThreshold"] == "3.0"
    assert strict["steps"]["AbaloneMSEFail"]["StepStatus"] == "Failed"
    assert strict["steps"]["AbaloneMSEFail"]["FailureReason"] == "Execution failed due to MSE > 3.0"
    assert "AbaloneTransform" not in strict["steps"]

    packages = sagemaker.list_model_packages(ModelPackageGroupName="AbaloneModelPackageGroupName", SortOrder="Ascending")["ModelPackageSummaryList"]
    assert [p["ModelApprovalStatus"] for p in packages] == ["PendingManualApproval", "Approved"]
    transform = first["steps"]["AbaloneTransform"]["Metadata"]["TransformJob"]["Arn"].rsplit("/", 1)[1]
    output = sagemaker.describe_transform_job(TransformJobName=transform)["TransformOutput"]["S3OutputPath"]
    bucket, prefix = output[len("s3://") :].split("/", 1)
    (scored,) = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    predictions = s3.get_object(Bucket=bucket, Key=scored["Key"])["Body"].read().decode().split()
    assert len(predictions) == 200 and all(0 < float(p) < 30 for p in predictions)  # one number of rings per row
    assert not Path("/opt/ml").exists()
    # Its first cell's `pip install -U sagemaker` reached for PyPI through the proxy, and was
    # refused; nothing else left the machine.
    assert all("pypi" in line or "pythonhosted" in line for line in refused(tmp_path)), refused(tmp_path)


@pytest.mark.skipif(not (CDK_SEED / ".installed").exists(), reason="make test installs .venv-corpus/cdk-seedcode (AWS's CDK and GitHub Actions seed code)")
@NEEDS_BUBBLEWRAP
def test_aws_cdk_project_seed_code_runs_its_github_workflows_command_to_a_registered_package(shell: tuple[Home, dict[str, str]], tmp_path: Path) -> None:
    home, environment = shell
    s3, sagemaker = clients(environment)
    put(s3, SEED_DATA, abalone_rows())
    # The workflow's step "Run Sagemaker Pipeline", from the checkout, with its secrets as values.
    checkout = tmp_path / "checkout"
    shutil.copytree(CORPUS / "aws-cdk-github-actions-seedcode", checkout)
    workflow = yaml.safe_load((checkout / ".github" / "workflows" / "build_sagemaker_pipeline.yml").read_text())
    (step,) = [s for s in workflow["jobs"]["build"]["steps"] if s.get("name") == "Run Sagemaker Pipeline"]
    secrets = {
        "AWS_REGION": "us-east-1", "SAGEMAKER_PIPELINE_ROLE_ARN": ROLE, "ARTIFACT_BUCKET": "mlops-cdk-artifacts",
        "SAGEMAKER_PROJECT_NAME": "abalone", "SAGEMAKER_PROJECT_ID": "p-2", "MODEL_PACKAGE_GROUP_NAME": "abalone-p-2",
        "ARTIFACT_BUCKET_KMS_ID": "arn:aws:kms:us-east-1:000000000000:key/0b3b8d2e-1111-4c9b-9f6a-6f1f0c2d9a10",
    }  # fmt: skip
    script = re.sub(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", lambda m: secrets[m[1]], step["run"])
    s3.create_bucket(Bucket=secrets["ARTIFACT_BUCKET"])
    path = {"PATH": os.pathsep.join([str(CDK_SEED / "bin"), environment["PATH"]])}  # the installed run-pipeline, as after the workflow's pip install
    done = subprocess.run(["bash", "-e", "-c", script], cwd=checkout, env={**environment, **path}, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Create/Update of the SageMaker Pipeline and execution completed." in done.stdout

    assert steps_of(sagemaker, "abalone-p-2") == [
        ("PreprocessAbaloneData", "Succeeded"), ("TrainAbaloneModel", "Succeeded"), ("EvaluateAbaloneModel", "Succeeded"),
        ("CheckMSEAbaloneEvaluation", "Succeeded"), ("RegisterAbaloneModel-RegisterModel", "Succeeded"),
    ]  # fmt: skip
    (package,) = sagemaker.list_model_packages(ModelPackageGroupName="abalone-p-2")["ModelPackageSummaryList"]
    (container,) = sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])["InferenceSpecification"]["Containers"]
    assert container["Image"].endswith("/sagemaker-xgboost:1.0-1-cpu-py3")  # each custom image it looked up was not found: the built-in one
    (evaluation,) = [j for j in sagemaker.list_processing_jobs()["ProcessingJobSummaries"] if "eval" in j["ProcessingJobName"]]
    outputs = sagemaker.describe_processing_job(ProcessingJobName=evaluation["ProcessingJobName"])["ProcessingOutputConfig"]
    assert outputs["KmsKeyId"] == secrets["ARTIFACT_BUCKET_KMS_ID"]  # as it asked
    assert not Path("/opt/ml").exists()
    assert refused(tmp_path) == []


def finished(sagemaker: Any, pipeline: str) -> dict[str, Any]:
    """The one execution of ``pipeline`` once it has ended (the notebook starts it and leaves;
    its user watches it in Studio). The bound is a guard against a hung runner, not a pace."""
    (summary,) = sagemaker.list_pipeline_executions(PipelineName=pipeline)["PipelineExecutionSummaries"]
    give_up = time.monotonic() + 1800
    while (described := sagemaker.describe_pipeline_execution(PipelineExecutionArn=summary["PipelineExecutionArn"]))["PipelineExecutionStatus"] == "Executing":
        assert time.monotonic() < give_up, "the execution did not end within 30 minutes"
        time.sleep(0.5)
    return described


@pytest.mark.skipif(not (SDK2_NOTEBOOKS / ".installed").exists(), reason="make test installs .venv-corpus/sdk2-notebooks (the last SDK v2 and nbclient)")
@NEEDS_BUBBLEWRAP
def test_aws_tuning_step_example_notebook_tunes_and_registers_the_best_model(shell: tuple[Home, dict[str, str]], tmp_path: Path) -> None:
    home, environment = shell
    s3, sagemaker = clients(environment)
    put(s3, SAMPLE_DATA, abalone_rows())
    run_notebook(SDK2_NOTEBOOKS, CORPUS / "aws-examples-tuning-step" / "sagemaker-pipelines-tuning-step.ipynb", tmp_path / "work", environment)

    execution = finished(sagemaker, "tuning-step-pipeline")
    steps = {s["StepName"]: s for s in sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=execution["PipelineExecutionArn"])["PipelineExecutionSteps"]}
    assert execution["PipelineExecutionStatus"] == "Succeeded", {n: s.get("FailureReason") for n, s in steps.items()}
    assert {n: s["StepStatus"] for n, s in steps.items()} == dict.fromkeys(
        ["PreprocessAbaloneDataForHPO", "HPTuning", "CreateBestModel-CreateModel", "CreateSecondBestModel-CreateModel", "EvaluateTopModel", "CheckMSEAbaloneEvaluation", "RegisterBestAbaloneModel-RegisterModel"], "Succeeded",
    )  # fmt: skip
    (package,) = sagemaker.list_model_packages(ModelPackageGroupName="tuning-job-model-packages")["ModelPackageSummaryList"]
    (container,) = sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])["InferenceSpecification"]["Containers"]
    assert "/AbaloneTrain/" in container["ModelDataUrl"]  # the best of the tuning job's training jobs, by its S3 URI
    assert not Path("/opt/ml").exists()
    assert all("pypi" in line or "pythonhosted" in line for line in refused(tmp_path)), refused(tmp_path)
