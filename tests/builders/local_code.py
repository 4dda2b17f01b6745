"""A pipeline written the usual way: a processor whose code= is a local path, which the SDK
uploads while it renders the definition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.build import sdk

SCRIPT = Path(__file__).with_name("scripts") / "hello.py"


def get_pipeline(region: str = "us-east-1", default_bucket: str = "my-bucket", role: str = "arn:aws:iam::000000000000:role/R", **_: Any) -> Any:
    session = sdk.pipeline_session(region, default_bucket)
    from sagemaker.core import image_uris
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep

    processor = ScriptProcessor(
        image_uri=image_uris.retrieve("sklearn", region=region, version="1.2-1"), command=["python3"], role=role,
        instance_type="ml.m5.large", instance_count=1, sagemaker_session=session,
    )  # fmt: skip
    arguments = processor.run(
        code=str(SCRIPT), outputs=[ProcessingOutput(output_name="out", s3_output=ProcessingS3Output(s3_uri="/opt/ml/processing/out", local_path="/opt/ml/processing/out", s3_upload_mode="EndOfJob"))], arguments=["--out", "/opt/ml/processing/out"]
    )
    return Pipeline(name="LocalCode", steps=[ProcessingStep(name="Hello", step_args=arguments)], sagemaker_session=session)
