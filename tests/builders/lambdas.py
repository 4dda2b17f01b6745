"""A pipeline with Lambda steps, written the way the SDK's documentation writes them: a function
that scores an applicant, a condition on its output, and a second function fed by the first."""

from __future__ import annotations

from typing import Any

from pipelines.build import sdk

SCORE = "arn:aws:lambda:us-east-1:000000000000:function:score-applicant"
NOTIFY = "arn:aws:lambda:us-east-1:000000000000:function:notify-team:live"


def get_pipeline(region: str = "us-east-1", **_: Any) -> Any:
    sdk.prepare(region)
    from sagemaker.core.lambda_helper import Lambda
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.mlops.workflow.pipeline import Pipeline

    limit = ParameterInteger(name="LimitBal", default_value=20000)
    education = ParameterString(name="Education", default_value="university")
    bar = ParameterFloat(name="Bar", default_value=0.5)
    score = LambdaStep(
        name="ScoreApplicant",
        lambda_func=Lambda(function_arn=SCORE),
        inputs={"limit_bal": limit, "education": education},
        outputs=[
            LambdaOutput(output_name="score", output_type=LambdaOutputTypeEnum.Float),
            LambdaOutput(output_name="approved", output_type=LambdaOutputTypeEnum.Boolean),
            LambdaOutput(output_name="tier", output_type=LambdaOutputTypeEnum.Integer),
            LambdaOutput(output_name="reason", output_type=LambdaOutputTypeEnum.String),
        ],
    )
    notify = LambdaStep(
        name="NotifyTeam",
        lambda_func=Lambda(function_arn=NOTIFY),
        inputs={"score": score.properties.Outputs["score"], "reason": score.properties.Outputs["reason"]},
        outputs=[LambdaOutput(output_name="message", output_type=LambdaOutputTypeEnum.String)],
    )
    decide = ConditionStep(
        name="GoodEnough",
        conditions=[ConditionGreaterThanOrEqualTo(left=score.properties.Outputs["score"], right=bar)],
        if_steps=[notify],
        else_steps=[FailStep(name="TooRisky", error_message="the applicant scored below the bar")],
    )
    return Pipeline(name="Lambdas", parameters=[limit, education, bar], steps=[score, decide], sagemaker_session=sdk.pipeline_session(region, "bucket"))
