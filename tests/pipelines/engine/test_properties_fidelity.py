"""Each handler's properties against what the SDK lets a later step reference (botocore's
Describe* shapes for job steps; the SDK's named properties for the others)."""

from __future__ import annotations

import pytest

from pipelines.engine import properties
from pipelines.engine.handlers import HANDLERS


@pytest.mark.parametrize("step_type", sorted(HANDLERS))
def test_every_property_a_handler_produces_is_one_sagemaker_has(step_type: str) -> None:
    produced = HANDLERS[step_type].properties
    invented = {name: properties.check(step_type, [name]) for name in produced if properties.check(step_type, [name]) is not None}
    # A keyed property (OutputParameters['name']) is checked with its key; anything else must be a member of the shape.
    invented = {name: why for name, why in invented.items() if properties.check(step_type, [name, "x"]) is not None}
    assert invented == {}, invented


def test_the_properties_later_steps_read_in_the_sdks_own_examples_are_produced() -> None:
    """The paths the SDK's step classes document as the usual references."""
    usual = {
        "Training": [["ModelArtifacts", "S3ModelArtifacts"], ["FinalMetricDataList", "validation:auc", "Value"]],
        "Processing": [["ProcessingOutputConfig", "Outputs", "train", "S3Output", "S3Uri"]],
        "Transform": [["TransformOutput", "S3OutputPath"]],
        "Tuning": [["BestTrainingJob", "TrainingJobName"], ["TrainingJobSummaries", 0, "TrainingJobName"]],
        "Model": [["ModelName"]],
        "RegisterModel": [["ModelPackageArn"]],
        "Lambda": [["OutputParameters", "answer"]],
        "Callback": [["OutputParameters", "approved"]],
    }
    for step_type, paths in usual.items():
        for path in paths:
            assert properties.check(step_type, path) is None, (step_type, path)
            assert path[0] in HANDLERS[step_type].properties, (step_type, path)
