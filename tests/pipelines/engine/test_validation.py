"""Validation names every problem and where it is, before anything runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.engine.runtimes import Runtimes
from pipelines.engine.validation import ValidationError, validate
from tests.helpers.engine_defs import definition, out_uri, processing

RUNTIMES = Runtimes(mapped={})


def problems(doc: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        validate(doc, RUNTIMES, **kwargs)
    return [str(p) for p in exc.value.problems]


def test_a_valid_definition_passes(tmp_path: Path) -> None:
    nodes = validate(definition([processing("A", tmp_path / "w.py", [])]), RUNTIMES)
    assert [n.name for n in nodes] == ["A"]


def test_unknown_and_unsupported_types(tmp_path: Path) -> None:
    doc = definition([processing("A", tmp_path / "w.py", []), {"Name": "B", "Type": "Teleport", "Arguments": {}}, {"Name": "C", "Type": "AutoML", "Arguments": {}}])
    found = problems(doc)
    assert "/Steps/1/Type: step B: unknown step type 'Teleport'" in found
    assert "/Steps/2/Type: step C: type AutoML does not run on the local engine; run the pipeline on SageMaker, or name C among the steps to skip" in found
    # Named among the steps to skip, the SageMaker type passes (it is left out, and said so); the unknown one never does.
    assert problems(doc, skip=frozenset({"C"})) == ["/Steps/1/Type: step B: unknown step type 'Teleport'"]
    assert "/Steps: asked to skip step 'Nope', which the definition does not have" in problems(doc, skip=frozenset({"C", "Nope"}))


def test_duplicate_names(tmp_path: Path) -> None:
    doc = definition([processing("A", tmp_path / "w.py", []), processing("A", tmp_path / "w.py", [])])
    assert "/Steps/1/Name: duplicate step name 'A' (also at /Steps/0)" in problems(doc)


def test_undefined_parameter_execution_variable_and_step(tmp_path: Path) -> None:
    doc = definition(
        [
            processing(
                "A",
                tmp_path / "w.py",
                [{"Get": "Parameters.Nope"}, {"Get": "Execution.Tomorrow"}],
                inputs=[("src", out_uri("Ghost"))],
            )
        ]
    )
    found = problems(doc)
    assert "/Steps/0/Arguments/AppSpecification/ContainerArguments/0: step A: parameter 'Nope' is not defined" in found
    assert any(p.startswith("/Steps/0/Arguments/AppSpecification/ContainerArguments/1: step A: unknown execution variable 'Tomorrow'") for p in found)
    assert "/Steps/0/Arguments/ProcessingInputs/0/S3Input/S3Uri: step A: refers to step 'Ghost', which is not defined" in found


def test_unknown_property_and_output(tmp_path: Path) -> None:
    doc = definition(
        [
            processing("A", tmp_path / "w.py", []),
            processing("B", tmp_path / "w.py", [{"Get": "Steps.A.ModelArtifacts.S3ModelArtifacts"}], inputs=[("src", {"Get": "Steps.A.ProcessingOutputConfig.Outputs['nope'].S3Output.S3Uri"})]),
        ]
    )
    found = problems(doc)
    assert any(p.startswith("/Steps/1/Arguments/AppSpecification/ContainerArguments/0: step B: A.ModelArtifacts.S3ModelArtifacts: Processing steps have no property 'ModelArtifacts'") for p in found)
    assert "/Steps/1/Arguments/ProcessingInputs/0/S3Input/S3Uri: step B: A.ProcessingOutputConfig.Outputs['nope'].S3Output.S3Uri: step A has no output 'nope'; it has out" in found


def test_property_file_must_be_declared(tmp_path: Path) -> None:
    doc = definition(
        [
            processing("A", tmp_path / "w.py", []),
            {"Name": "F", "Type": "Fail", "Arguments": {"ErrorMessage": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.A.PropertyFiles.Missing"}, "Path": "x"}}}},
        ]
    )
    assert "/Steps/1/Arguments/ErrorMessage/Std:JsonGet/PropertyFile: step A declares no property file 'Missing'" in problems(doc)


def test_depends_on_unknown_step_and_cycles(tmp_path: Path) -> None:
    a = processing("A", tmp_path / "w.py", [], inputs=[("src", out_uri("B"))])
    b = processing("B", tmp_path / "w.py", [], inputs=[("src", out_uri("A"))], depends_on=["Z"])
    found = problems(definition([a, b]))
    assert "/Steps/1/DependsOn/0: step B depends on 'Z', which is not a step" in found
    assert any("steps form a cycle: " in p and "A" in p and "B" in p for p in found)


def test_unmapped_image_says_how_to_map_it(tmp_path: Path) -> None:
    step = processing("A", tmp_path / "w.py", [])
    step["Arguments"]["AppSpecification"]["ImageUri"] = "123.dkr.ecr.us-east-1.amazonaws.com/my-image:1"
    (found,) = problems(definition([step]))
    assert found.startswith("/Steps/0/Arguments/AppSpecification/ImageUri: image 123.dkr.ecr.us-east-1.amazonaws.com/my-image:1 has no local runtime for 'python3': map it in $MLOPS_HOME/images.json")
    mapped = Runtimes(mapped={"123.dkr.ecr.us-east-1.amazonaws.com/my-image:1": {"python3": "/usr/bin/python3"}})
    assert validate(definition([step]), mapped)


def test_unsupported_hyperparameter_is_named(tmp_path: Path) -> None:
    training = {
        "Name": "T",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "TrainingInputMode": "File"},
            "HyperParameters": {"num_round": "10", "learning_rate": "0.1"},
            "InputDataConfig": [],
            "OutputDataConfig": {"S3OutputPath": "s3://b/m"},
        },
    }
    (found,) = problems(definition([training]))
    assert found.startswith("/Steps/0/Arguments/HyperParameters: unsupported hyperparameter(s) learning_rate for the built-in XGBoost algorithm 1.7; supported: ")


def test_bad_parameter_declarations() -> None:
    doc = {
        "Parameters": [
            {"Name": "X", "Type": "Integer", "DefaultValue": "3"}, {"Name": "Y", "Type": "Decimal"},
            {"Name": "Z", "Type": "Float", "DefaultValue": float("nan")}, {"Name": "W", "Type": "Integer", "DefaultValue": 2**64},
        ],
        "Steps": [{"Name": "F", "Type": "Fail", "Arguments": {}}],
    }  # fmt: skip
    found = problems(doc)
    assert '/Parameters/0/DefaultValue: parameter X: the default is a Integer parameter, got "3"' in found
    assert "/Parameters/2/DefaultValue: parameter Z: the default is a Float parameter (a finite number), got nan" in found
    assert any(p.startswith("/Parameters/3/DefaultValue: parameter W: the default is an Integer parameter (a signed 64-bit number") for p in found)
    assert "/Parameters/1/Type: parameter Y: unknown type 'Decimal'; known: String, Integer, Float, Boolean" in found


def test_unknown_condition_type() -> None:
    doc = definition([{"Name": "C", "Type": "Condition", "Arguments": {"Conditions": [{"Type": "Maybe"}], "IfSteps": [], "ElseSteps": []}}])
    assert problems(doc) == ["/Steps/0/Arguments/Conditions/0/Type: unknown condition type 'Maybe'; known: Equals, GreaterThan, GreaterThanOrEqualTo, LessThan, LessThanOrEqualTo, In, Not, Or"]


def test_the_real_definition_is_valid() -> None:
    golden = Path(__file__).resolve().parents[2] / "golden" / "credit_default_definition.json"
    assert len(validate(json.loads(golden.read_text()), RUNTIMES)) == 16


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ([1, 2], "a definition is a JSON object, not a list"),
        ("hello", "a definition is a JSON object, not a string"),
        ({"Steps": [1]}, "/Steps/0: a step is a JSON object, not a number"),
        ({"Steps": [{"Name": "A", "Type": "Fail", "Arguments": 5}]}, "/Steps/0/Arguments: Arguments is a JSON object, not a number"),
        ({"Steps": [{"Name": 3, "Type": "Fail"}]}, "/Steps/0/Name: every step needs a Name (a string), not a number"),
        ({"Steps": [{"Name": "A", "Type": "Fail", "DependsOn": "B"}]}, "/Steps/0/DependsOn: DependsOn is a list of step names"),
        ({"Steps": [{"Name": "A", "Type": "Fail"}], "Parameters": {"x": 1}}, "/Parameters: a list of parameters, not an object"),
        ({"Steps": [{"Name": "C", "Type": "Condition", "Arguments": {"Conditions": [], "IfSteps": [7]}}]}, "/Steps/0/Arguments/IfSteps/0: a step is a JSON object, not a number"),
    ],
)
def test_malformed_definitions_are_refused_up_front_with_a_pointer(doc: Any, expected: str) -> None:
    assert expected in problems(doc)


def test_a_step_that_depends_on_itself_is_refused(tmp_path: Path) -> None:
    step = processing("A", tmp_path / "w.py", [], depends_on=["A"])
    assert problems(definition([step])) == ["/Steps/0/DependsOn/0: step A depends on itself"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("ProcessingOutputConfig.Outputs['out'].S3Output.NoSuchThing", "ProcessingOutputConfig.Outputs['out'].S3Output has no 'NoSuchThing'; it has LocalPath, S3UploadMode, S3Uri"),
        ("ProcessingJobStatus.Deeper", "ProcessingJobStatus is a string: nothing comes after it (not 'Deeper')"),
        ("NoSuchProperty", "Processing steps have no property 'NoSuchProperty'"),
        ("ProcessingEndTime", "ProcessingEndTime is a property of Processing steps, but the local engine does not produce it"),
        ("ProcessingOutputConfig.Outputs['nope'].S3Output.S3Uri", "step A has no output 'nope'; it has out"),
    ],
)
def test_property_references_are_checked_against_botocores_shapes(tmp_path: Path, path: str, expected: str) -> None:
    reader = processing("B", tmp_path / "w.py", [{"Get": f"Steps.A.{path}"}])
    found = problems(definition([processing("A", tmp_path / "w.py", []), reader]))
    assert len(found) == 1 and found[0].startswith("/Steps/1/Arguments/AppSpecification/ContainerArguments/0: step B: A.") and expected in found[0], found


def test_training_properties_follow_describe_training_job(tmp_path: Path) -> None:
    from pipelines.engine import properties

    assert properties.check("Training", ["ModelArtifacts", "S3ModelArtifacts"]) is None
    assert properties.check("Training", ["FinalMetricDataList", "validation:auc", "Value"]) is None
    assert properties.check("Training", ["ModelArtifacts", "NoSuchProperty"]) == "ModelArtifacts has no 'NoSuchProperty'; it has S3ModelArtifacts"
    assert properties.check("Tuning", ["BestTrainingJob", "TrainingJobName"]) is None
    assert properties.check("Tuning", ["TrainingJobSummaries", 0, "TrainingJobName"]) is None
    assert properties.check("Lambda", ["OutputParameters", "answer"]) is None
    assert properties.check("Condition", ["Outcome", "x"]) == "Outcome of a Condition step takes nothing after it"


def test_the_shapes_are_the_sdks_own() -> None:
    """The table of step type -> response shape agrees with the SDK's own step classes."""
    import inspect
    import re

    from sagemaker.mlops.workflow import endpoint_step, model_step, steps

    from pipelines.engine import properties

    source = inspect.getsource(steps) + inspect.getsource(model_step) + inspect.getsource(endpoint_step)
    for step_type, shape in [("Processing", "DescribeProcessingJobResponse"), ("Training", "DescribeTrainingJobResponse"), ("Transform", "DescribeTransformJobResponse"),
                             ("RegisterModel", "DescribeModelPackageOutput"), ("Model", "DescribeModelOutput"), ("EndpointConfig", "DescribeEndpointConfigOutput"), ("Endpoint", "DescribeEndpointOutput")]:  # fmt: skip
        assert re.search(rf'shape_name="{shape}"', source), shape
        assert properties.STEP_SHAPES[step_type][1] == (shape,)
    assert properties.STEP_SHAPES["Tuning"][1] == ("DescribeHyperParameterTuningJobResponse", "ListTrainingJobsForHyperParameterTuningJobResponse")
    assert '"DescribeHyperParameterTuningJobResponse",\n                "ListTrainingJobsForHyperParameterTuningJobResponse"' in source


def test_every_property_the_pipeline_reads_is_one_the_sdk_offers() -> None:
    """Each Get in the rendered definition resolves through the same shapes as the SDK's Properties."""
    from pipelines.core.graph import references
    from pipelines.core.graph import steps as graph_steps
    from pipelines.engine import properties
    from pipelines.engine.expressions import parse_path

    golden = json.loads((Path(__file__).resolve().parents[2] / "golden" / "credit_default_definition.json").read_text())
    types = {node.name: node.type for node in graph_steps(golden)}
    gets = [r.target for r in references(golden, "") if r.target.startswith("Steps.") and ".PropertyFiles." not in r.target]
    assert gets
    for target in gets:
        _, step, path = target.split(".", 2)
        assert properties.check(types[step], parse_path(path)) is None, target


@pytest.mark.parametrize("name", ["my_pipeline!v2", "under_score", "-leading", "x" * 257])
def test_pipeline_names_follow_sagemakers_pattern(tmp_path: Path, name: str) -> None:
    from pipelines.core.errors import UsageError
    from pipelines.engine.orchestrator import Engine
    from pipelines.local.home import Home

    with pytest.raises(UsageError, match=r"pipeline name: .* is not a valid PipelineName"):
        Engine(Home.resolve(tmp_path / "home")).run(definition([processing("A", tmp_path / "w.py", [])]), name, {})


def test_every_step_type_the_sdk_writes_is_known_run_or_refused_by_name(tmp_path: Path) -> None:
    """No SDK step type is "unknown": it runs locally, or validation names it as SageMaker's."""
    from sagemaker.mlops.workflow.steps import StepTypeEnum

    from pipelines.engine import properties
    from pipelines.engine.handlers import HANDLERS

    assert {kind.value for kind in StepTypeEnum} <= properties.known_types()
    runs = {kind.value for kind in StepTypeEnum} & set(HANDLERS)
    assert runs == {"Condition", "Model", "Processing", "RegisterModel", "Training", "Transform", "Callback", "Tuning", "Lambda", "QualityCheck", "Fail", "EndpointConfig", "Endpoint"}
    doc = definition([{"Name": "Tidy", "Type": "Cleanup", "Arguments": {}}])
    assert problems(doc) == ["/Steps/0/Type: step Tidy: type Cleanup does not run on the local engine; run the pipeline on SageMaker, or name Tidy among the steps to skip"]

