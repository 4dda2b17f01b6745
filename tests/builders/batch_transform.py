"""Batch transform as the SDK's documentation writes it: a model made from a model.tar.gz, then
a TransformStep with SplitType Line, an input filter that drops the label, the input joined
back, and an output filter that keeps the label and the prediction."""

from __future__ import annotations

from typing import Any

from pipelines.build import sdk


def get_pipeline(region: str = "us-east-1", input_filter: str = "$[1:]", output_filter: str = "$[0,-1]", strategy: str = "MultiRecord", **_: Any) -> Any:
    sdk.prepare(region)
    from sagemaker.core import image_uris
    from sagemaker.core.transformer import Transformer
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import TransformStep
    from sagemaker.serve.model_builder import ModelBuilder

    session = sdk.pipeline_session(region, "bucket")
    model_data = ParameterString(name="ModelDataUrl", default_value="s3://bucket/models/model.tar.gz")
    batch = ParameterString(name="BatchInput", default_value="s3://bucket/batch/input")
    role = "arn:aws:iam::000000000000:role/SageMakerExecutionRole"
    builder = ModelBuilder(image_uri=image_uris.retrieve("xgboost", region=region, version="1.7-1"), s3_model_data_url=model_data, role_arn=role, sagemaker_session=session, dependencies=None)
    model = ModelStep(name="CreateModel", step_args=builder.build())
    transformer = Transformer(
        model_name=model.properties.ModelName, instance_count=1, instance_type="ml.m5.large", strategy=strategy, assemble_with="Line",
        accept="text/csv", output_path="s3://bucket/batch/output", sagemaker_session=session,
    )  # fmt: skip
    transform = TransformStep(
        name="ScoreBatch",
        step_args=transformer.transform(data=batch, content_type="text/csv", split_type="Line", input_filter=input_filter, join_source="Input", output_filter=output_filter),
    )
    return Pipeline(name="BatchTransform", parameters=[model_data, batch], steps=[model, transform], sagemaker_session=session)
