"""The credit-card-default pipeline, defined with the SageMaker Python SDK v3.

    Preprocess --> Train --> Evaluate --+--> DataQualityBaseline ---------------+
                                        |                                        v
                                        +--> CheckAuc --(AUC >= threshold)--> Register
                                                |                                |
                                                |                   CheckApproval (Approved?)
                                                |                                |
                                                |          CreateModel -> EndpointConfig -> Deploy
                                                +--(otherwise)--> AucTooLow (Fail)

The data-quality baseline is computed on what Evaluate writes: the training rows with the
model's output first, the shape of a captured request and response, so that the monitor
compares like with like (the output column included).

Implements ``get_pipeline(...)``, the contract of AWS's model-build template. Rendering makes
no network call: job scripts are referenced by content-addressed S3 URIs (see
``pipelines.build.code_assets``) and the SDK is prepared for offline use (``pipelines.build.sdk``).
"""

from __future__ import annotations

from typing import Any

from pipelines.build import code_assets, sdk
from pipelines.build.security import Security

# The built-in images the jobs run in. Versions are part of the contract with the local engine,
# which maps these images to local runtimes.
SKLEARN_FRAMEWORK_VERSION = "1.2-1"
XGBOOST_FRAMEWORK_VERSION = "1.7-1"

PROCESSING = "/opt/ml/processing"
# How the data-quality baseline is made: see get_pipeline(monitoring=...).
MONITORING = ("builtin", "model-monitor")
DEFAULT_HYPERPARAMETERS: dict[str, float | int] = {
    "MaxDepth": 5,
    "Eta": 0.1,
    "NumRound": 200,
    "Subsample": 0.8,
    "MinChildWeight": 1,
    "Gamma": 0.0,
    "EarlyStoppingRounds": 10,
}
# The fairness analysis (monitor/clarify_job.py): each facet's sensitive group against the rest.
# SEX 2 = female (1 = male); MARRIAGE 2 = single (1 = married, 3 = others, 0 = undocumented);
# AGE > 40 = applicants over forty. The favourable outcome is label 0 (no default next month);
# CDDL/CDDPL are conditioned on EDUCATION.
BIAS_FACETS = ("SEX=2", "MARRIAGE=2", "AGE>40")
BIAS_GROUP_VARIABLE = "EDUCATION"
FAVOURABLE_LABEL = "0"
# The gate's band for disparate impact: the four-fifths rule and its inverse.
DISPARATE_IMPACT_BAND = (0.8, 1.25)
# Pipeline parameter name -> built-in XGBoost hyperparameter name.
HYPERPARAMETER_NAMES = {
    "MaxDepth": "max_depth",
    "Eta": "eta",
    "NumRound": "num_round",
    "Subsample": "subsample",
    "MinChildWeight": "min_child_weight",
    "Gamma": "gamma",
    "EarlyStoppingRounds": "early_stopping_rounds",
}


def get_pipeline(
    region: str = "us-east-1",
    role: str | None = None,
    default_bucket: str | None = None,
    pipeline_name: str = "CreditDefaultPipeline",
    model_package_group_name: str = "CreditDefaultPackageGroup",
    base_job_prefix: str = "credit-default",
    sagemaker_session: Any = None,
    endpoint_name: str = "credit-default-staging",
    capture_sampling_percentage: int = 100,
    train_ratio: float = 0.7,
    validation_ratio: float = 0.15,
    test_ratio: float = 0.15,
    split_seed: int = 42,
    cache_expire_after: str = "P30D",
    subnets: list[str] | None = None,
    security_group_ids: list[str] | None = None,
    network_isolation: bool = False,
    encrypt_inter_container_traffic: bool = False,
    kms_key: str | None = None,
    environment_file: str | None = None,
    monitoring: str = "builtin",
    bias_facets: tuple[str, ...] = BIAS_FACETS,
    bias_group_variable: str = BIAS_GROUP_VARIABLE,
) -> Any:
    """Return the SageMaker Pipeline object for the credit-default classifier.

    Args:
        region: AWS region the jobs run in (also picks the built-in image URIs).
        role: IAM role ARN the jobs run as. A placeholder is used when rendering without one.
        default_bucket: S3 bucket for code, data and artifacts
            (default ``sagemaker-{region}-mlops``).
        pipeline_name: Name of the pipeline resource.
        model_package_group_name: Model registry group new model versions go to.
        base_job_prefix: Prefix of job names and of every S3 key the pipeline writes.
        sagemaker_session: A PipelineSession to build with; one is made when omitted.
        endpoint_name: Endpoint the conditional deployment creates.
        capture_sampling_percentage: Share of requests the endpoint captures (0-100).
        train_ratio, validation_ratio, test_ratio: The stratified split (they sum to 1).
        split_seed: Seed of the split.
        cache_expire_after: ISO-8601 duration step results are reused for.
        subnets, security_group_ids: the VPC every job, model and endpoint runs in.
        network_isolation: no network access from the job and model containers.
        encrypt_inter_container_traffic: encrypt traffic between a job's instances.
        kms_key: the KMS key for job volumes and outputs, the model's artifacts, the endpoint
            and its data capture.
        environment_file: the same settings in a file like the workshop's (see pipelines.build.security).
        monitoring: how the data-quality baseline is made. ``"builtin"`` (the default): a
            ProcessingStep runs the project's analyzer (the bundle the monitoring pipeline runs
            too) on the stock scikit-learn image. ``"model-monitor"``: SageMaker's
            QualityCheckStep, for accounts that still have Model Monitor (closed to new
            customers since 2026-07-30). Both write statistics.json and constraints.json and
            register them as the package's DriftCheckBaselines and ModelMetrics.
        bias_facets: the facets of the bias report: ``NAME=V1,V2`` (those values are the
            sensitive group), ``NAME>T`` (the rows above T) or ``NAME`` (each value against
            the rest). Registration waits for every facet group's disparate impact to be within
            [DisparateImpactLower, DisparateImpactUpper] (pipeline parameters).
        bias_group_variable: the column CDDL and CDDPL are conditioned on ("" for none).
    """
    if monitoring not in MONITORING:
        raise ValueError(f"monitoring must be one of {', '.join(MONITORING)}, got {monitoring!r}")
    sdk.prepare(region)
    from sagemaker.core import image_uris
    from sagemaker.core.helper.session_helper import production_variant
    from sagemaker.core.model_monitor import DataCaptureConfig, DatasetFormat
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        Bias,
        DriftCheckBaselines,
        DriftCheckBias,
        DriftCheckExplainability,
        DriftCheckModelDataQuality,
        DriftCheckModelQuality,
        Explainability,
        FileSource,
        MetadataProperties,
        MetricsSource,
        ModelDataQuality,
        ModelMetrics,
        ModelQuality,
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.training.configs import Compute, InputData, Networking, OutputDataConfig, StoppingCondition
    from sagemaker.core.workflow.conditions import ConditionEquals, ConditionGreaterThanOrEqualTo, ConditionLessThanOrEqualTo
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow import (
        CacheConfig,
        CheckJobConfig,
        ConditionStep,
        EndpointConfigStep,
        EndpointStep,
        FailStep,
        ModelStep,
        Pipeline,
        ProcessingStep,
        TrainingStep,
    )
    from sagemaker.mlops.workflow.quality_check_step import DataQualityCheckConfig, ModelQualityCheckConfig
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer

    security = Security.resolve(subnets, security_group_ids, network_isolation, encrypt_inter_container_traffic, kms_key, environment_file)
    network = NetworkConfig(
        enable_network_isolation=security.network_isolation or None,
        security_group_ids=list(security.security_group_ids) or None,
        subnets=list(security.subnets) or None,
        encrypt_inter_container_traffic=security.encrypt_inter_container_traffic or None,
    ) if (security.vpc or security.network_isolation or security.encrypt_inter_container_traffic) else None
    networking = Networking(
        subnets=list(security.subnets) or None,
        security_group_ids=list(security.security_group_ids) or None,
        enable_network_isolation=security.network_isolation or None,
        enable_inter_container_traffic_encryption=security.encrypt_inter_container_traffic or None,
    ) if network is not None else None
    kms = security.kms_key
    _check_ratios(train_ratio, validation_ratio, test_ratio)
    if not 0 <= capture_sampling_percentage <= 100:
        raise ValueError(f"capture_sampling_percentage must be within 0-100, got {capture_sampling_percentage}")

    default_bucket = default_bucket or f"sagemaker-{region}-mlops"
    role = role or _placeholder_role(region)
    session = sagemaker_session or sdk.pipeline_session(region, default_bucket)
    prefix = base_job_prefix.strip("/")
    s3_root = f"s3://{default_bucket}/{prefix}"

    # ---- parameters ---------------------------------------------------------------------
    input_data = ParameterString("InputDataUrl", default_value=f"{s3_root}/data/credit_default.csv")
    processing_instance_type = ParameterString("ProcessingInstanceType", default_value="ml.m5.xlarge")
    training_instance_type = ParameterString("TrainingInstanceType", default_value="ml.m5.xlarge")
    approval_status = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")
    auc_threshold = ParameterFloat("AucThreshold", default_value=0.75)
    di_lower = ParameterFloat("DisparateImpactLower", default_value=DISPARATE_IMPACT_BAND[0])
    di_upper = ParameterFloat("DisparateImpactUpper", default_value=DISPARATE_IMPACT_BAND[1])
    git_commit = ParameterString("GitCommit", default_value="unknown")
    hyper = {
        name: (ParameterInteger if isinstance(value, int) else ParameterFloat)(name, default_value=value)
        for name, value in DEFAULT_HYPERPARAMETERS.items()
    }
    cache = CacheConfig(enable_caching=True, expire_after=cache_expire_after)

    # ---- Preprocess -----------------------------------------------------------------------
    def processor(image: str, job: str, env: dict[str, Any] | None = None) -> Any:
        """A ScriptProcessor (python3) on ``image``, in the project's network with its key."""
        return ScriptProcessor(
            role=role,
            image_uri=image,
            command=["python3"],
            instance_type=processing_instance_type,
            instance_count=1,
            base_job_name=f"{prefix}-{job}",
            sagemaker_session=session,
            env=env,
            network_config=network,
            volume_kms_key=kms,
            output_kms_key=kms,
        )

    sklearn_image = image_uris.retrieve("sklearn", region=region, version=SKLEARN_FRAMEWORK_VERSION)
    preprocessor = processor(sklearn_image, "preprocess", {"GIT_COMMIT": git_commit})
    split_outputs = ("train", "validation", "test", "report")
    preprocess = ProcessingStep(
        name="Preprocess",
        step_args=preprocessor.run(
            code=code_assets.script_uri(default_bucket, prefix, "preprocess.py"),
            inputs=[_processing_input(ProcessingInput, ProcessingS3Input, "raw", input_data, f"{PROCESSING}/input")],
            outputs=[
                _processing_output(ProcessingOutput, ProcessingS3Output, name, f"{PROCESSING}/{name}")
                for name in split_outputs
            ],
            arguments=[
                "--input", f"{PROCESSING}/input",
                "--output-dir", PROCESSING,
                "--train-ratio", str(train_ratio),
                "--validation-ratio", str(validation_ratio),
                "--test-ratio", str(test_ratio),
                "--seed", str(split_seed),
            ],
        ),
        cache_config=cache,
    )
    outputs = preprocess.properties.ProcessingOutputConfig.Outputs

    # ---- Train ------------------------------------------------------------------------------
    xgboost_image = image_uris.retrieve("xgboost", region=region, version=XGBOOST_FRAMEWORK_VERSION)
    hyperparameters: dict[str, Any] = {"objective": "binary:logistic", "eval_metric": "auc"}
    for name, parameter in hyper.items():
        hyperparameters[HYPERPARAMETER_NAMES[name]] = parameter.to_string()
    trainer = ModelTrainer(
        training_image=xgboost_image,
        role=role,
        base_job_name=f"{prefix}-train",
        sagemaker_session=session,
        compute=Compute(instance_type=training_instance_type, instance_count=1, volume_size_in_gb=30, volume_kms_key_id=kms),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=3600),
        hyperparameters=hyperparameters,
        output_data_config=OutputDataConfig(s3_output_path=f"{s3_root}/models", kms_key_id=kms),
        environment={"GIT_COMMIT": git_commit},
        networking=networking,
    )
    train = TrainingStep(
        name="Train",
        step_args=trainer.train(
            input_data_config=[
                InputData(channel_name=channel, data_source=outputs[channel].S3Output.S3Uri, content_type="text/csv")
                for channel in ("train", "validation")
            ]
        ),
        cache_config=cache,
    )
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts

    # ---- Evaluate ---------------------------------------------------------------------------
    evaluation_report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluator = processor(xgboost_image, "evaluate", {"GIT_COMMIT": git_commit})
    evaluate = ProcessingStep(
        name="Evaluate",
        step_args=evaluator.run(
            code=code_assets.script_uri(default_bucket, prefix, "evaluate.py"),
            inputs=[
                _processing_input(ProcessingInput, ProcessingS3Input, "model", model_data, f"{PROCESSING}/model"),
                _processing_input(ProcessingInput, ProcessingS3Input, "test", outputs["test"].S3Output.S3Uri, f"{PROCESSING}/test"),
                _processing_input(ProcessingInput, ProcessingS3Input, "train", outputs["train"].S3Output.S3Uri, f"{PROCESSING}/train"),
            ],
            outputs=[
                _processing_output(ProcessingOutput, ProcessingS3Output, name, f"{PROCESSING}/{name}")
                for name in ("evaluation", "baseline", "predictions")
            ],
            arguments=[
                "--model-dir", f"{PROCESSING}/model",
                "--test-dir", f"{PROCESSING}/test",
                "--output-dir", f"{PROCESSING}/evaluation",
                "--train-dir", f"{PROCESSING}/train",
                "--baseline-dir", f"{PROCESSING}/baseline",
                "--predictions-dir", f"{PROCESSING}/predictions",
            ],
        ),
        property_files=[evaluation_report],
        cache_config=cache,
    )
    auc = JsonGet(step_name=evaluate.name, property_file=evaluation_report, json_path="binary_classification_metrics.auc.value")

    # ---- DataQualityBaseline and ModelQualityBaseline ----------------------------------------
    # The data-quality baseline profiles the training rows as the endpoint sees them; the
    # model-quality baseline measures the test rows' probabilities against their labels.
    baseline_dataset = evaluate.properties.ProcessingOutputConfig.Outputs["baseline"].S3Output.S3Uri
    predictions = evaluate.properties.ProcessingOutputConfig.Outputs["predictions"].S3Output.S3Uri
    baselines = {
        "data": Join(on="/", values=[s3_root, "baselines", ExecutionVariables.PIPELINE_EXECUTION_ID, "data-quality"]),
        "model": Join(on="/", values=[s3_root, "baselines", ExecutionVariables.PIPELINE_EXECUTION_ID, "model-quality"]),
    }

    def bundle_step(name: str, job: str, image: str, inputs: list[tuple[str, Any]], output: tuple[str, Any], arguments: list[Any], property_files: tuple[Any, ...] = ()) -> Any:
        """A ProcessingStep running the analyzer bundle (its ``job``) on ``image``: each input at
        /opt/ml/processing/input/<name>, its files in ``output`` (name, S3 URI)."""
        return ProcessingStep(
            name=name,
            step_args=processor(image, job).run(
                code=code_assets.bundle_uri(default_bucket, prefix),
                inputs=[_processing_input(ProcessingInput, ProcessingS3Input, input_name, source, f"{PROCESSING}/input/{input_name}") for input_name, source in inputs],
                outputs=[ProcessingOutput(output_name=output[0], s3_output=ProcessingS3Output(s3_uri=output[1], local_path=f"{PROCESSING}/output", s3_upload_mode="EndOfJob"))],
                arguments=[*arguments, "--output", f"{PROCESSING}/output"],
            ),
            property_files=list(property_files),
            cache_config=cache,
        )

    if monitoring == "builtin":

        def analyzer_step(name: str, job: str, dataset: Any, output: Any, arguments: list[str]) -> Any:
            dataset_path = f"{PROCESSING}/input/baseline_dataset_input"
            return bundle_step(name, job, sklearn_image, [("baseline_dataset_input", dataset)], ("baseline", output), [*arguments, "--dataset", dataset_path])

        def written(step: Any, name: str) -> Any:
            return Join(on="/", values=[step.properties.ProcessingOutputConfig.Outputs["baseline"].S3Output.S3Uri, name])

        baseline = analyzer_step("DataQualityBaseline", "baseline", baseline_dataset, baselines["data"], ["baseline"])
        quality_baseline = analyzer_step(
            "ModelQualityBaseline", "quality-baseline", predictions, baselines["model"],
            ["quality-baseline", "--probability-attribute", "probability", "--ground-truth-attribute", "label"],
        )  # fmt: skip
        baseline_statistics = drift_statistics = written(baseline, "statistics.json")
        baseline_constraints = drift_constraints = written(baseline, "constraints.json")
        quality_statistics = drift_quality_statistics = written(quality_baseline, "statistics.json")
        quality_constraints = drift_quality_constraints = written(quality_baseline, "constraints.json")
    else:
        check_job = dict(role=role, prefix=prefix, session=session, network=network, kms=kms, group=model_package_group_name, cache=cache, CheckJobConfig=CheckJobConfig)
        baseline = _model_monitor_check(
            "DataQualityBaseline", "baseline",
            DataQualityCheckConfig(baseline_dataset=baseline_dataset, dataset_format=DatasetFormat.csv(header=True, output_columns_position="START"), output_s3_uri=baselines["data"]),
            **check_job,
        )  # fmt: skip
        quality_baseline = _model_monitor_check(
            "ModelQualityBaseline", "quality-baseline",
            ModelQualityCheckConfig(
                baseline_dataset=predictions, dataset_format=DatasetFormat.csv(header=True), output_s3_uri=baselines["model"],
                problem_type="BinaryClassification", probability_attribute="probability", ground_truth_attribute="label", probability_threshold_attribute=0.5,
            ),
            **check_job,
        )  # fmt: skip
        baseline_statistics, baseline_constraints = baseline.properties.CalculatedBaselineStatistics, baseline.properties.CalculatedBaselineConstraints
        drift_statistics, drift_constraints = baseline.properties.BaselineUsedForDriftCheckStatistics, baseline.properties.BaselineUsedForDriftCheckConstraints
        quality_statistics, quality_constraints = quality_baseline.properties.CalculatedBaselineStatistics, quality_baseline.properties.CalculatedBaselineConstraints
        drift_quality_statistics = quality_baseline.properties.BaselineUsedForDriftCheckStatistics
        drift_quality_constraints = quality_baseline.properties.BaselineUsedForDriftCheckConstraints

    # ---- BiasReport and Explain: Clarify's analyses as processing jobs -------------------------
    # Clarify is closed to new customers: the bundle's own jobs write its files. The bias report
    # needs no model (the Evaluate step's predictions), so it runs on the scikit-learn image; the
    # explanation needs xgboost, so it runs on the built-in XGBoost image.
    def clarify_step(name: str, job: str, image: str, inputs: list[tuple[str, Any]], arguments: list[Any], property_files: list[Any]) -> Any:
        output = Join(on="/", values=[s3_root, "baselines", ExecutionVariables.PIPELINE_EXECUTION_ID, job])
        return bundle_step(name, job, image, inputs, (job, output), arguments, tuple(property_files))

    bias_summary = PropertyFile(name="BiasSummary", output_name="bias", path="bias_summary.json")
    bias_report = clarify_step(
        "BiasReport", "bias", sklearn_image,
        [("dataset", outputs["test"].S3Output.S3Uri), ("predictions", predictions), ("train", outputs["train"].S3Output.S3Uri)],
        [
            "bias", "--dataset", f"{PROCESSING}/input/dataset", "--predictions", f"{PROCESSING}/input/predictions", "--train", f"{PROCESSING}/input/train",
            "--label", "Label", "--label-values", FAVOURABLE_LABEL, *[a for facet in bias_facets for a in ("--facet", facet)],
            *(["--group-variable", bias_group_variable] if bias_group_variable else []),
            "--di-band", di_lower.to_string(), di_upper.to_string(),
        ],
        [bias_summary],
    )  # fmt: skip
    explain = clarify_step(
        "Explain", "explainability", xgboost_image,
        [("model", model_data), ("dataset", outputs["test"].S3Output.S3Uri)],
        ["explain", "--model", f"{PROCESSING}/input/model", "--dataset", f"{PROCESSING}/input/dataset"],
        [],
    )  # fmt: skip

    def clarify_file(step: Any, job: str, name: str) -> Any:
        return Join(on="/", values=[step.properties.ProcessingOutputConfig.Outputs[job].S3Output.S3Uri, name])

    bias_analysis, bias_config = clarify_file(bias_report, "bias", "analysis.json"), clarify_file(bias_report, "bias", "analysis_config.json")
    explain_analysis, explain_config = clarify_file(explain, "explainability", "analysis.json"), clarify_file(explain, "explainability", "analysis_config.json")

    # ---- Register -----------------------------------------------------------------------------
    builder = ModelBuilder(
        image_uri=xgboost_image,
        s3_model_data_url=model_data,
        role_arn=role,
        sagemaker_session=session,
        dependencies=None,
        network=networking,
    )
    register = ModelStep(
        name="Register",
        step_args=builder.register(
            model_package_group_name=model_package_group_name,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.t2.medium", "ml.m5.large", "ml.m5.xlarge"],
            transform_instances=["ml.m5.large"],
            approval_status=approval_status,
            model_metrics=ModelMetrics(
                model_quality=ModelQuality(
                    statistics=MetricsSource(s3_uri=quality_statistics, content_type="application/json"),
                    constraints=MetricsSource(s3_uri=quality_constraints, content_type="application/json"),
                ),
                model_data_quality=ModelDataQuality(
                    statistics=MetricsSource(s3_uri=baseline_statistics, content_type="application/json"),
                    constraints=MetricsSource(s3_uri=baseline_constraints, content_type="application/json"),
                ),
                bias=Bias(report=MetricsSource(s3_uri=bias_analysis, content_type="application/json")),
                explainability=Explainability(report=MetricsSource(s3_uri=explain_analysis, content_type="application/json")),
            ),
            drift_check_baselines=DriftCheckBaselines(
                model_quality=DriftCheckModelQuality(
                    statistics=MetricsSource(s3_uri=drift_quality_statistics, content_type="application/json"),
                    constraints=MetricsSource(s3_uri=drift_quality_constraints, content_type="application/json"),
                ),
                model_data_quality=DriftCheckModelDataQuality(
                    statistics=MetricsSource(s3_uri=drift_statistics, content_type="application/json"),
                    constraints=MetricsSource(s3_uri=drift_constraints, content_type="application/json"),
                ),
                bias=DriftCheckBias(
                    config_file=FileSource(s3_uri=bias_config, content_type="application/json"),
                    pre_training_constraints=MetricsSource(s3_uri=bias_analysis, content_type="application/json"),
                    post_training_constraints=MetricsSource(s3_uri=bias_analysis, content_type="application/json"),
                ),
                explainability=DriftCheckExplainability(
                    constraints=MetricsSource(s3_uri=explain_analysis, content_type="application/json"),
                    config_file=FileSource(s3_uri=explain_config, content_type="application/json"),
                ),
            ),
            customer_metadata_properties={"GitCommit": git_commit},
            metadata_properties=MetadataProperties(commit_id=git_commit),
            description="XGBoost credit-card-default classifier",
        ),
    )

    # ---- conditional deployment (only for runs that approve automatically) ---------------------
    create_model = ModelStep(name="CreateModel", step_args=builder.build(), depends_on=[register])
    endpoint_config_name = Join(on="-", values=[endpoint_name, "config", ExecutionVariables.PIPELINE_EXECUTION_ID])
    endpoint_config = EndpointConfigStep(
        name="EndpointConfig",
        step_args=session.create_endpoint_config(
            name=endpoint_config_name,
            kms_key=kms,
            production_variants=[
                production_variant(
                    model_name=create_model.properties.ModelName,
                    instance_type="ml.m5.large",
                    initial_instance_count=1,
                    variant_name="AllTraffic",
                )
            ],
            data_capture_config_dict=DataCaptureConfig(
                enable_capture=True,
                sampling_percentage=capture_sampling_percentage,
                destination_s3_uri=f"{s3_root}/data-capture",
                capture_options=["REQUEST", "RESPONSE"],
                csv_content_types=["text/csv"],
                kms_key_id=kms,
                sagemaker_session=session,
            )._to_request_dict(),
        ),
    )
    deploy = EndpointStep(
        name="Deploy",
        step_args=session.create_endpoint(endpoint_name=endpoint_name, config_name=endpoint_config_name),
        depends_on=[endpoint_config],
    )
    check_approval = ConditionStep(
        name="CheckApproval",
        conditions=[ConditionEquals(left=approval_status, right="Approved")],
        if_steps=[create_model, endpoint_config, deploy],
        else_steps=[],
        depends_on=[register],
    )

    # ---- CheckBias: disparate impact within its band for every facet group ------------------------
    def di(end: str) -> Any:
        return JsonGet(step_name=bias_report.name, property_file=bias_summary, json_path=f"disparate_impact.{end}.value")

    def di_group(end: str) -> Any:
        return JsonGet(step_name=bias_report.name, property_file=bias_summary, json_path=f"disparate_impact.{end}.group")

    bias_outside_band = FailStep(
        name="BiasOutsideBand",
        error_message=Join(
            on="",
            values=[
                "Disparate impact outside ", di_lower, "-", di_upper, ": lowest ", di("lowest"), " for ", di_group("lowest"),
                ", highest ", di("highest"), " for ", di_group("highest"), "; commit ", git_commit,
            ],
        ),
    )  # fmt: skip
    check_bias = ConditionStep(
        name="CheckBias",
        conditions=[ConditionGreaterThanOrEqualTo(left=di("lowest"), right=di_lower), ConditionLessThanOrEqualTo(left=di("highest"), right=di_upper)],
        if_steps=[register, check_approval],
        else_steps=[bias_outside_band],
    )

    # ---- CheckAuc ---------------------------------------------------------------------------------
    auc_too_low = FailStep(
        name="AucTooLow",
        error_message=Join(
            on=" ",
            values=["Test AUC", auc, "is below the threshold", auc_threshold, "for commit", git_commit],
        ),
    )
    check_auc = ConditionStep(
        name="CheckAuc",
        conditions=[ConditionGreaterThanOrEqualTo(left=auc, right=auc_threshold)],
        if_steps=[check_bias],
        else_steps=[auc_too_low],
    )

    return Pipeline(
        name=pipeline_name,
        parameters=[
            input_data,
            processing_instance_type,
            training_instance_type,
            approval_status,
            auc_threshold,
            di_lower,
            di_upper,
            git_commit,
            *hyper.values(),
        ],
        steps=[preprocess, train, evaluate, baseline, quality_baseline, bias_report, explain, check_auc],
        sagemaker_session=session,
    )


def _model_monitor_check(
    name: str, job: str, config: Any, *, role: str, prefix: str, session: Any, network: Any, kms: str | None, group: str, cache: Any, CheckJobConfig: Any,
) -> Any:  # fmt: skip
    """SageMaker's QualityCheckStep (Model Monitor's analyzer image) making a baseline."""
    return sdk.quality_check_step(
        name=name,
        quality_check_config=config,
        check_job_config=CheckJobConfig(
            role=role,
            instance_count=1,
            instance_type="ml.m5.xlarge",
            volume_size_in_gb=20,
            base_job_name=f"{prefix}-{job}",
            sagemaker_session=session,
            network_config=network,
            volume_kms_key=kms,
            output_kms_key=kms,
        ),
        skip_check=True,
        register_new_baseline=True,
        model_package_group_name=group,
        cache_config=cache,
    )


def _processing_input(input_cls: Any, s3_cls: Any, name: str, source: Any, local_path: str) -> Any:
    return input_cls(
        input_name=name,
        s3_input=s3_cls(s3_uri=source, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"),
    )


def _processing_output(output_cls: Any, s3_cls: Any, name: str, local_path: str) -> Any:
    # No S3Uri given: the SDK derives one from the execution, so each execution's outputs
    # land under their own prefix.
    return output_cls(
        output_name=name,
        s3_output=s3_cls(s3_uri=local_path, local_path=local_path, s3_upload_mode="EndOfJob"),
    )


def _check_ratios(*ratios: float) -> None:
    if any(not 0 < ratio < 1 for ratio in ratios) or abs(sum(ratios) - 1) > 1e-9:
        raise ValueError(f"train/validation/test ratios must each be within (0, 1) and sum to 1, got {ratios}")


def _placeholder_role(region: str) -> str:
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return f"arn:{partition}:iam::000000000000:role/SageMakerExecutionRole"
