"""Every condition type the SDK has, each deciding a ConditionStep of its own."""

from __future__ import annotations

from typing import Any

from pipelines.build import sdk

NAMES = ("Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo", "In", "Not", "NotIn", "Or")


def get_pipeline(region: str = "us-east-1", **_: Any) -> Any:
    sdk.prepare(region)
    from sagemaker.core.workflow.conditions import (
        ConditionEquals,
        ConditionGreaterThan,
        ConditionGreaterThanOrEqualTo,
        ConditionIn,
        ConditionLessThan,
        ConditionLessThanOrEqualTo,
        ConditionNot,
        ConditionOr,
    )
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.pipeline import Pipeline

    n = ParameterInteger(name="N", default_value=3)
    x = ParameterFloat(name="X", default_value=0.5)
    s = ParameterString(name="S", default_value="a")
    conditions = {
        "Equals": ConditionEquals(left=n, right=3),
        "GreaterThan": ConditionGreaterThan(left=x, right=0.25),
        "GreaterThanOrEqualTo": ConditionGreaterThanOrEqualTo(left=n, right=3),
        "LessThan": ConditionLessThan(left=x, right=0.25),
        "LessThanOrEqualTo": ConditionLessThanOrEqualTo(left=n, right=2),
        "In": ConditionIn(value=s, in_values=["a", "b"]),
        "Not": ConditionNot(expression=ConditionEquals(left=n, right=3)),
        "NotIn": ConditionNot(expression=ConditionIn(value=s, in_values=["x", "y"])),
        "Or": ConditionOr(conditions=[ConditionLessThan(left=n, right=1), ConditionGreaterThan(left=x, right=0.4)]),
    }
    steps = [ConditionStep(name=f"If{name}", conditions=[condition], if_steps=[], else_steps=[]) for name, condition in conditions.items()]
    return Pipeline(name="Conditions", parameters=[n, x, s], steps=steps, sagemaker_session=sdk.pipeline_session(region, "bucket"))
