"""mlops aws deploy-config against moto: the latest approved package, filled into a stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import boto3
import numpy as np
import pytest
from cfnlint.api import lint_file
from moto import mock_aws

from pipelines.aws import stage_deploy
from pipelines.cli import main as mlops
from pipelines.serving.stages import DEFAULTS

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "monitor" / "constraints_xgb_churn.json"
BUCKET = "credit-default-bucket"
GROUP = "CreditDefaultPackageGroup"
ROLE = "arn:aws:iam::123456789012:role/credit-default-pipeline-execution"
RETRAIN_ROLE = "arn:aws:iam::123456789012:role/credit-default-retrain"
SCHEDULER_ROLE = "arn:aws:iam::123456789012:role/credit-default-monitoring-scheduler"
SOURCE = {"ContentType": "application/json"}


@pytest.fixture
def registry() -> Iterator[dict[str, str]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        sm = boto3.client("sagemaker", region_name="eu-west-1")
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        arns = {}
        for name, status, commit in (("old", "Approved", "1" * 40), ("new", "Approved", "2" * 40), ("pending", "PendingManualApproval", "3" * 40)):
            root = f"s3://{BUCKET}/credit-default/{name}"
            s3.put_object(Bucket=BUCKET, Key=f"credit-default/{name}/constraints.json", Body=GOLDEN.read_bytes())
            arns[name] = sm.create_model_package(
                ModelPackageGroupName=GROUP,
                ModelApprovalStatus=status,
                InferenceSpecification={"Containers": [{"Image": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1", "ModelDataUrl": f"{root}/model.tar.gz"}],
                                        "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
                DriftCheckBaselines={"ModelDataQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": f"{root}/statistics.json"},
                                                          "Constraints": {"ContentType": "application/json", "S3Uri": f"{root}/constraints.json"}}},
                MetadataProperties={"CommitId": commit},
            )["ModelPackageArn"]
        yield arns


def approved_package(root: str, **baselines: dict) -> None:
    """An approved package with the data-quality baseline deploy-config needs (its constraints on
    S3) and ``baselines`` beside it in DriftCheckBaselines."""
    s3, sm = boto3.client("s3", region_name="eu-west-1"), boto3.client("sagemaker", region_name="eu-west-1")
    s3.put_object(Bucket=BUCKET, Key=f"{root[len(f's3://{BUCKET}/'):]}/dq-constraints.json", Body=GOLDEN.read_bytes())
    sm.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": "xgboost", "ModelDataUrl": f"{root}/model.tar.gz"}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        DriftCheckBaselines={"ModelDataQuality": {"Statistics": {**SOURCE, "S3Uri": f"{root}/dq-statistics.json"}, "Constraints": {**SOURCE, "S3Uri": f"{root}/dq-constraints.json"}}, **baselines},
    )  # fmt: skip


def deploy_config(out: Path, stage: str, *extra: str) -> int:
    return mlops.main(["aws", "deploy-config", "--stage", stage, "--bucket", BUCKET, "--model-role-arn", ROLE,
                       "--retrain-role-arn", RETRAIN_ROLE, "--scheduler-role-arn", SCHEDULER_ROLE, "--region", "eu-west-1", "-o", str(out), *extra])


def test_the_latest_approved_package_fills_the_stage(registry: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy_config(tmp_path, "staging") == 0
    assert "70 drift alarms" in capsys.readouterr().err
    configuration = json.loads((tmp_path / "staging-config-export.json").read_text())
    parameters = configuration["Parameters"]
    assert parameters["ModelPackageArn"] == registry["new"]  # not the older one, not the pending one
    assert parameters["GitCommit"] == "2" * 40 and configuration["Tags"]["GitCommit"] == "2" * 40
    assert parameters["BaselineConstraintsUri"] == f"s3://{BUCKET}/credit-default/new/constraints.json"
    assert parameters["SamplingPercentage"] == str(DEFAULTS["staging"]["sampling"])  # the same stages as the local twin
    assert parameters["Monitoring"] == "builtin" and "MonitoringImageUri" not in parameters  # no Model Monitor
    assert parameters["MonitoringSchedulerRoleArn"] == SCHEDULER_ROLE and parameters["MonitoringPipelineName"] == "CreditDefaultMonitoring"
    assert parameters["RetrainPipelineName"] == "creditdefaultpipeline"
    template = json.loads((tmp_path / "staging-template.json").read_text())
    alarms = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == 70
    account = next(a for a in alarms if a["MetricName"] == "feature_baseline_drift_Account Length")
    assert account["AlarmName"] == "credit-default-staging-drift-Account Length"
    assert account["Namespace"] == "aws/sagemaker/Endpoints/data-metrics" and account["Threshold"] == 0.1 and account["EvaluationPeriods"] == 2
    assert account["Dimensions"][1] == {"Name": "MonitoringSchedule", "Value": {"Fn::Sub": "${ProjectName}-${StageName}-data-quality"}}
    # The EventBridge rule catches exactly these alarms and starts the pipeline on the package's commit.
    rule = template["Resources"]["RetrainOnDrift"]["Properties"]
    assert rule["EventPattern"]["detail"]["alarmName"] == [{"prefix": {"Fn::Sub": f"${{ProjectName}}-${{StageName}}-{kind}-"}} for kind in ("drift", "quality", "bias", "attribution")]
    assert "ModelQualityAlarm" not in template["Resources"] and "ModelQualityConstraintsUri" not in parameters  # this package has no model-quality baseline
    condition, _elsewhere, here = rule["Targets"][0]["Fn::If"]
    assert condition == "RetrainElsewhere" and "RetrainEventBusArn" not in parameters  # the stage is in the pipeline's account
    assert here["SageMakerPipelineParameters"]["PipelineParameterList"] == [{"Name": "GitCommit", "Value": {"Ref": "GitCommit"}}]
    assert set(parameters) <= set(template["Parameters"])
    assert [str(m) for m in lint_file(tmp_path / "staging-template.json")] == []


def test_a_model_quality_baseline_adds_its_schedule_and_an_auc_alarm_that_retrains(registry: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    from pipelines.monitor.job.model_quality import quality

    metrics = quality.binary_classification_metrics(np.array([1, 0, 0, 1, 0, 1, 0, 0]), np.array([0.9, 0.2, 0.6, 0.7, 0.1, 0.4, 0.3, 0.05]))
    root = f"s3://{BUCKET}/credit-default/quality"
    boto3.client("s3", region_name="eu-west-1").put_object(Bucket=BUCKET, Key="credit-default/quality/constraints.json", Body=json.dumps(quality.suggest_constraints(metrics)).encode())
    approved_package(root, ModelQuality={"Statistics": {**SOURCE, "S3Uri": f"{root}/statistics.json"}, "Constraints": {**SOURCE, "S3Uri": f"{root}/constraints.json"}})
    assert deploy_config(tmp_path, "staging") == 0
    assert "70 drift alarms, model quality, monitoring builtin" in capsys.readouterr().err
    parameters = json.loads((tmp_path / "staging-config-export.json").read_text())["Parameters"]
    assert parameters["ModelQualityConstraintsUri"] == f"{root}/constraints.json" and parameters["ModelQualityStatisticsUri"] == f"{root}/statistics.json"
    assert parameters["GroundTruthUri"] == f"s3://{BUCKET}/credit-default/ground-truth"
    template = json.loads((tmp_path / "staging-template.json").read_text())
    alarm = template["Resources"]["ModelQualityAlarm"]
    assert alarm["Condition"] == "ScheduleModelQuality" and template["Resources"]["ModelQualitySchedule"]["Condition"] == "ScheduleModelQuality"
    watched = alarm["Properties"]
    assert (watched["Namespace"], watched["MetricName"], watched["ComparisonOperator"]) == (quality.NAMESPACE, "auc", "LessThanThreshold")
    assert watched["Threshold"] == round(metrics["auc"]["value"] - 0.05, 6) and watched["EvaluationPeriods"] == 2
    assert watched["AlarmName"] == "credit-default-staging-quality-auc"  # the retraining rule's second prefix
    assert watched["Dimensions"][1] == {"Name": "MonitoringSchedule", "Value": {"Fn::Sub": "${ProjectName}-${StageName}-model-quality"}}
    assert [str(m) for m in lint_file(tmp_path / "staging-template.json")] == []


def test_bias_and_explainability_baselines_add_their_schedules_and_alarms_that_retrain(registry: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.monitor.job.clarify import bias
    from pipelines.monitor.job.clarify import monitor as clarify_monitor

    root = f"s3://{BUCKET}/credit-default/fair"
    # The BiasReport's analysis.json of a small table: three facet groups, DI of each.
    table = bias.Table(
        columns={"SEX": np.array([2.0, 2, 1, 1, 1, 2]), "AGE": np.array([30.0, 50, 45, 20, 61, 33])},
        label=np.array([True, False, True, True, False, True]), predicted=np.array([True, True, False, True, True, False]),
    )  # fmt: skip
    config = bias.BiasConfig("Label", (0,), (bias.Facet("SEX", (2,)), bias.Facet("AGE", (40,), continuous=True)))
    boto3.client("s3", region_name="eu-west-1").put_object(Bucket=BUCKET, Key="credit-default/fair/bias/analysis.json", Body=json.dumps(bias.analysis(post=bias.post_training(table, config))).encode())
    approved_package(
        root,
        Bias={"ConfigFile": {**SOURCE, "S3Uri": f"{root}/bias/analysis_config.json"}, "PreTrainingConstraints": {**SOURCE, "S3Uri": f"{root}/bias/analysis.json"},
              "PostTrainingConstraints": {**SOURCE, "S3Uri": f"{root}/bias/analysis.json"}},
        Explainability={"Constraints": {**SOURCE, "S3Uri": f"{root}/explainability/analysis.json"}, "ConfigFile": {**SOURCE, "S3Uri": f"{root}/explainability/analysis_config.json"}},
    )  # fmt: skip
    assert deploy_config(tmp_path, "staging") == 0
    assert "70 drift alarms, bias (2 facet groups), feature attribution, monitoring builtin" in capsys.readouterr().err
    parameters = json.loads((tmp_path / "staging-config-export.json").read_text())["Parameters"]
    assert parameters["BiasConstraintsUri"] == f"{root}/bias/analysis.json" and parameters["BiasConfigUri"] == f"{root}/bias/analysis_config.json"
    assert parameters["ExplainabilityConstraintsUri"] == f"{root}/explainability/analysis.json" and parameters["ModelDataUrl"] == f"{root}/model.tar.gz"
    assert parameters["GroundTruthUri"] == f"s3://{BUCKET}/credit-default/ground-truth"  # bias merges ground truth
    template = json.loads((tmp_path / "staging-template.json").read_text())
    resources = template["Resources"]
    assert resources["BiasSchedule"]["Condition"] == "ScheduleBias" and resources["ExplainabilitySchedule"]["Condition"] == "ScheduleExplainability"
    # The schedules' inputs are StartPipelineExecution requests naming the monitoring pipeline's parameters.
    for name, kind in (("BiasSchedule", "ModelBias"), ("ExplainabilitySchedule", "ModelExplainability")):
        text = resources[name]["Properties"]["Target"]["Input"]["Fn::Sub"]
        assert f'{{"Name": "MonitoringType", "Value": "{kind}"}}' in text
    # One DI alarm per facet group, with the dimensions the job publishes (clarify_monitor.bias_metric_data).
    di = {r["Properties"]["AlarmName"]: r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["MetricName"] == "bias_metric_DI"}
    assert sorted(di) == ["credit-default-staging-bias-DI-AGE-40", "credit-default-staging-bias-DI-SEX-2"]
    published = clarify_monitor.bias_metric_data(bias.analysis(post=bias.post_training(table, config)), "E", "S", __import__("datetime").datetime(2026, 1, 1))
    sex = next(d for d in published if d["MetricName"] == "bias_metric_DI" and {"Name": "Facet", "Value": "SEX"} in d["Dimensions"])
    alarm = di["credit-default-staging-bias-DI-SEX-2"]
    assert [d["Name"] for d in alarm["Properties"]["Dimensions"]] == [d["Name"] for d in sex["Dimensions"]]
    assert [d["Value"] for d in alarm["Properties"]["Dimensions"][2:]] == [d["Value"] for d in sex["Dimensions"][2:]]
    assert (alarm["Condition"], alarm["Properties"]["Threshold"], alarm["Properties"]["ComparisonOperator"]) == ("ScheduleBias", 0.8, "LessThanThreshold")
    ndcg = resources["AttributionDriftAlarm"]["Properties"]
    assert (ndcg["Namespace"], ndcg["MetricName"], ndcg["Threshold"]) == (clarify_monitor.EXPLAINABILITY_NAMESPACE, "feature_attribution_ndcg", 0.9)
    # The retraining rule catches both.
    prefixes = [p["prefix"]["Fn::Sub"] for p in resources["RetrainOnDrift"]["Properties"]["EventPattern"]["detail"]["alarmName"]]
    assert "${ProjectName}-${StageName}-bias-" in prefixes and "${ProjectName}-${StageName}-attribution-" in prefixes
    assert [str(m) for m in lint_file(tmp_path / "staging-template.json")] == []


def test_prod_samples_less_and_the_workshops_network_reaches_the_parameters(registry: dict[str, str], tmp_path: Path) -> None:
    env = tmp_path / "workshop.env"
    env.write_text("SubnetIds=subnet-1,subnet-2\nSecurityGroupIds=sg-1\nKmsKeyArn=arn:aws:kms:eu-west-1:123456789012:key/k\n")
    assert deploy_config(tmp_path, "prod", "--environment-file", str(env)) == 0
    parameters = json.loads((tmp_path / "prod-config-export.json").read_text())["Parameters"]
    assert parameters["SamplingPercentage"] == str(DEFAULTS["prod"]["sampling"]) == "80"
    assert parameters["SubnetIds"] == "subnet-1,subnet-2" and parameters["KmsKeyArn"].endswith(":key/k")


def test_a_stage_in_its_own_account_sends_its_alarms_to_the_tooling_accounts_bus(registry: dict[str, str], tmp_path: Path) -> None:
    bus = "arn:aws:events:eu-west-1:123456789012:event-bus/default"
    assert deploy_config(tmp_path, "prod", "--retrain-event-bus-arn", bus) == 0
    parameters = json.loads((tmp_path / "prod-config-export.json").read_text())["Parameters"]
    assert parameters["RetrainEventBusArn"] == bus
    template = json.loads((tmp_path / "prod-template.json").read_text())
    condition, elsewhere, _here = template["Resources"]["RetrainOnDrift"]["Properties"]["Targets"][0]["Fn::If"]
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "RetrainEventBusArn"}, ""]}]}
    assert elsewhere == {"Id": "tooling-account", "Arn": {"Ref": "RetrainEventBusArn"}, "RoleArn": {"Ref": "RetrainPipelineRoleArn"}}
    assert [str(m) for m in lint_file(tmp_path / "prod-template.json")] == []


def test_model_monitor_stays_selectable(registry: dict[str, str], tmp_path: Path) -> None:
    assert deploy_config(tmp_path, "staging", "--monitoring", "model-monitor") == 0
    parameters = json.loads((tmp_path / "staging-config-export.json").read_text())["Parameters"]
    assert parameters["Monitoring"] == "model-monitor" and parameters["MonitoringImageUri"].endswith("sagemaker-model-monitor-analyzer")
    template = json.loads((tmp_path / "staging-template.json").read_text())
    assert template["Resources"]["MonitoringSchedule"]["Condition"] == "UseModelMonitor" and template["Resources"]["DataQualitySchedule"]["Condition"] == "UseBuiltin"
    assert [str(m) for m in lint_file(tmp_path / "staging-template.json")] == []


def test_builtin_monitoring_needs_the_scheduler_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["aws", "deploy-config", "--stage", "staging", "--bucket", BUCKET, "--model-role-arn", ROLE, "--retrain-role-arn", RETRAIN_ROLE, "--region", "eu-west-1", "-o", str(tmp_path)]
    assert mlops.main(argv) == 1
    assert "--scheduler-role-arn: the role EventBridge Scheduler assumes" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_no_approved_package_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        boto3.client("sagemaker", region_name="eu-west-1").create_model_package_group(ModelPackageGroupName=GROUP)
        assert deploy_config(tmp_path, "staging") == 1
    assert capsys.readouterr().err.strip() == f"usage error: model package group {GROUP} has no Approved package; approve one first"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["endpoint.yml", "approval.yml"])  # iam.yml: tests/templates
def test_templates_are_cfn_lint_clean(name: str) -> None:
    assert [str(m) for m in lint_file(stage_deploy.TEMPLATES / name)] == []


def test_the_approval_rule_fires_on_approved_only() -> None:
    template = stage_deploy.load_template(stage_deploy.TEMPLATES / "approval.yml")
    pattern = template["Resources"]["OnApproval"]["Properties"]["EventPattern"]
    assert pattern["detail"]["ModelApprovalStatus"] == ["Approved"]
    assert pattern["detail-type"] == ["SageMaker Model Package State Change"]
