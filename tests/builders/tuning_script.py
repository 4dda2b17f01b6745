"""Tuning a script: a HyperparameterTuner over a ModelTrainer with a SourceCode (the SDK packs
the code as sourcedir.tar.gz and runs it through the framework container's hyperparameters)."""

from __future__ import annotations

from typing import Any

from pipelines.build import sdk
from tests.builders.script_training import SOURCE


def get_pipeline(region: str = "us-east-1", **_: Any) -> Any:
    sdk.prepare(region)
    from sagemaker.core import image_uris
    from sagemaker.core.parameter import ContinuousParameter
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.mlops.workflow import Pipeline, TuningStep
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, MetricDefinition, OutputDataConfig, SourceCode
    from sagemaker.train.tuner import HyperparameterTuner

    session = sdk.pipeline_session(region, "bucket")
    train = ParameterString(name="TrainData", default_value="s3://bucket/data/train")
    trainer = ModelTrainer(
        training_image=image_uris.retrieve("sklearn", region=region, version="1.2-1"),
        source_code=SourceCode(source_dir=str(SOURCE), entry_script="train.py"),
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        hyperparameters={"max_iter": 200},
        output_data_config=OutputDataConfig(s3_output_path="s3://bucket/tuned-script"),
        role="arn:aws:iam::000000000000:role/SageMakerExecutionRole",
        sagemaker_session=session,
        base_job_name="tuned-script",
    ).with_metric_definitions([MetricDefinition(name="train:auc", regex=r"train auc: ([0-9.]+)")])
    tuner = HyperparameterTuner(
        model_trainer=trainer, objective_metric_name="train:auc", strategy="Random", objective_type="Maximize",
        hyperparameter_ranges={"C": ContinuousParameter(0.01, 10.0, scaling_type="Logarithmic")}, max_jobs=3, max_parallel_jobs=2,
        metric_definitions=[{"Name": "train:auc", "Regex": r"train auc: ([0-9.]+)"}],
    )  # fmt: skip
    tune = TuningStep(name="Tune", step_args=tuner.tune(inputs=[InputData(channel_name="train", data_source=train)]))
    return Pipeline(name="TunedScript", parameters=[train], steps=[tune], sagemaker_session=session)
