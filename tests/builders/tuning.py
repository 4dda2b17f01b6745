"""Hyperparameter tuning as the SDK v3 documentation writes it: a HyperparameterTuner over the
built-in XGBoost algorithm's ModelTrainer, a TuningStep, and the best model's S3 URI for a
later step (get_top_model_s3_uri)."""

from __future__ import annotations

from typing import Any

from pipelines.build import sdk


def get_pipeline(region: str = "us-east-1", strategy: str = "Random", max_jobs: int = 4, **_: Any) -> Any:
    sdk.prepare(region)
    from sagemaker.core import image_uris
    from sagemaker.core.parameter import CategoricalParameter, ContinuousParameter, IntegerParameter
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.mlops.workflow import Pipeline, TuningStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, OutputDataConfig
    from sagemaker.train.tuner import HyperparameterTuner

    session = sdk.pipeline_session(region, "bucket")
    train = ParameterString(name="TrainData", default_value="s3://bucket/data/train")
    validation = ParameterString(name="ValidationData", default_value="s3://bucket/data/validation")
    trainer = ModelTrainer(
        training_image=image_uris.retrieve("xgboost", region=region, version="1.7-1"),
        role="arn:aws:iam::000000000000:role/SageMakerExecutionRole",
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        hyperparameters={"objective": "binary:logistic", "eval_metric": "auc", "num_round": "30"},
        output_data_config=OutputDataConfig(s3_output_path="s3://bucket/tuning/models"),
        sagemaker_session=session,
        base_job_name="tune",
    )
    if strategy == "Grid":
        ranges = {"max_depth": CategoricalParameter([2, 4]), "eta": CategoricalParameter([0.1, 0.3])}
    else:
        ranges = {"max_depth": IntegerParameter(2, 6), "eta": ContinuousParameter(0.05, 0.5, scaling_type="Logarithmic"), "min_child_weight": CategoricalParameter([1, 5])}
    tuner = HyperparameterTuner(
        model_trainer=trainer, objective_metric_name="validation:auc", hyperparameter_ranges=ranges, strategy=strategy,
        objective_type="Maximize", max_jobs=max_jobs, max_parallel_jobs=2,
    )  # fmt: skip
    tune = TuningStep(
        name="Tune",
        step_args=tuner.tune(inputs=[InputData(channel_name="train", data_source=train, content_type="text/csv"),
                                     InputData(channel_name="validation", data_source=validation, content_type="text/csv")]),
    )  # fmt: skip
    best = FailStep(name="ShowBest", error_message=tune.get_top_model_s3_uri(top_k=0, s3_bucket="bucket", prefix="tuning/models"))
    return Pipeline(name="Tuning", parameters=[train, validation], steps=[tune, best], sagemaker_session=session)
