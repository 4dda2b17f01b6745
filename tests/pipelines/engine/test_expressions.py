"""Expressions and conditions, resolved in one place."""

from __future__ import annotations

import json

import pytest

from pipelines.engine.expressions import ExpressionError, Scope, json_path, parse_path

PROPERTIES = {
    "Pre": {"ProcessingOutputConfig": {"Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}}, {"OutputName": "eval", "S3Output": {"S3Uri": "s3://b/eval"}}]}},
    "Train": {"ModelArtifacts": {"S3ModelArtifacts": "s3://b/model.tar.gz"}, "FinalMetricDataList": [{"MetricName": "validation:auc", "Value": 0.79}]},
}
FILES = {"s3://b/eval/evaluation.json": json.dumps({"metrics": {"auc": {"value": 0.81}}, "list": [{"x": 5}]})}


def scope() -> Scope:
    def read(uri: str) -> str:
        if uri not in FILES:
            raise FileNotFoundError(uri)
        return FILES[uri]

    return Scope(
        parameters={"Threshold": 0.75, "Status": "Approved", "Depth": 5},
        execution={"PipelineExecutionId": "abc123", "PipelineName": "P", "PipelineExecutionArn": "arn:x", "StartDateTime": "2026-01-01T00:00:00+00:00"},
        properties=PROPERTIES,
        property_files={"Pre": {"Report": {"PropertyFileName": "Report", "OutputName": "eval", "FilePath": "evaluation.json"}}},
        read_text=read,
    )


def test_get_parameters_execution_and_step_properties() -> None:
    s = scope()
    assert s.resolve({"Get": "Parameters.Threshold"}, "/x") == 0.75
    assert s.resolve({"Get": "Execution.PipelineExecutionId"}, "/x") == "abc123"
    assert s.resolve({"Get": "Execution.CurrentDateTime"}, "/x").startswith("20")
    assert s.resolve({"Get": "Steps.Pre.ProcessingOutputConfig.Outputs['eval'].S3Output.S3Uri"}, "/x") == "s3://b/eval"
    assert s.resolve({"Get": "Steps.Train.FinalMetricDataList['validation:auc'].Value"}, "/x") == 0.79
    assert s.resolve({"Get": "Steps.Pre.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri"}, "/x") == "s3://b/train"


def test_join_renders_values_like_sagemaker() -> None:
    joined = scope().resolve({"Std:Join": {"On": "/", "Values": ["s3:/", "b", {"Get": "Execution.PipelineExecutionId"}, {"Get": "Parameters.Depth"}, True]}}, "/x")
    assert joined == "s3://b/abc123/5/true"


def test_json_get_reads_the_property_file() -> None:
    s = scope()
    assert s.resolve({"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Pre.PropertyFiles.Report"}, "Path": "metrics.auc.value"}}, "/x") == 0.81
    assert s.resolve({"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Pre.PropertyFiles.Report"}, "Path": "list[0].x"}}, "/x") == 5


def test_nested_structures_are_resolved_in_place() -> None:
    value = {"A": [{"Get": "Parameters.Status"}, "lit"], "B": {"C": {"Get": "Parameters.Depth"}}}
    assert scope().resolve(value, "/x") == {"A": ["Approved", "lit"], "B": {"C": 5}}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"Get": "Parameters.Nope"}, "/Steps/0/Arguments/X: parameter 'Nope' is not defined"),
        ({"Get": "Steps.Ghost.ModelArtifacts.S3ModelArtifacts"}, "/Steps/0/Arguments/X: step 'Ghost' has no properties yet"),
        ({"Get": "Steps.Train.ModelArtifacts.Nope"}, "/Steps/0/Arguments/X: step Train has no property 'ModelArtifacts.Nope'"),
        ({"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Pre.PropertyFiles.Report"}, "Path": "metrics.f1.value"}}, "/Steps/0/Arguments/X/Std:JsonGet/Path: 'metrics.f1.value' is not in Report"),
        ({"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Pre.PropertyFiles.Other"}, "Path": "a"}}, "/Steps/0/Arguments/X/Std:JsonGet/PropertyFile: step Pre declares no property file 'Other'"),
    ],
)
def test_errors_name_the_pointer(expression: dict, message: str) -> None:
    with pytest.raises(ExpressionError) as exc:
        scope().resolve(expression, "/Steps/0/Arguments/X")
    assert str(exc.value).startswith(message)


def test_missing_property_file_object() -> None:
    s = scope()
    s.properties = {**PROPERTIES, "Pre": {"ProcessingOutputConfig": {"Outputs": [{"OutputName": "eval", "S3Output": {"S3Uri": "s3://b/elsewhere"}}]}}}
    with pytest.raises(ExpressionError, match="property file Report \\(s3://b/elsewhere/evaluation.json\\) does not exist"):
        s.resolve({"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Pre.PropertyFiles.Report"}, "Path": "a"}}, "/p")


AUC = {"Get": "Steps.Train.FinalMetricDataList['validation:auc'].Value"}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"Type": "Equals", "LeftValue": {"Get": "Parameters.Status"}, "RightValue": "Approved"}, True),
        ({"Type": "Equals", "LeftValue": {"Get": "Parameters.Depth"}, "RightValue": 5.0}, True),
        ({"Type": "GreaterThan", "LeftValue": AUC, "RightValue": 0.79}, False),
        ({"Type": "GreaterThanOrEqualTo", "LeftValue": AUC, "RightValue": {"Get": "Parameters.Threshold"}}, True),
        ({"Type": "LessThan", "LeftValue": AUC, "RightValue": 0.8}, True),
        ({"Type": "LessThanOrEqualTo", "LeftValue": AUC, "RightValue": 0.78}, False),
        ({"Type": "In", "QueryValue": {"Get": "Parameters.Status"}, "Values": ["Approved", "Rejected"]}, True),
        ({"Type": "In", "QueryValue": {"Get": "Parameters.Depth"}, "Values": [1, 2]}, False),
        ({"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": 1, "RightValue": 2}}, True),
        ({"Type": "Or", "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 2}, {"Type": "LessThan", "LeftValue": 1, "RightValue": 2}]}, True),
        ({"Type": "Or", "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 2}]}, False),
    ],
)
def test_every_condition_type(condition: dict, expected: bool) -> None:
    assert scope().condition(condition, "/c") is expected


def test_incomparable_values_are_an_error() -> None:
    with pytest.raises(ExpressionError, match="/c: cannot compare 'Approved' with 0.5"):
        scope().condition({"Type": "GreaterThan", "LeftValue": {"Get": "Parameters.Status"}, "RightValue": 0.5}, "/c")


def test_trace_records_what_was_compared() -> None:
    trace: list[str] = []
    scope().condition({"Type": "GreaterThanOrEqualTo", "LeftValue": AUC, "RightValue": 0.75}, "/c", trace)
    assert trace == ["0.79 GreaterThanOrEqualTo 0.75: true"]


def test_paths() -> None:
    assert parse_path("A.B['x y'][2].C") == ["A", "B", "x y", 2, "C"]
    with pytest.raises(ValueError):
        parse_path("A..B")
    assert json_path({"a": [{"b": 1}]}, "a[0].b") == 1
