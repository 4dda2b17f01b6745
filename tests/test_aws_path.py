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
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import boto3
import git
import pytest

from tests.helpers.moto_server import MotoServer

pytestmark = pytest.mark.long  # run first (conftest.py)

ROOT = Path(__file__).resolve().parents[1]
ROLE = "arn:aws:iam::123456789012:role/credit-default-pipeline-execution"
BUCKET = "credit-default-bucket"
GROUP = "CreditDefaultPackageGroup"
CONSTRAINTS = ROOT / "tests" / "golden" / "monitor" / "constraints_xgb_churn.json"


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto_server for the module, not one per test (a start took about half a second)."""
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    """The module's moto_server, emptied: each test starts from an AWS account with nothing in it."""
    moto_server.reset()
    return moto_server


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


def run_as_sagemaker(step: Any, parameters: dict[str, Any], s3: Any, sandbox: Path, env: dict[str, str]) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """Run a processing step as SageMaker would: its arguments resolved with the execution's
    parameters, its code downloaded from where run-pipeline uploaded it, its output folder and
    ExitMessage mapped into ``sandbox``. (The step's arguments, the finished job.)"""
    from pipelines.engine.expressions import Scope

    arguments = Scope(parameters, {}).resolve(step.step["Arguments"], f"{step.pointer}/Arguments")
    (code,) = [i["S3Input"] for i in arguments["ProcessingInputs"] if i["InputName"] == "code"]
    bucket, key = code["S3Uri"][len("s3://"):].split("/", 1)
    (sandbox / "code").mkdir(parents=True)
    s3.download_file(bucket, key, str(sandbox / "code" / Path(key).name))
    (output,) = arguments["ProcessingOutputConfig"]["Outputs"]
    command = [sys.executable, "-I", str(sandbox / "code" / Path(key).name)] + [
        str(sandbox / "output") if a == output["S3Output"]["LocalPath"] else str(sandbox / "message") if a == "/opt/ml/output/message" else a
        for a in arguments["AppSpecification"]["ContainerArguments"]
    ]  # fmt: skip
    job = subprocess.run(command, env={k: v for k, v in env.items() if k != "PYTHONPATH"}, capture_output=True, text=True, timeout=300)
    return arguments, job


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
                                "--retrain-role-arn", ROLE, "--scheduler-role-arn", ROLE, "-o", str(tmp_path / "build")], env, ROOT)
    assert refused.returncode == 1 and "has no Approved package" in refused.stderr
    sm.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved")

    # 3. The deploy build's step, then what CloudFormation would create from its output.
    done = console("mlops", ["aws", "deploy-config", "--stage", "staging", "--bucket", BUCKET, "--model-role-arn", ROLE,
                             "--retrain-role-arn", ROLE, "--scheduler-role-arn", ROLE, "-o", str(tmp_path / "build")], env, ROOT)
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


def test_monitoring_without_model_monitor_over_the_wire(moto: MotoServer, repo: git.Repo, guarded_env: dict[str, str], tmp_path: Path, evaluated: Path, scored_test: Path) -> None:
    """The build upserts the monitoring pipeline; deploy-config's template schedules it on
    EventBridge Scheduler; the schedule's call, as the scheduler makes it, starts it with the
    scheduled time; its step, run as SageMaker would run it, publishes the metrics the
    template's alarms watch."""
    import pandas as pd

    from pipelines.core import graph
    from pipelines.monitor.job.common import metrics
    from pipelines.monitor.job.data_quality import analyzer
    from steps.preprocess import plain_decimals
    from tests.helpers.aws_shapes import problems
    from tests.helpers.capture_helpers import capture_frame
    from tests.helpers.cloudformation import Stack

    env = {**guarded_env, "AWS_ENDPOINT_URL": moto.url, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    clients = {name: boto3.client(name, region_name="eu-west-1", endpoint_url=moto.url) for name in ("s3", "sagemaker", "scheduler", "cloudwatch")}
    s3, sm = clients["s3"], clients["sagemaker"]
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    monitoring_role = "arn:aws:iam::123456789012:role/credit-default-monitoring"
    scheduler_role = "arn:aws:iam::123456789012:role/credit-default-monitoring-scheduler"

    # 1. The build upserts the monitoring pipeline and starts nothing.
    kwargs = json.dumps({"region": "eu-west-1", "default_bucket": BUCKET})
    done = console("run-pipeline", ["--module-name", "pipelines.monitoring.pipeline", "--no-start", "--role-arn", monitoring_role, "--kwargs", kwargs], env, Path(repo.working_dir))
    assert done.returncode == 0, done.stderr
    assert sm.list_pipeline_executions(PipelineName="CreditDefaultMonitoring")["PipelineExecutionSummaries"] == []

    # 2. An approved package whose baseline the builtin DataQualityBaseline step wrote.
    analyzer.baseline(evaluated / "baseline" / "baseline.csv", tmp_path / "baseline")
    for name in ("statistics.json", "constraints.json"):
        s3.upload_file(str(tmp_path / "baseline" / name), BUCKET, f"credit-default/baselines/run1/data-quality/{name}")
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    root = f"s3://{BUCKET}/credit-default/baselines/run1/data-quality"
    sm.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": "xgboost", "ModelDataUrl": f"s3://{BUCKET}/credit-default/models/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        DriftCheckBaselines={"ModelDataQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": f"{root}/statistics.json"},
                                                  "Constraints": {"ContentType": "application/json", "S3Uri": f"{root}/constraints.json"}}},
        MetadataProperties={"CommitId": repo.head.commit.hexsha},
    )  # fmt: skip

    # 3. deploy-config, then what CloudFormation would create: the hourly schedule (no MonitoringSchedule).
    done = console("mlops", ["aws", "deploy-config", "--stage", "staging", "--bucket", BUCKET, "--model-role-arn", ROLE, "--retrain-role-arn", ROLE,
                             "--scheduler-role-arn", scheduler_role, "-o", str(tmp_path / "build")], env, ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    template = json.loads((tmp_path / "build" / "staging-template.json").read_text())
    parameters = {name: spec.get("Default") for name, spec in template["Parameters"].items() if "Default" in spec}
    parameters |= json.loads((tmp_path / "build" / "staging-config-export.json").read_text())["Parameters"]
    stack = Stack({k: str(v) for k, v in parameters.items()}, {"Endpoint.EndpointName": "credit-default-staging"}, {"HasKey": False, "UseBuiltin": True})
    schedule = stack.resolve(template["Resources"]["DataQualitySchedule"]["Properties"])
    clients["scheduler"].create_schedule(**schedule)
    described = clients["scheduler"].get_schedule(Name="credit-default-staging-data-quality")
    assert described["ScheduleExpression"] == "cron(0 * ? * * *)" and described["Target"]["RoleArn"] == scheduler_role
    assert described["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution"

    # 4. At 13:00 the scheduler fills in its context attributes and calls StartPipelineExecution with the Input.
    request = json.loads(described["Target"]["Input"].replace("<aws.scheduler.scheduled-time>", "2026-11-20T13:00:00Z").replace("<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3"))
    assert problems(request, "StartPipelineExecutionRequest") == []
    execution_arn = sm.start_pipeline_execution(**request)["PipelineExecutionArn"]
    definition = json.loads(sm.describe_pipeline(PipelineName="CreditDefaultMonitoring")["PipelineDefinition"])
    declared = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    passed = {p["Name"]: p["Value"] for p in sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)["PipelineParameters"]}
    assert set(passed) <= set(declared) and passed["ScheduledTime"] == "2026-11-20T13:00:00Z"

    # 5. SageMaker runs the step: its arguments with the execution's parameters, on the hour of capture before 13:00.
    test = pd.read_csv(scored_test, dtype={"prediction": str}).sample(300, random_state=5)
    capture_frame(plain_decimals(test.assign(EDUCATION=-test["EDUCATION"].astype(int))), tmp_path / "capture", datetime(2026, 11, 20, 12, tzinfo=timezone.utc), timedelta(minutes=59), endpoint="credit-default-staging")
    for path in (tmp_path / "capture").rglob("*.jsonl"):
        s3.upload_file(str(path), BUCKET, f"credit-default/data-capture/{path.relative_to(tmp_path / 'capture').as_posix()}")
    (step,) = [node for node in graph.steps(definition) if node.name == "MonitorDataQuality"]  # the branch MonitoringType=DataQuality takes
    assert passed.get("MonitoringType", declared["MonitoringType"]) == "DataQuality"
    sandbox = tmp_path / "job"
    arguments, job = run_as_sagemaker(step, {**declared, **passed}, s3, sandbox, env)  # the bundle run-pipeline uploaded
    assert job.returncode == 0, job.stderr
    (output,) = arguments["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == f"s3://{BUCKET}/credit-default/monitoring/staging/credit-default-staging/credit-default-staging-data-quality"
    assert (sandbox / "output" / "2026/11/20/13" / "constraint_violations.json").is_file()  # SageMaker uploads it under that prefix

    # 6. The metrics it published are the ones the alarms watch: names, namespace and dimensions.
    listed = clients["cloudwatch"].list_metrics(Namespace=metrics.NAMESPACE)["Metrics"]
    published = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in listed}
    alarms = [stack.resolve(r["Properties"]) for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {(a["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in a["Dimensions"]))) for a in alarms}
    assert all(a["Namespace"] == metrics.NAMESPACE for a in alarms)
    assert watched <= published and len(watched) == len(analyzer.json.loads((tmp_path / "baseline" / "constraints.json").read_text())["features"])
    drift = clients["cloudwatch"].get_metric_statistics(
        Namespace=metrics.NAMESPACE, MetricName="feature_baseline_drift_EDUCATION", Statistics=["Maximum"], Period=3600,
        Dimensions=[{"Name": "Endpoint", "Value": "credit-default-staging"}, {"Name": "MonitoringSchedule", "Value": "credit-default-staging-data-quality"}],
        StartTime=datetime(2026, 11, 20, 12, tzinfo=timezone.utc), EndTime=datetime(2026, 11, 20, 14, tzinfo=timezone.utc),
    )["Datapoints"]  # fmt: skip
    assert drift and drift[0]["Maximum"] > float(parameters.get("DriftThreshold", 0.1))
    log = Path(env["MLOPS_NETGUARD_LOG"])
    assert not log.exists() or log.read_text() == ""


def test_model_quality_over_the_wire(moto: MotoServer, repo: git.Repo, guarded_env: dict[str, str], tmp_path: Path, evaluated: Path) -> None:
    """A package with a model-quality baseline: deploy-config's template schedules the monitoring
    pipeline for model quality; the schedule's call starts it with MonitoringType=ModelQuality;
    its step, run as SageMaker would run it, merges S3 capture with S3 ground truth and publishes
    the metric the template's AUC alarm watches."""
    import numpy as np
    import pandas as pd

    from pipelines.core import graph
    from pipelines.monitor.job.data_quality import analyzer
    from pipelines.monitor.job.model_quality import analysis as model_quality
    from pipelines.monitor.job.model_quality import quality
    from tests.helpers.aws_shapes import problems
    from tests.helpers.capture_helpers import captured, hour_file, label
    from tests.helpers.cloudformation import Stack

    env = {**guarded_env, "AWS_ENDPOINT_URL": moto.url, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    clients = {name: boto3.client(name, region_name="eu-west-1", endpoint_url=moto.url) for name in ("s3", "sagemaker", "scheduler", "cloudwatch")}
    s3, sm = clients["s3"], clients["sagemaker"]
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    scheduler_role = "arn:aws:iam::123456789012:role/credit-default-monitoring-scheduler"
    kwargs = json.dumps({"region": "eu-west-1", "default_bucket": BUCKET})
    done = console("run-pipeline", ["--module-name", "pipelines.monitoring.pipeline", "--no-start", "--role-arn", ROLE, "--kwargs", kwargs], env, Path(repo.working_dir))
    assert done.returncode == 0, done.stderr

    # An approved package with both baselines, as the build pipeline registers them.
    rng = np.random.default_rng(4)
    labels = (rng.random(2600) < 0.22).astype(int)
    scores = np.clip(rng.normal(0.3 + 0.35 * labels, 0.2), 0, 1).round(6)
    pd.DataFrame({"label": labels[:2000], "probability": scores[:2000]}).to_csv(tmp_path / "predictions.csv", index=False)
    model_quality.baseline(tmp_path / "predictions.csv", tmp_path / "mq", "probability", "label")
    analyzer.baseline(evaluated / "baseline" / "baseline.csv", tmp_path / "dq")
    root = f"s3://{BUCKET}/credit-default/baselines/run1"
    for kind, folder in (("model-quality", "mq"), ("data-quality", "dq")):
        for name in ("statistics.json", "constraints.json"):
            s3.upload_file(str(tmp_path / folder / name), BUCKET, f"credit-default/baselines/run1/{kind}/{name}")
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    source = {"ContentType": "application/json"}
    sm.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": "xgboost", "ModelDataUrl": f"s3://{BUCKET}/credit-default/models/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        DriftCheckBaselines={kind: {"Statistics": {**source, "S3Uri": f"{root}/{folder}/statistics.json"}, "Constraints": {**source, "S3Uri": f"{root}/{folder}/constraints.json"}}
                             for kind, folder in (("ModelDataQuality", "data-quality"), ("ModelQuality", "model-quality"))},
        MetadataProperties={"CommitId": repo.head.commit.hexsha},
    )  # fmt: skip

    # deploy-config; the model-quality schedule as CloudFormation would create it.
    done = console("mlops", ["aws", "deploy-config", "--stage", "staging", "--bucket", BUCKET, "--model-role-arn", ROLE, "--retrain-role-arn", ROLE,
                             "--scheduler-role-arn", scheduler_role, "-o", str(tmp_path / "build")], env, ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    template = json.loads((tmp_path / "build" / "staging-template.json").read_text())
    parameters = {name: spec.get("Default") for name, spec in template["Parameters"].items() if "Default" in spec}
    parameters |= json.loads((tmp_path / "build" / "staging-config-export.json").read_text())["Parameters"]
    stack = Stack({k: str(v) for k, v in parameters.items()}, {"Endpoint.EndpointName": "credit-default-staging"}, {"HasKey": False, "UseBuiltin": True, "ScheduleModelQuality": True})
    clients["scheduler"].create_schedule(**stack.resolve(template["Resources"]["ModelQualitySchedule"]["Properties"]))
    described = clients["scheduler"].get_schedule(Name="credit-default-staging-model-quality")
    request = json.loads(described["Target"]["Input"].replace("<aws.scheduler.scheduled-time>", "2026-11-20T13:00:00Z").replace("<aws.scheduler.execution-id>", "e41c5kddcf5bb8c3"))
    assert problems(request, "StartPipelineExecutionRequest") == []
    execution_arn = sm.start_pipeline_execution(**request)["PipelineExecutionArn"]
    definition = json.loads(sm.describe_pipeline(PipelineName="CreditDefaultMonitoring")["PipelineDefinition"])
    declared = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    passed = {p["Name"]: p["Value"] for p in sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)["PipelineParameters"]}
    assert set(passed) <= set(declared) and passed["MonitoringType"] == "ModelQuality"

    # Predictions served 11:00-12:00 with InferenceIds; their labels collected at 12:30. At 13:00
    # SageMaker runs the condition's ModelQuality branch with the execution's parameters.
    served = range(2000, 2600)
    hour = datetime(2026, 11, 20, 11, tzinfo=timezone.utc)
    hour_file(tmp_path / "capture" / "AllTraffic", hour, [captured(f"e{i}", repr(float(scores[i])), hour + timedelta(seconds=i), inference_id=f"row-{i}") for i in served])
    hour_file(tmp_path / "truth", hour + timedelta(hours=1), [label(f"row-{i}", str(labels[i])) for i in served])
    for folder, prefix in ((tmp_path / "capture", "credit-default/data-capture/credit-default-staging"), (tmp_path / "truth", "credit-default/ground-truth/credit-default-staging")):
        for path in folder.rglob("*.jsonl"):
            s3.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(folder).as_posix()}")
    (step,) = [node for node in graph.steps(definition) if node.name == "MonitorModelQuality"]
    sandbox = tmp_path / "job"
    _, job = run_as_sagemaker(step, {**declared, **passed}, s3, sandbox, env)
    assert job.returncode == 0, job.stderr
    written = json.loads((sandbox / "output" / "2026/11/20/13" / "statistics.json").read_text())
    assert written["dataset"]["item_count"] == 600  # every served prediction met its label

    # The metric the AUC alarm watches is published under its name, namespace and dimensions.
    listed = clients["cloudwatch"].list_metrics(Namespace=quality.NAMESPACE)["Metrics"]
    published = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in listed}
    alarm = stack.resolve(template["Resources"]["ModelQualityAlarm"]["Properties"])
    assert alarm["Namespace"] == quality.NAMESPACE
    assert (alarm["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in alarm["Dimensions"]))) in published
    log = Path(env["MLOPS_NETGUARD_LOG"])
    assert not log.exists() or log.read_text() == ""


def test_bias_and_attribution_monitors_over_the_wire(
    moto: MotoServer, repo: git.Repo, guarded_env: dict[str, str], tmp_path: Path, evaluated: Path, preprocessed: Path, model_dir: Path,
) -> None:  # fmt: skip
    """A package with the BiasReport's and Explain's baselines: deploy-config's template schedules
    the monitoring pipeline for bias and for feature attribution; each schedule's call starts it
    with its MonitoringType; each step, run as SageMaker would run it, reads S3 capture (and
    ground truth), the baselines and the model from S3, and publishes the metrics its alarm watches."""
    import numpy as np
    import pandas as pd
    import xgboost

    from pipelines.core import graph
    from pipelines.monitor.job.clarify import jobs as clarify_job
    from pipelines.monitor.job.clarify import monitor as clarify_monitor
    from pipelines.monitor.job.data_quality import analyzer
    from steps import evaluate
    from tests.helpers.aws_shapes import problems
    from tests.helpers.capture_helpers import hour_file, label, record
    from tests.helpers.cloudformation import Stack

    env = {**guarded_env, "AWS_ENDPOINT_URL": moto.url, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    clients = {name: boto3.client(name, region_name="eu-west-1", endpoint_url=moto.url) for name in ("s3", "sagemaker", "scheduler", "cloudwatch")}
    s3, sm = clients["s3"], clients["sagemaker"]
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    kwargs = json.dumps({"region": "eu-west-1", "default_bucket": BUCKET})
    done = console("run-pipeline", ["--module-name", "pipelines.monitoring.pipeline", "--no-start", "--role-arn", ROLE, "--kwargs", kwargs], env, Path(repo.working_dir))
    assert done.returncode == 0, done.stderr

    # The build pipeline's baselines for the session's model, on S3 where Register points.
    test = str(preprocessed / "test")
    assert evaluate.main(["--model-dir", str(model_dir), "--test-dir", test, "--output-dir", str(tmp_path / "evaluation"), "--predictions-dir", str(tmp_path / "predictions")]) == 0
    assert clarify_job.main(["bias", "--dataset", test, "--predictions", str(tmp_path / "predictions"), "--facet", "SEX=2", "--facet", "AGE>40", "--output", str(tmp_path / "bias")]) == 0
    assert clarify_job.main(["explain", "--model", str(model_dir), "--dataset", test, "--output", str(tmp_path / "explainability")]) == 0
    analyzer.baseline(evaluated / "baseline" / "baseline.csv", tmp_path / "dq")
    root, key = f"s3://{BUCKET}/credit-default/baselines/run1", "credit-default/baselines/run1"
    for folder, names in (("bias", ("analysis.json", "analysis_config.json")), ("explainability", ("analysis.json", "analysis_config.json")), ("dq", ("statistics.json", "constraints.json"))):
        for name in names:
            s3.upload_file(str(tmp_path / folder / name), BUCKET, f"{key}/{folder}/{name}")
    s3.upload_file(str(model_dir / "model.tar.gz"), BUCKET, "credit-default/models/run1/output/model.tar.gz")
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    source = {"ContentType": "application/json"}
    sm.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": "xgboost", "ModelDataUrl": f"s3://{BUCKET}/credit-default/models/run1/output/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        DriftCheckBaselines={
            "ModelDataQuality": {"Statistics": {**source, "S3Uri": f"{root}/dq/statistics.json"}, "Constraints": {**source, "S3Uri": f"{root}/dq/constraints.json"}},
            "Bias": {"ConfigFile": {**source, "S3Uri": f"{root}/bias/analysis_config.json"}, "PreTrainingConstraints": {**source, "S3Uri": f"{root}/bias/analysis.json"},
                     "PostTrainingConstraints": {**source, "S3Uri": f"{root}/bias/analysis.json"}},
            "Explainability": {"Constraints": {**source, "S3Uri": f"{root}/explainability/analysis.json"}, "ConfigFile": {**source, "S3Uri": f"{root}/explainability/analysis_config.json"}},
        },
        MetadataProperties={"CommitId": repo.head.commit.hexsha},
    )  # fmt: skip
    done = console("mlops", ["aws", "deploy-config", "--stage", "staging", "--bucket", BUCKET, "--model-role-arn", ROLE, "--retrain-role-arn", ROLE,
                             "--scheduler-role-arn", "arn:aws:iam::123456789012:role/credit-default-monitoring-scheduler", "-o", str(tmp_path / "build")], env, ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    template = json.loads((tmp_path / "build" / "staging-template.json").read_text())
    parameters = {name: spec.get("Default") for name, spec in template["Parameters"].items() if "Default" in spec}
    parameters |= json.loads((tmp_path / "build" / "staging-config-export.json").read_text())["Parameters"]
    conditions = {"HasKey": False, "UseBuiltin": True, "ScheduleBias": True, "ScheduleExplainability": True}
    stack = Stack({k: str(v) for k, v in parameters.items()}, {"Endpoint.EndpointName": "credit-default-staging"}, conditions)

    # An hour of requests (11:00-12:00) with InferenceIds, their labels collected at 12:05.
    booster = evaluate.load_model(model_dir, tmp_path / "model")
    rows = pd.read_csv(preprocessed / "test" / "test.csv").sample(600, random_state=5).reset_index(drop=True)
    scores = booster.predict(xgboost.DMatrix(rows.iloc[:, 1:].to_numpy(dtype=np.float32)))
    hour = datetime(2026, 11, 20, 11, tzinfo=timezone.utc)
    lines, labels = [], []
    for i, values in enumerate(rows.iloc[:, 1:].itertuples(index=False)):
        item = record(",".join(repr(float(v)) for v in values), repr(float(scores[i])), hour + timedelta(seconds=5 * i))
        item["eventMetadata"]["inferenceId"] = f"row-{i}"
        lines.append(json.dumps(item))
        labels.append(label(f"row-{i}", str(int(rows["Label"][i]))))
    hour_file(tmp_path / "capture" / "AllTraffic", hour, lines)
    hour_file(tmp_path / "truth", hour + timedelta(hours=1, minutes=5), labels)
    for folder, prefix in ((tmp_path / "capture", "credit-default/data-capture/credit-default-staging"), (tmp_path / "truth", "credit-default/ground-truth/credit-default-staging")):
        for path in folder.rglob("*.jsonl"):
            s3.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(folder).as_posix()}")

    definition = json.loads(sm.describe_pipeline(PipelineName="CreditDefaultMonitoring")["PipelineDefinition"])
    declared = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    for resource, kind, step_name, scheduled, namespace, alarm_name in (
        ("BiasSchedule", "ModelBias", "MonitorModelBias", "2026-11-20T13:00:00Z", clarify_monitor.BIAS_NAMESPACE, "BiasDiSex2Alarm"),
        ("ExplainabilitySchedule", "ModelExplainability", "MonitorModelExplainability", "2026-11-20T12:00:00Z", clarify_monitor.EXPLAINABILITY_NAMESPACE, "AttributionDriftAlarm"),
    ):
        clients["scheduler"].create_schedule(**stack.resolve(template["Resources"][resource]["Properties"]))
        described = clients["scheduler"].get_schedule(Name=stack.resolve(template["Resources"][resource]["Properties"])["Name"])
        request = json.loads(described["Target"]["Input"].replace("<aws.scheduler.scheduled-time>", scheduled).replace("<aws.scheduler.execution-id>", "e41c5kddcf5bb8c3"))
        assert problems(request, "StartPipelineExecutionRequest") == []
        execution_arn = sm.start_pipeline_execution(**request)["PipelineExecutionArn"]
        passed = {p["Name"]: p["Value"] for p in sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)["PipelineParameters"]}
        assert set(passed) <= set(declared) and passed["MonitoringType"] == kind
        # SageMaker runs the conditions' branch for this type with the execution's parameters.
        (step,) = [node for node in graph.steps(definition) if node.name == step_name]
        assert step.branch == ("WhichClarifyMonitor.if" if kind == "ModelBias" else "WhichClarifyMonitor.else")
        sandbox = tmp_path / f"job-{kind}"
        _, job = run_as_sagemaker(step, {**declared, **passed}, s3, sandbox, env)
        assert job.returncode == 0, job.stderr
        written = sandbox / "output" / scheduled[:13].replace("-", "/").replace("T", "/")
        assert (written / "analysis.json").is_file() and (written / "constraint_violations.json").is_file()
        # The metric its alarm watches is published under that name, namespace and dimensions.
        listed = clients["cloudwatch"].list_metrics(Namespace=namespace)["Metrics"]
        published = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in listed}
        alarm = stack.resolve(template["Resources"][alarm_name]["Properties"])
        assert alarm["Namespace"] == namespace
        assert (alarm["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in alarm["Dimensions"]))) in published, (alarm["MetricName"], sorted(published)[:5])
    log = Path(env["MLOPS_NETGUARD_LOG"])
    assert not log.exists() or log.read_text() == ""
