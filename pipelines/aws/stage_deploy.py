"""The AWS deploy step: the latest approved package, filled into one stage's template.

What AWS's model-deploy seed does in its ``build.py``, with the monitoring the seed leaves
out: it finds the newest *Approved* package of the group, reads the package's
DriftCheckBaselines (the data-quality statistics and constraints the pipeline registered),
and writes two files for ``aws cloudformation deploy`` (or a CodePipeline CloudFormation
action):

- ``<stage>-template.json``: ``templates/endpoint.yml`` plus one CloudWatch alarm per
  feature in the baseline's constraints, on Model Monitor's
  ``feature_baseline_drift_<feature>`` metric (which the monitoring pipeline publishes the
  same way), named so that the template's EventBridge rule starts the pipeline again when
  one fires;
- ``<stage>-config-export.json``: the template configuration (``Parameters``, ``Tags``) from
  ``templates/<stage>-config.json``, the package and the project's settings.

When the package has a model-quality baseline (``DriftCheckBaselines.ModelQuality``), the
template's model-quality schedule runs too, and one more alarm watches its metric (``auc`` by
default) in ``aws/sagemaker/Endpoints/model-metrics``: below the baseline's constraint minus
the stage's ``ModelQuality.BelowBaselineBy`` for ``EvaluationPeriods`` hours, it retrains.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from pipelines.build.security import Security
from pipelines.core.errors import UsageError
from pipelines.core.fileio import write_text_atomic

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
DRIFT_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
QUALITY_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
STAGES = ("staging", "prod")
MONITORING = ("builtin", "model-monitor")


@dataclass(frozen=True)
class Project:
    name: str
    model_package_group: str
    bucket: str
    model_role_arn: str
    retrain_pipeline: str
    retrain_role_arn: str
    region: str
    security: Security = Security()
    monitoring: str = "builtin"  # the monitoring pipeline on an EventBridge Scheduler schedule; or "model-monitor"
    monitoring_pipeline: str = "CreditDefaultMonitoring"
    scheduler_role_arn: str = ""  # the role the schedule assumes to start the monitoring pipeline
    retrain_event_bus_arn: str = ""  # a stage in its own account: alarms go to the tooling account's bus

    def __post_init__(self) -> None:
        if self.monitoring not in MONITORING:
            raise UsageError(f"--monitoring: {self.monitoring!r} is not one of {', '.join(MONITORING)}")
        if self.monitoring == "builtin" and not self.scheduler_role_arn:
            raise UsageError("--scheduler-role-arn: the role EventBridge Scheduler assumes to start the monitoring pipeline is needed with --monitoring builtin (iam.yml's MonitoringSchedulerRoleArn output)")


def latest_approved(client: Any, group: str) -> dict[str, Any]:
    """DescribeModelPackage of the group's newest Approved package."""
    pages = client.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved", SortBy="CreationTime", SortOrder="Descending"
    )
    for page in pages:
        for summary in page.get("ModelPackageSummaryList", []):
            return client.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
    raise UsageError(f"model package group {group} has no Approved package; approve one first")


def baseline_uris(package: dict[str, Any]) -> tuple[str, str]:
    quality = package.get("DriftCheckBaselines", {}).get("ModelDataQuality", {})
    statistics, constraints = quality.get("Statistics", {}).get("S3Uri"), quality.get("Constraints", {}).get("S3Uri")
    if not statistics or not constraints:
        raise UsageError(f"{package['ModelPackageArn']} has no DriftCheckBaselines.ModelDataQuality statistics and constraints; register it with the pipeline's baseline")
    return statistics, constraints


def quality_uris(package: dict[str, Any]) -> tuple[str, str] | None:
    """The package's model-quality drift-check baseline (statistics, constraints), if it has one."""
    quality = package.get("DriftCheckBaselines", {}).get("ModelQuality", {})
    statistics, constraints = quality.get("Statistics", {}).get("S3Uri"), quality.get("Constraints", {}).get("S3Uri")
    return (statistics, constraints) if statistics and constraints else None


def clarify_uris(package: dict[str, Any]) -> dict[str, str]:
    """The package's bias and explainability drift-check baselines, and its model artifact,
    as endpoint.yml's parameters (none of them when the package has no such baseline)."""
    baselines = package.get("DriftCheckBaselines", {})
    bias, explainability = baselines.get("Bias", {}), baselines.get("Explainability", {})
    found = {}
    constraints, config = bias.get("PostTrainingConstraints", {}).get("S3Uri"), bias.get("ConfigFile", {}).get("S3Uri")
    if constraints and config:
        found.update(BiasConstraintsUri=constraints, BiasConfigUri=config)
    containers = package.get("InferenceSpecification", {}).get("Containers") or [{}]
    explained, model = explainability.get("Constraints", {}).get("S3Uri"), containers[0].get("ModelDataUrl")
    if explained and model:
        found.update(ExplainabilityConstraintsUri=explained, ModelDataUrl=model)
    return found


def read_object(s3: Any, uri: str) -> bytes:
    """The bytes of the object at ``uri`` (s3://bucket/key)."""
    parsed = urlparse(uri)
    return bytes(s3.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read())


def read_facet_groups(s3: Any, analysis_uri: str) -> dict[str, Any]:
    """The label, its favourable value and the (facet, group value) of each post-training DI
    of a bias analysis.json on S3: the dimensions of its DI metrics."""
    from pipelines.monitor.job.clarify import bias

    body = read_object(s3, analysis_uri)
    try:
        document = json.loads(body)
        post = document[bias.POST_TRAINING]
        groups = {"label": str(post["label"]), "label_value": str(post["label_value_or_threshold"]),
                  "groups": [(facet, bias.group_value(value)) for facet, value, _ in bias.values(document, "DI")]}  # fmt: skip
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise UsageError(f"{analysis_uri} is not a bias analysis.json with post-training metrics ({exc})") from None
    if not groups["groups"]:
        raise UsageError(f"{analysis_uri} has no post-training disparate impact")
    return groups


def read_threshold(s3: Any, constraints_uri: str, metric: str) -> float:
    """The threshold a model-quality constraints.json on S3 sets for ``metric``."""
    body = read_object(s3, constraints_uri)
    try:
        threshold = json.loads(body)["binary_classification_constraints"][metric]["threshold"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{constraints_uri} is not a model-quality constraints.json with a {metric} threshold ({exc})") from None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise UsageError(f"{constraints_uri}: binary_classification_constraints.{metric}.threshold {threshold!r} is not a number")
    return float(threshold)


def read_features(s3: Any, constraints_uri: str) -> list[str]:
    """The feature names of a constraints.json on S3."""
    body = read_object(s3, constraints_uri)
    try:
        features = [feature["name"] for feature in json.loads(body)["features"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{constraints_uri} is not a Model Monitor constraints.json ({exc})") from None
    if not features:
        raise UsageError(f"{constraints_uri} lists no features")
    return features


def stage_config(stage: str, folder: Path = TEMPLATES) -> dict[str, Any]:
    if stage not in STAGES:
        raise UsageError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    path = folder / f"{stage}-config.json"
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    drift = config.get("Drift", {})
    if not isinstance(drift.get("Threshold"), (int, float)) or not isinstance(drift.get("EvaluationPeriods"), int):
        raise UsageError(f"{path}: /Drift needs a numeric Threshold and an integer EvaluationPeriods")
    quality = config.setdefault("ModelQuality", {"Metric": "auc", "BelowBaselineBy": 0.05, "EvaluationPeriods": 2})
    if not isinstance(quality.get("Metric"), str) or not isinstance(quality.get("BelowBaselineBy"), (int, float)) or not isinstance(quality.get("EvaluationPeriods"), int):
        raise UsageError(f"{path}: /ModelQuality needs a Metric name, a numeric BelowBaselineBy and an integer EvaluationPeriods")
    return config


def render(
    project: Project, stage: str, package: dict[str, Any], features: list[str], monitor_image: str | None = None, quality_threshold: float | None = None,
    facet_groups: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """The stage's template (with its drift alarms) and its template configuration;
    ``monitor_image`` is Model Monitor's analyzer, for ``monitoring="model-monitor"``;
    ``quality_threshold`` the model-quality baseline's constraint on the stage's metric;
    ``facet_groups`` the bias baseline's groups (``read_facet_groups``), one DI alarm each."""
    if project.monitoring == "model-monitor" and not monitor_image:
        raise UsageError("monitoring=model-monitor needs Model Monitor's analyzer image URI")
    config = stage_config(stage)
    template = load_template(TEMPLATES / "endpoint.yml")
    drift = config["Drift"]
    for feature in features:
        logical_id = _logical_id(feature)
        while logical_id in template["Resources"]:  # "a-b" and "a_b" would collide
            logical_id = logical_id.removesuffix("Alarm") + "XAlarm"
        template["Resources"][logical_id] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": f"{project.name}-{stage}-drift-{feature}",
                "AlarmDescription": f"Model Monitor's drift of {feature} from the baseline above {drift['Threshold']} for {drift['EvaluationPeriods']} hours: retrain",
                "Namespace": DRIFT_NAMESPACE,
                "MetricName": f"feature_baseline_drift_{feature}",
                "Dimensions": [
                    {"Name": "Endpoint", "Value": {"Fn::GetAtt": ["Endpoint", "EndpointName"]}},
                    {"Name": "MonitoringSchedule", "Value": {"Fn::Sub": "${ProjectName}-${StageName}-data-quality"}},
                ],
                "Statistic": "Maximum",
                "Period": 3600,
                "EvaluationPeriods": drift["EvaluationPeriods"],
                "Threshold": drift["Threshold"],
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        }
    statistics, constraints = baseline_uris(package)
    quality = quality_uris(package)
    settings = config["ModelQuality"]
    if quality and quality_threshold is not None:
        metric = settings["Metric"]
        template["Resources"]["ModelQualityAlarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Condition": "ScheduleModelQuality",
            "Properties": {
                "AlarmName": f"{project.name}-{stage}-quality-{metric}",
                "AlarmDescription": f"The model's {metric} on labelled traffic below the baseline's {quality_threshold} minus {settings['BelowBaselineBy']} for {settings['EvaluationPeriods']} hours: retrain",
                "Namespace": QUALITY_NAMESPACE,
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "Endpoint", "Value": {"Fn::GetAtt": ["Endpoint", "EndpointName"]}},
                    {"Name": "MonitoringSchedule", "Value": {"Fn::Sub": "${ProjectName}-${StageName}-model-quality"}},
                ],
                "Statistic": "Minimum",
                "Period": 3600,
                "EvaluationPeriods": settings["EvaluationPeriods"],
                "Threshold": round(quality_threshold - settings["BelowBaselineBy"], 6),
                "ComparisonOperator": "LessThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        }
    clarify = clarify_uris(package)
    _clarify_alarms(template, project, stage, config, clarify, facet_groups)
    commit = package.get("MetadataProperties", {}).get("CommitId") or package.get("CustomerMetadataProperties", {}).get("GitCommit", "")
    root = f"s3://{project.bucket}/{project.name}"
    security = project.security
    parameters = {
        **{key: str(value) for key, value in config["Parameters"].items()},
        "ProjectName": project.name,
        "ModelPackageArn": package["ModelPackageArn"],
        "ModelExecutionRoleArn": project.model_role_arn,
        "DataCaptureUri": f"{root}/data-capture",
        "Monitoring": project.monitoring,
        **({"MonitoringImageUri": monitor_image} if project.monitoring == "model-monitor" else {}),
        "MonitoringPipelineName": project.monitoring_pipeline,
        # With model-monitor no schedule is created; the parameter still takes a role ARN.
        "MonitoringSchedulerRoleArn": project.scheduler_role_arn or project.model_role_arn,
        "MonitoringOutputUri": f"{root}/monitoring/{stage}",
        "BaselineStatisticsUri": statistics,
        "BaselineConstraintsUri": constraints,
        **({"ModelQualityStatisticsUri": quality[0], "ModelQualityConstraintsUri": quality[1]} if quality else {}),
        **({"GroundTruthUri": f"{root}/ground-truth"} if quality or "BiasConstraintsUri" in clarify else {}),
        **clarify,
        "RetrainPipelineName": project.retrain_pipeline.lower(),
        "RetrainPipelineRoleArn": project.retrain_role_arn,
        **({"RetrainEventBusArn": project.retrain_event_bus_arn} if project.retrain_event_bus_arn else {}),
        "GitCommit": commit,
        "KmsKeyArn": security.kms_key or "",
        "SubnetIds": ",".join(security.subnets),
        "SecurityGroupIds": ",".join(security.security_group_ids),
    }
    declared = set(template["Parameters"])
    unknown = set(parameters) - declared
    if unknown:
        raise UsageError(f"templates/{stage}-config.json: unknown parameter(s) {', '.join(sorted(unknown))}; endpoint.yml declares {', '.join(sorted(declared))}")
    tags = {**config.get("Tags", {}), "GitCommit": commit, "ModelPackageArn": package["ModelPackageArn"]}
    return template, {"Parameters": parameters, "Tags": tags}


def _clarify_alarms(
    template: dict[str, Any], project: Project, stage: str, config: dict[str, Any], clarify: dict[str, str], facet_groups: dict[str, Any] | None,
) -> None:  # fmt: skip
    """A disparate-impact alarm per facet group (below the stage's lower bound) and an alarm on
    the attribution nDCG (below Clarify's 0.9), each retraining through RetrainOnDrift."""
    from pipelines.monitor.job.clarify import monitor as clarify_monitor

    endpoint = {"Name": "Endpoint", "Value": {"Fn::GetAtt": ["Endpoint", "EndpointName"]}}
    if "BiasConstraintsUri" in clarify and facet_groups:
        settings = config["Bias"]
        label = (facet_groups["label"], facet_groups["label_value"])
        for facet, value in facet_groups["groups"]:
            logical_id = _logical_id(f"{facet} {value}", kind="BiasDi")
            template["Resources"][logical_id] = {
                "Type": "AWS::CloudWatch::Alarm",
                "Condition": "ScheduleBias",
                "Properties": {
                    "AlarmName": f"{project.name}-{stage}-bias-DI-{facet}-{value}",
                    "AlarmDescription": f"Disparate impact of {facet}={value} on labelled traffic below {settings['DisparateImpactLower']} for {settings['EvaluationPeriods']} hours: retrain",
                    "Namespace": clarify_monitor.BIAS_NAMESPACE,
                    "MetricName": "bias_metric_DI",
                    "Dimensions": [
                        endpoint, {"Name": "MonitoringSchedule", "Value": {"Fn::Sub": "${ProjectName}-${StageName}-bias"}},
                        {"Name": "BiasStage", "Value": "Post-Training"}, {"Name": "Label", "Value": label[0]}, {"Name": "LabelValue", "Value": label[1]},
                        {"Name": "Facet", "Value": facet}, {"Name": "FacetValue", "Value": value},
                    ],  # fmt: skip
                    "Statistic": "Minimum",
                    "Period": 3600,
                    "EvaluationPeriods": settings["EvaluationPeriods"],
                    "Threshold": settings["DisparateImpactLower"],
                    "ComparisonOperator": "LessThanThreshold",
                    "TreatMissingData": "notBreaching",
                },
            }
    if "ExplainabilityConstraintsUri" in clarify:
        settings = config["FeatureAttribution"]
        template["Resources"]["AttributionDriftAlarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Condition": "ScheduleExplainability",
            "Properties": {
                "AlarmName": f"{project.name}-{stage}-attribution-ndcg",
                "AlarmDescription": f"The attribution ranking's nDCG against the baseline's below {settings['NdcgBelow']} for {settings['EvaluationPeriods']} hours: retrain",
                "Namespace": clarify_monitor.EXPLAINABILITY_NAMESPACE,
                "MetricName": clarify_monitor.NDCG,
                "Dimensions": [endpoint, {"Name": "MonitoringSchedule", "Value": {"Fn::Sub": "${ProjectName}-${StageName}-feature-attribution"}}],
                "Statistic": "Minimum",
                "Period": 3600,
                "EvaluationPeriods": settings["EvaluationPeriods"],
                "Threshold": settings["NdcgBelow"],
                "ComparisonOperator": "LessThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        }


@dataclass(frozen=True)
class Built:
    """What ``build`` wrote for a stage, and from which package."""

    package: dict[str, Any]
    configuration: dict[str, Any]
    features: list[str]
    model_quality: bool
    facet_groups: dict[str, Any] | None
    monitoring: str
    paths: tuple[Path, Path]

    def summary(self, stage: str) -> str:
        bias = f", bias ({len(self.facet_groups['groups'])} facet groups)" if self.facet_groups else ""
        attribution = ", feature attribution" if "ExplainabilityConstraintsUri" in self.configuration["Parameters"] else ""
        return (
            f"{self.package['ModelPackageArn']} (commit {self.configuration['Parameters']['GitCommit'][:12] or '?'}) -> {stage}: "
            f"{len(self.features)} drift alarms{', model quality' if self.model_quality else ''}{bias}{attribution}, monitoring {self.monitoring}"
        )


def build(project: Project, stage: str, session: Any, output_dir: Path) -> Built:
    """The deploy build (the model-deploy seed's): the group's latest Approved package, its
    baselines read from S3, the stage's template and configuration written to ``output_dir``."""
    from pipelines.aws import clients as aws

    aws.configure_retries()
    with aws.translated(f"finding the latest approved package of {project.model_package_group}"):
        package = latest_approved(session.client("sagemaker"), project.model_package_group)
    _statistics, constraints = baseline_uris(package)
    with aws.translated(f"reading {constraints}"):
        features = read_features(session.client("s3"), constraints)
    quality = quality_uris(package)
    quality_threshold = None
    if quality:
        metric = stage_config(stage)["ModelQuality"]["Metric"]
        with aws.translated(f"reading {quality[1]}"):
            quality_threshold = read_threshold(session.client("s3"), quality[1], metric)
    facet_groups = None
    bias_constraints = clarify_uris(package).get("BiasConstraintsUri")
    if bias_constraints:
        with aws.translated(f"reading {bias_constraints}"):
            facet_groups = read_facet_groups(session.client("s3"), bias_constraints)
    monitor_image = None
    if project.monitoring == "model-monitor":
        from pipelines.build import sdk

        sdk.prepare(project.region)
        from sagemaker.core import image_uris

        monitor_image = image_uris.retrieve("model-monitor", region=project.region)
    template, configuration = render(project, stage, package, features, monitor_image, quality_threshold, facet_groups)
    paths = write(output_dir, stage, template, configuration)
    return Built(package, configuration, features, quality is not None, facet_groups, project.monitoring, paths)


def write(folder: Path, stage: str, template: dict[str, Any], configuration: dict[str, Any]) -> tuple[Path, Path]:
    template_path, config_path = folder / f"{stage}-template.json", folder / f"{stage}-config-export.json"
    write_text_atomic(template_path, json.dumps(template, indent=2) + "\n")
    write_text_atomic(config_path, json.dumps(configuration, indent=2) + "\n")
    return template_path, config_path


def _logical_id(feature: str, kind: str = "Drift") -> str:
    return kind + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", feature) if part) + "Alarm"


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (``!Ref``, ``!Sub``, ``!GetAtt`` ...) as JSON."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a safe loader with CloudFormation's tags
