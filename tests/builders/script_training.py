"""Script-mode training as the SDK v3 documentation writes it: a ModelTrainer with a SourceCode
(source_dir and entry script) on the scikit-learn image, hyperparameters from pipeline
parameters, and a metric definition over its log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.build import sdk

SOURCE = Path(__file__).resolve().parent / "scripts" / "sklearn_train"


IMAGES = {  # framework: (image, version); pytorch needs images.json locally (its interpreter must have torch)
    "sklearn": ("sklearn", "1.2-1"),
    "xgboost": ("xgboost", "1.7-1"),
    "pytorch": ("pytorch", "2.1"),
}


def get_pipeline(region: str = "us-east-1", requirements: str | None = None, framework: str = "sklearn", **_: Any) -> Any:
    sdk.prepare(region)
    from sagemaker.core import image_uris
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.mlops.workflow import Pipeline, TrainingStep
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, MetricDefinition, SourceCode

    session = sdk.pipeline_session(region, "bucket")
    train = ParameterString(name="TrainData", default_value="s3://bucket/data/train")
    c = ParameterFloat(name="C", default_value=0.5)
    min_auc = ParameterFloat(name="MinAuc", default_value=0.5)
    trainer = ModelTrainer(
        training_image=image_uris.retrieve(IMAGES[framework][0], region=region, version=IMAGES[framework][1], **({"py_version": "py310", "image_scope": "training", "instance_type": "ml.m5.large"} if framework == "pytorch" else {})),
        source_code=SourceCode(source_dir=str(SOURCE), entry_script="train.py", requirements=requirements),
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        hyperparameters={"C": c, "max_iter": 200, "min_auc": min_auc},
        role="arn:aws:iam::000000000000:role/SageMakerExecutionRole",
        sagemaker_session=session,
        base_job_name="sklearn-script",
    ).with_metric_definitions([MetricDefinition(name="train:auc", regex=r"train auc: ([0-9.]+)")])
    step = TrainingStep(name="Fit", step_args=trainer.train(input_data_config=[InputData(channel_name="train", data_source=train)]))
    return Pipeline(name="ScriptTraining", parameters=[train, c, min_auc], steps=[step], sagemaker_session=session)
