"""The monitoring pipeline: one window of an endpoint's capture against its baseline.

``MonitoringType`` picks the analysis, SageMaker's four: ``DataQuality`` (the default: the
capture's inputs and outputs against the data-quality baseline), ``ModelQuality`` (the captured
predictions merged with the ground truth collected under
``{GroundTruthUri}/{endpoint}/yyyy/mm/dd/hh/`` from the window's start until the scheduled time,
or ``GroundTruthUntil`` for a backfill, against the model-quality constraints), ``ModelBias``
(the same merge, Clarify's bias metrics against the bias baseline's analysis.json, the facets
from ``BiasConfigUri``) and ``ModelExplainability`` (exact SHAP values of the window's requests
by the model at ``ModelDataUrl``, Clarify's nDCG against the baseline's, on the XGBoost image),
one ProcessingStep each behind conditions, so one pipeline serves every kind of schedule.

Model Monitor is closed to new customers since 2026-07-30; this pipeline does what its hourly
schedule did, with the project's own analyzer (``pipelines/monitor/job.py``, run from the
analyzer bundle on SageMaker's stock scikit-learn image). One ProcessingStep reads the capture
hours of the window, writes statistics.json, constraint_violations.json and report.html where
Model Monitor wrote them (``{output}/{endpoint}/{schedule}/yyyy/mm/dd/hh/``) and publishes the
CloudWatch metrics it published, so its alarms keep working.

On AWS an EventBridge Scheduler schedule starts it every hour with ``ScheduledTime`` set to the
schedule's time (``templates/endpoint.yml``); locally ``mlops monitor scheduler`` runs this same
definition on the local engine. ``get-pipeline-definition --module-name
pipelines.monitoring.pipeline`` and ``run-pipeline --module-name pipelines.monitoring.pipeline``
work as for the build pipeline.
"""

from __future__ import annotations

from typing import Any

from pipelines.build import code_assets, sdk
from pipelines.build.security import Security
from pipelines.monitor import types

SKLEARN_FRAMEWORK_VERSION = "1.2-1"  # its image has numpy, pyarrow, scipy and boto3 (Python 3.9)
XGBOOST_FRAMEWORK_VERSION = "1.7-1"  # the explainability monitor needs xgboost (Python 3.8)
CODE = "/opt/ml/processing/input/code"
EXIT_MESSAGE = "/opt/ml/output/message"
OUTPUT = "/opt/ml/processing/output"


def get_pipeline(
    region: str = "us-east-1",
    role: str | None = None,
    default_bucket: str | None = None,
    pipeline_name: str = "CreditDefaultMonitoring",
    base_job_prefix: str = "credit-default",
    sagemaker_session: Any = None,
    endpoint_name: str = "credit-default-staging",
    schedule_name: str = "credit-default-hourly",
    subnets: list[str] | None = None,
    security_group_ids: list[str] | None = None,
    encrypt_inter_container_traffic: bool = False,
    kms_key: str | None = None,
    environment_file: str | None = None,
) -> Any:
    """Return the monitoring pipeline: one ProcessingStep over one window of capture.

    Args:
        region: AWS region the job runs in (also picks the scikit-learn image).
        role: IAM role ARN the job runs as (S3 read of the capture and baselines, S3 write of
            the reports, cloudwatch:PutMetricData in Model Monitor's namespace).
        default_bucket: S3 bucket of the capture, the baselines, the reports and the code
            (default ``sagemaker-{region}-mlops``).
        pipeline_name: Name of the pipeline resource.
        base_job_prefix: Prefix of job names and of every S3 key (as the build pipeline's).
        sagemaker_session: A PipelineSession to build with; one is made when omitted.
        endpoint_name, schedule_name: the defaults of the EndpointName and ScheduleName
            parameters (the schedule name is the CloudWatch dimension Model Monitor used).
        subnets, security_group_ids, encrypt_inter_container_traffic, kms_key,
            environment_file: as for the build pipeline (``pipelines.build.security``). Network
            isolation is not offered: the job reads S3 and publishes metrics itself.
    """
    sdk.prepare(region)
    from sagemaker.core import image_uris
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
    from sagemaker.core.workflow.conditions import ConditionEquals, ConditionIn
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.mlops.workflow import ConditionStep, Pipeline, ProcessingStep

    default_bucket = default_bucket or f"sagemaker-{region}-mlops"
    role = role or f"arn:{'aws-cn' if region.startswith('cn-') else 'aws'}:iam::000000000000:role/SageMakerExecutionRole"
    session = sagemaker_session or sdk.pipeline_session(region, default_bucket)
    prefix = base_job_prefix.strip("/")
    s3_root = f"s3://{default_bucket}/{prefix}"
    security = Security.resolve(subnets, security_group_ids, False, encrypt_inter_container_traffic, kms_key, environment_file)
    if security.network_isolation:
        raise ValueError("the monitoring job reads the capture and publishes metrics itself: it cannot run with network isolation (the VPC and the key still apply)")
    network = NetworkConfig(
        security_group_ids=list(security.security_group_ids) or None,
        subnets=list(security.subnets) or None,
        encrypt_inter_container_traffic=security.encrypt_inter_container_traffic or None,
    ) if (security.vpc or security.encrypt_inter_container_traffic) else None  # fmt: skip

    # ---- parameters: what the hourly schedule (or a backfill) passes -----------------------
    scheduled_time = ParameterString("ScheduledTime", default_value="")
    endpoint = ParameterString("EndpointName", default_value=endpoint_name)
    schedule = ParameterString("ScheduleName", default_value=schedule_name)
    capture = ParameterString("CaptureUri", default_value=f"{s3_root}/data-capture")
    statistics = ParameterString("BaselineStatisticsUri", default_value=f"{s3_root}/baselines/current/statistics.json")
    constraints = ParameterString("BaselineConstraintsUri", default_value=f"{s3_root}/baselines/current/constraints.json")
    output = ParameterString("OutputUri", default_value=f"{s3_root}/monitoring")
    start_offset = ParameterString("StartOffset", default_value="-PT1H")
    end_offset = ParameterString("EndOffset", default_value="-PT0H")
    publish = ParameterString("PublishMetrics", default_value="true")
    instance_type = ParameterString("ProcessingInstanceType", default_value="ml.m5.xlarge")
    monitoring_type = ParameterString("MonitoringType", default_value="DataQuality", enum_values=[t.name for t in types.TABLE])
    ground_truth = ParameterString("GroundTruthUri", default_value=f"{s3_root}/ground-truth")
    threshold = ParameterString("ProbabilityThreshold", default_value="0.5")
    until = ParameterString("GroundTruthUntil", default_value="")  # empty: labels collected until ScheduledTime
    bias_config = ParameterString("BiasConfigUri", default_value=f"{s3_root}/baselines/current/bias/analysis_config.json")
    model_data = ParameterString("ModelDataUrl", default_value=f"{s3_root}/models/current/model.tar.gz")
    attribution_threshold = ParameterString("AttributionThreshold", default_value="0.9")

    def processor(framework: str, version: str) -> Any:
        return ScriptProcessor(
            role=role,
            image_uri=image_uris.retrieve(framework, region=region, version=version),
            command=["python3"],
            instance_type=instance_type,
            instance_count=1,
            base_job_name=f"{prefix}-monitoring",
            sagemaker_session=session,
            network_config=network,
            volume_kms_key=security.kms_key,
            output_kms_key=security.kms_key,
        )

    analyzer, explainer = processor("sklearn", SKLEARN_FRAMEWORK_VERSION), processor("xgboost", XGBOOST_FRAMEWORK_VERSION)
    code = code_assets.bundle_uri(default_bucket, prefix)
    # The hour's folder goes under the schedule's prefix, uploaded by SageMaker with the job's
    # output key; the other hours' folders stay.
    outputs = [ProcessingOutput(output_name="monitoring", s3_output=ProcessingS3Output(s3_uri=Join(on="/", values=[output, endpoint, schedule]), local_path=OUTPUT, s3_upload_mode="EndOfJob"))]
    window = ["--scheduled-time", scheduled_time, "--start-offset", start_offset, "--end-offset", end_offset]
    common = ["--output", OUTPUT, "--endpoint", endpoint, "--schedule", schedule, "--publish-metrics", publish, "--message", EXIT_MESSAGE]
    endpoint_capture, endpoint_truth = Join(on="/", values=[capture, endpoint]), Join(on="/", values=[ground_truth, endpoint])

    def monitor_step(name: str, processor: Any, *arguments: Any) -> Any:
        """One monitoring type's ProcessingStep: the bundle's job on the window, into ``outputs``."""
        return ProcessingStep(name=name, step_args=processor.run(code=code, outputs=outputs, arguments=[*arguments, *common]))

    data_quality = monitor_step("MonitorDataQuality", analyzer, "monitor", "--capture", endpoint_capture, *window, "--statistics", statistics, "--constraints", constraints)
    model_quality = monitor_step(
        "MonitorModelQuality", analyzer, "quality-monitor", "--capture", endpoint_capture, "--ground-truth", endpoint_truth,
        *window, "--ground-truth-until", until, "--constraints", constraints, "--threshold", threshold,
    )  # fmt: skip
    model_bias = monitor_step(
        "MonitorModelBias", analyzer, "bias-monitor", "--capture", endpoint_capture, "--ground-truth", endpoint_truth,
        *window, "--ground-truth-until", until, "--constraints", constraints, "--config", bias_config,
    )  # fmt: skip
    model_explainability = monitor_step(
        "MonitorModelExplainability", explainer, "attribution-monitor", "--capture", endpoint_capture, *window,
        "--constraints", constraints, "--model", model_data, "--threshold", attribution_threshold,
    )  # fmt: skip
    model_monitor = ConditionStep(
        name="WhichModelMonitor",
        conditions=[ConditionEquals(left=monitoring_type, right="ModelQuality")],
        if_steps=[model_quality],
        else_steps=[data_quality],
    )
    clarify = ConditionStep(
        name="WhichClarifyMonitor",
        conditions=[ConditionEquals(left=monitoring_type, right="ModelBias")],
        if_steps=[model_bias],
        else_steps=[model_explainability],
    )
    which = ConditionStep(
        name="WhichMonitoring",
        conditions=[ConditionIn(value=monitoring_type, in_values=[t.name for t in types.TABLE if t.clarify])],
        if_steps=[clarify],
        else_steps=[model_monitor],
    )
    return Pipeline(
        name=pipeline_name,
        parameters=[
            scheduled_time, endpoint, schedule, capture, statistics, constraints, output, start_offset, end_offset, publish, instance_type, monitoring_type,
            ground_truth, threshold, until, bias_config, model_data, attribution_threshold,
        ],
        steps=[which],
        sagemaker_session=session,
    )
