"""A pipeline that waits for a human: a Callback step (a reviewer's decision) whose outputs
decide what comes next, written as the SDK's documentation writes it."""

from __future__ import annotations

from typing import Any

from pipelines.build import sdk

QUEUE = "https://sqs.us-east-1.amazonaws.com/000000000000/model-review"


def get_pipeline(region: str = "us-east-1", **_: Any) -> Any:
    sdk.prepare(region)
    from sagemaker.core.workflow.conditions import ConditionEquals
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.mlops.workflow.callback_step import CallbackOutput, CallbackOutputTypeEnum, CallbackStep
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.pipeline import Pipeline

    model = ParameterString(name="ModelPackage", default_value="CreditDefaultPackageGroup/7")
    review = CallbackStep(
        name="HumanReview",
        sqs_queue_url=QUEUE,
        inputs={"model_package": model, "ask": "approve for production?"},
        outputs=[
            CallbackOutput(output_name="approved", output_type=CallbackOutputTypeEnum.Boolean),
            CallbackOutput(output_name="reviewer", output_type=CallbackOutputTypeEnum.String),
            CallbackOutput(output_name="confidence", output_type=CallbackOutputTypeEnum.Float),
        ],
    )
    decide = ConditionStep(
        name="Approved",
        conditions=[ConditionEquals(left=review.properties.Outputs["approved"], right=True)],
        if_steps=[],
        else_steps=[FailStep(name="Rejected", error_message="the reviewer did not approve")],
    )
    return Pipeline(name="Review", parameters=[model], steps=[review, decide], sagemaker_session=sdk.pipeline_session(region, "bucket"))
