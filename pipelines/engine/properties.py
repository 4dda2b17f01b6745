"""Which property paths a step type has: botocore's shapes, as the SDK's ``Properties`` read them.

The SDK builds a step's ``properties`` from the response shape of the API that describes the
job (``DescribeProcessingJobResponse`` for a ProcessingStep, ...; ``STEP_SHAPES`` lists them,
and a test checks the list against the SDK's own step classes). ``check`` walks a path such
as ``ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri`` through those shapes: a member of
a structure by name, an element of a list by index or by name, a value of a map by key, and
nothing below a string or a number. So a reference that SageMaker would refuse is refused here,
before any step runs, naming what the shape has instead.

Steps whose properties no API response describes (Condition, the checks, Lambda, Callback)
list their property names instead; ``OutputParameters`` takes one key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

STEP_SHAPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Processing": ("sagemaker", ("DescribeProcessingJobResponse",)),
    "Training": ("sagemaker", ("DescribeTrainingJobResponse",)),
    "Transform": ("sagemaker", ("DescribeTransformJobResponse",)),
    "Tuning": ("sagemaker", ("DescribeHyperParameterTuningJobResponse", "ListTrainingJobsForHyperParameterTuningJobResponse")),
    "RegisterModel": ("sagemaker", ("DescribeModelPackageOutput",)),
    "Model": ("sagemaker", ("DescribeModelOutput",)),
    "CreateModel": ("sagemaker", ("DescribeModelOutput",)),
    "EndpointConfig": ("sagemaker", ("DescribeEndpointConfigOutput",)),
    "Endpoint": ("sagemaker", ("DescribeEndpointOutput",)),
    "AutoML": ("sagemaker", ("DescribeAutoMLJobResponse",)),
    "EMR": ("emr", ("Step",)),
}
KEYED = "keyed"  # a property that takes one ['key'] (OutputParameters['name'])
NAMED_PROPERTIES: dict[str, dict[str, str | None]] = {
    "Condition": {"Outcome": None},
    "Fail": {},
    "QualityCheck": {name: None for name in ("CalculatedBaselineStatistics", "CalculatedBaselineConstraints", "BaselineUsedForDriftCheckStatistics", "BaselineUsedForDriftCheckConstraints")},
    "ClarifyCheck": {name: None for name in ("CalculatedBaselineConstraints", "BaselineUsedForDriftCheckConstraints")},
    "Lambda": {"OutputParameters": KEYED},
    "Callback": {"OutputParameters": KEYED},
    "Notebook": {},
    # Types the SDK writes whose properties the local engine never needs (it does not run them):
    # known, so that validation names them as SageMaker's and refuses them, not as unknown.
    "EMRServerless": {}, "InferenceComponent": {}, "Lineage": {}, "Job": {}, "Cleanup": {}, "ForEach": {},
}


@lru_cache(maxsize=None)
def _shapes(service: str) -> dict[str, Any]:
    import botocore.loaders

    return botocore.loaders.Loader().load_service_model(service, "service-2")["shapes"]


def known_types() -> set[str]:
    return set(STEP_SHAPES) | set(NAMED_PROPERTIES)


def check(step_type: str, tokens: list[str | int]) -> str | None:
    """None when ``tokens`` is a property path ``step_type`` has on SageMaker; else why not."""
    if not tokens:
        return "an empty property path"
    if step_type in NAMED_PROPERTIES:
        named = NAMED_PROPERTIES[step_type]
        first = tokens[0]
        if first not in named:
            return f"{step_type} steps have no property {first!r}; they have {', '.join(sorted(named)) or 'none'}"
        allowed = 1 if named[first] == KEYED else 0
        if len(tokens) - 1 > allowed:
            return f"{first} of a {step_type} step takes {'one [key]' if allowed else 'nothing after it'}"
        return None
    if step_type not in STEP_SHAPES:
        return None  # a type with no known properties is refused by validation itself
    service, names = STEP_SHAPES[step_type]
    shapes = _shapes(service)
    first = tokens[0]
    for name in names:
        members = shapes[name].get("members", {})
        if first in members:
            return _walk(shapes, members[first]["shape"], tokens[1:], str(first))
    return f"{step_type} steps have no property {first!r} ({' / '.join(names)} has no such member)"


def _walk(shapes: dict[str, Any], shape_name: str, rest: list[str | int], walked: str) -> str | None:
    shape = shapes[shape_name]
    if not rest:
        return None
    token, kind = rest[0], shape.get("type")
    if kind == "structure":
        members = shape.get("members", {})
        if not isinstance(token, str) or token not in members:
            return f"{walked} has no {token!r}; it has {', '.join(sorted(members))}"
        return _walk(shapes, members[token]["shape"], rest[1:], f"{walked}.{token}")
    if kind == "list":
        return _walk(shapes, shape["member"]["shape"], rest[1:], f"{walked}[{token!r}]")
    if kind == "map":
        if not isinstance(token, str):
            return f"{walked} is a map: it takes ['key'], not [{token}]"
        return _walk(shapes, shape["value"]["shape"], rest[1:], f"{walked}[{token!r}]")
    return f"{walked} is a {kind}: nothing comes after it (not {token!r})"
