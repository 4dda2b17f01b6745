"""The second example pipeline: a breast-cancer classifier, written as the SDK's documentation
writes pipelines, with the step types data scientists reach for.

    Prepare (FrameworkProcessor: a source_dir with a helper module and requirements.txt)
      -> Baseline (a scikit-learn script in script mode: ModelTrainer with a SourceCode)
      -> Tune (HyperparameterTuner, Random, over the built-in XGBoost algorithm)
      -> CreateModel (the best model: TuningStep.get_top_model_s3_uri)
      -> ScoreTest (Transform of the test split: the label joined back to each score)
      -> Summarize (Lambda: the tuned AUC against the baseline's, in one line for the reviewer)
      -> Review (Callback: a human approves or not)
      -> Approved? (Condition) else NotApproved (Fail)

Locally: ``mlops run --module-name pipelines.breast_cancer.pipeline``, with the Lambda mapped
in ``$MLOPS_HOME/lambdas.json`` (``{"summarize-tuning":
"pipelines.breast_cancer.functions:summarize"}``) and the review answered with ``mlops callback
send-success TOKEN --outputs '{"approved": "true", "reviewer": "..."}'``. The data is
``data/breast-cancer/breast_cancer.csv`` (its README gives the source and licence).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.build import sdk

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "breast-cancer" / "breast_cancer.csv"
STEPS = ROOT / "steps" / "breast_cancer"
XGBOOST_VERSION = "1.7-1"
SKLEARN_VERSION = "1.2-1"


def get_pipeline(
    region: str = "us-east-1",
    role: str | None = None,
    default_bucket: str | None = None,
    pipeline_name: str = "BreastCancerPipeline",
    prefix: str = "breast-cancer",
    summarize_function: str = "summarize-tuning",
    review_queue: str = "https://sqs.us-east-1.amazonaws.com/000000000000/breast-cancer-review",
    max_jobs: int = 3,
) -> Any:
    """Return the breast-cancer pipeline.

    Args:
        region: AWS region (also picks the images).
        role: IAM role ARN the jobs run as (a placeholder when omitted, for rendering).
        default_bucket: S3 bucket for data, code and models (default ``sagemaker-{region}-mlops``).
        pipeline_name: Name of the pipeline resource.
        prefix: S3 key prefix of everything the pipeline writes.
        summarize_function: The Lambda function (name or ARN) that summarises the tuning.
        review_queue: The SQS queue URL the review's callback message goes to.
        max_jobs: Training jobs the tuning runs.
    """
    sdk.prepare(region)
    from sagemaker.core import image_uris
    from sagemaker.core.lambda_helper import Lambda
    from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
    from sagemaker.core.processing import FrameworkProcessor
    from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
    from sagemaker.core.transformer import Transformer
    from sagemaker.core.workflow.conditions import ConditionEquals
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.mlops.workflow import ConditionStep, Pipeline, ProcessingStep, TrainingStep, TransformStep, TuningStep
    from sagemaker.mlops.workflow.callback_step import CallbackOutput, CallbackOutputTypeEnum, CallbackStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, MetricDefinition, OutputDataConfig, SourceCode
    from sagemaker.train.tuner import HyperparameterTuner

    default_bucket = default_bucket or f"sagemaker-{region}-mlops"
    role = role or f"arn:{'aws-cn' if region.startswith('cn-') else 'aws'}:iam::000000000000:role/SageMakerExecutionRole"
    session = sdk.pipeline_session(region, default_bucket)
    root = f"s3://{default_bucket}/{prefix}"
    minimum_auc = ParameterFloat(name="MinimumAuc", default_value=0.9)
    instance_type = ParameterString(name="InstanceType", default_value="ml.m5.large")

    # ---- Prepare: a FrameworkProcessor with a source_dir ------------------------------------
    processor = FrameworkProcessor(
        image_uri=image_uris.retrieve("sklearn", region=region, version=SKLEARN_VERSION), command=["python3"], role=role,
        instance_type="ml.m5.large", instance_count=1, base_job_name=f"{prefix}-prepare", sagemaker_session=session,
    )  # fmt: skip
    prepare = ProcessingStep(
        name="Prepare",
        step_args=processor.run(
            code="prepare.py",
            source_dir=str(STEPS / "prepare"),
            inputs=[ProcessingInput(input_name="data", s3_input=ProcessingS3Input(s3_uri=str(DATA), local_path="/opt/ml/processing/input", s3_data_type="S3Prefix", s3_input_mode="File"))],
            outputs=[
                ProcessingOutput(output_name=name, s3_output=ProcessingS3Output(s3_uri=f"{root}/data/{name}", local_path=f"/opt/ml/processing/output/{name}", s3_upload_mode="EndOfJob"))
                for name in ("train", "validation", "test")
            ],
            arguments=["--input", "/opt/ml/processing/input", "--output", "/opt/ml/processing/output"],
        ),
    )
    splits = prepare.properties.ProcessingOutputConfig.Outputs

    # ---- Baseline: a scikit-learn script in script mode ------------------------------------
    baseline_trainer = ModelTrainer(
        training_image=image_uris.retrieve("sklearn", region=region, version=SKLEARN_VERSION),
        source_code=SourceCode(source_dir=str(STEPS / "train"), entry_script="baseline.py"),
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        hyperparameters={"C": 1.0},
        output_data_config=OutputDataConfig(s3_output_path=f"{root}/baseline"),
        role=role,
        sagemaker_session=session,
        base_job_name=f"{prefix}-baseline",
    ).with_metric_definitions([MetricDefinition(name="validation:auc", regex=r"validation:auc=([0-9.]+)")])
    channels = [InputData(channel_name=name, data_source=splits[name].S3Output.S3Uri, content_type="text/csv") for name in ("train", "validation")]
    baseline = TrainingStep(name="Baseline", step_args=baseline_trainer.train(input_data_config=channels))

    # ---- Tune: Random search over the built-in XGBoost algorithm ----------------------------
    xgboost_image = image_uris.retrieve("xgboost", region=region, version=XGBOOST_VERSION)
    trainer = ModelTrainer(
        training_image=xgboost_image,
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        hyperparameters={"objective": "binary:logistic", "eval_metric": "auc", "num_round": "60"},
        output_data_config=OutputDataConfig(s3_output_path=f"{root}/models"),
        role=role,
        sagemaker_session=session,
        base_job_name=f"{prefix}-tune",
    )
    tuner = HyperparameterTuner(
        model_trainer=trainer, objective_metric_name="validation:auc", strategy="Random", objective_type="Maximize",
        hyperparameter_ranges={"max_depth": IntegerParameter(2, 5), "eta": ContinuousParameter(0.05, 0.4, scaling_type="Logarithmic")},
        max_jobs=max_jobs, max_parallel_jobs=2,
    )  # fmt: skip
    tune = TuningStep(name="Tune", step_args=tuner.tune(inputs=channels))
    best = tune.properties.BestTrainingJob

    # ---- the best model, and the test split scored by batch transform ----------------------
    model = ModelStep(
        name="CreateModel",
        step_args=ModelBuilder(
            image_uri=xgboost_image, s3_model_data_url=tune.get_top_model_s3_uri(top_k=0, s3_bucket=default_bucket, prefix=f"{prefix}/models"),
            role_arn=role, sagemaker_session=session, dependencies=None,
        ).build(),
    )  # fmt: skip
    transformer = Transformer(
        model_name=model.properties.ModelName, instance_count=1, instance_type=instance_type, strategy="MultiRecord", assemble_with="Line",
        accept="text/csv", output_path=f"{root}/scores", sagemaker_session=session,
    )  # fmt: skip
    score = TransformStep(
        name="ScoreTest",
        step_args=transformer.transform(
            data=splits["test"].S3Output.S3Uri, content_type="text/csv", split_type="Line", input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]"
        ),
    )

    # ---- a Lambda summarises, a human reviews ----------------------------------------------
    summarize = LambdaStep(
        name="Summarize",
        lambda_func=Lambda(function_arn=summarize_function if summarize_function.startswith("arn:") else f"arn:aws:lambda:{region}:000000000000:function:{summarize_function}"),
        inputs={"best_job": best.TrainingJobName, "validation_auc": best.FinalHyperParameterTuningJobObjectiveMetric.Value,
                "baseline_auc": baseline.properties.FinalMetricDataList["validation:auc"].Value,
                "predictions": score.properties.TransformOutput.S3OutputPath, "minimum_auc": minimum_auc},  # fmt: skip
        outputs=[LambdaOutput(output_name="summary", output_type=LambdaOutputTypeEnum.String), LambdaOutput(output_name="auc_ok", output_type=LambdaOutputTypeEnum.Boolean)],
    )
    review = CallbackStep(
        name="Review",
        sqs_queue_url=review_queue,
        inputs={"summary": summarize.properties.Outputs["summary"], "auc_ok": summarize.properties.Outputs["auc_ok"]},
        outputs=[CallbackOutput(output_name="approved", output_type=CallbackOutputTypeEnum.Boolean), CallbackOutput(output_name="reviewer", output_type=CallbackOutputTypeEnum.String)],
    )
    decide = ConditionStep(
        name="Approved",
        conditions=[ConditionEquals(left=review.properties.Outputs["approved"], right=True)],
        if_steps=[],
        else_steps=[FailStep(name="NotApproved", error_message="the reviewer did not approve the model")],
    )
    return Pipeline(
        name=pipeline_name,
        parameters=[minimum_auc, instance_type],
        steps=[prepare, baseline, tune, model, score, summarize, review, decide],
        sagemaker_session=session,
    )
