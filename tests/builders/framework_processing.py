"""A FrameworkProcessor with a source_dir (an entry script, a helper module, requirements.txt),
as the SDK's documentation writes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.build import sdk

SOURCE = Path(__file__).resolve().parent / "scripts" / "framework_src"


def get_pipeline(region: str = "us-east-1", source_dir: str = str(SOURCE), **_: Any) -> Any:
    sdk.prepare(region)
    from sagemaker.core import image_uris
    from sagemaker.core.processing import FrameworkProcessor
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
    from sagemaker.core.workflow.parameters import ParameterInteger
    from sagemaker.mlops.workflow import Pipeline, ProcessingStep

    session = sdk.pipeline_session(region, "bucket")
    rows = ParameterInteger(name="Rows", default_value=4)
    processor = FrameworkProcessor(
        image_uri=image_uris.retrieve("sklearn", region=region, version="1.2-1"), command=["python3"], role="arn:aws:iam::000000000000:role/R",
        instance_type="ml.m5.large", instance_count=1, sagemaker_session=session,
    )  # fmt: skip
    arguments = processor.run(
        code="prepare.py", source_dir=source_dir,
        outputs=[ProcessingOutput(output_name="squares", s3_output=ProcessingS3Output(s3_uri="s3://bucket/framework/out", local_path="/opt/ml/processing/output", s3_upload_mode="EndOfJob"))],
        arguments=["--out", "/opt/ml/processing/output", "--rows", rows.to_string()],
    )  # fmt: skip
    return Pipeline(name="FrameworkProcessing", parameters=[rows], steps=[ProcessingStep(name="Prepare", step_args=arguments)], sagemaker_session=session)
