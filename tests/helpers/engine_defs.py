"""Small definitions for engine tests, as JSON the way the SDK writes them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


WRITE = """
import argparse, pathlib, sys, time
p = argparse.ArgumentParser()
p.add_argument("--out"); p.add_argument("--text", default="hello"); p.add_argument("--sleep", type=float, default=0)
p.add_argument("--fail", action="store_true"); p.add_argument("--stamp")
p.add_argument("--runs"); p.add_argument("--started"); p.add_argument("--meet"); p.add_argument("--name", default="job")
a = p.parse_args()
started = time.time()
if a.runs:  # one line per time the job really ran
    with open(a.runs, "a") as runs:
        runs.write("ran\\n")
if a.started:  # the job is running (its pid): an event a test can wait on, written whole
    import os
    pathlib.Path(a.started + ".partial").write_text(str(os.getpid()))
    os.replace(a.started + ".partial", a.started)
if a.meet:  # wait until another job is running at the same time; say whether it was
    here = pathlib.Path(a.meet)
    (here / f"{a.name}.here").write_text("")
    give_up = time.monotonic() + 120
    while len(list(here.glob("*.here"))) < 2 and time.monotonic() < give_up:
        time.sleep(0.01)
    (here / f"{a.name}.met").write_text(str(len(list(here.glob("*.here"))) >= 2))
time.sleep(a.sleep)
pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(a.out) / "value.txt").write_text(a.text)
(pathlib.Path(a.out) / "report.json").write_text('{"score": {"value": 0.8}, "items": [1, 2, 3]}')
if a.stamp:
    pathlib.Path(a.stamp).write_text(f"{started} {time.time()}")
if a.fail:
    print("something went wrong in the job", file=sys.stderr)
    sys.exit(3)
"""

COPY = """
import argparse, pathlib
p = argparse.ArgumentParser(); p.add_argument("--src"); p.add_argument("--out")
a = p.parse_args()
text = (pathlib.Path(a.src) / "value.txt").read_text()
pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(a.out) / "value.txt").write_text(text + "+copied")
"""



def processing(name: str, script: Path, arguments: list[Any], inputs: list[tuple[str, Any]] = (), cache: bool = False, depends_on: list[str] | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}},
            "AppSpecification": {
                "ImageUri": SKLEARN_IMAGE,
                "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{script.name}"],
                "ContainerArguments": arguments,
            },
            "RoleArn": "arn:aws:iam::000000000000:role/r",
            "ProcessingInputs": [
                *[
                    {"InputName": input_name, "S3Input": {"S3Uri": uri, "LocalPath": f"/opt/ml/processing/{input_name}", "S3DataType": "S3Prefix", "S3InputMode": "File"}}
                    for input_name, uri in inputs
                ],
                {"InputName": "code", "S3Input": {"S3Uri": str(script), "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix", "S3InputMode": "File"}},
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://bucket/p", {"Get": "Execution.PipelineExecutionId"}, name, "out"]}},
                            "LocalPath": "/opt/ml/processing/out",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
        "PropertyFiles": [{"PropertyFileName": "Report", "OutputName": "out", "FilePath": "report.json"}],
    }
    if cache:
        step["CacheConfig"] = {"Enabled": True, "ExpireAfter": "PT1H"}
    if depends_on:
        step["DependsOn"] = depends_on
    return step


def signals(home: Any) -> Path:
    """Where a test's job scripts leave signal files (that they ran, when, that they met): the
    object store, the one place beside its own directory a confined job may write."""
    folder = Path(home.store) / "test-signals"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def definition(steps: list[dict[str, Any]], parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"Version": "2020-12-01", "Metadata": {}, "Parameters": parameters or [], "Steps": steps}


def out_uri(step: str) -> dict[str, Any]:
    return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}


PYTHON = sys.executable


ANALYZER_IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


def quality_check(name: str, dataset: Any, skip: Any = True, register_new: Any = True, fail_on_violation: Any = True, supplied: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """A QualityCheck step as the SDK renders a DataQualityCheckConfig."""
    return {
        "Name": name,
        "Type": "QualityCheck",
        "Arguments": {
            "ProcessingInputs": [{"InputName": "baseline_dataset_input", "S3Input": {"S3Uri": dataset, "LocalPath": "/opt/ml/processing/input/baseline_dataset_input", "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "quality_check_output",
                        "S3Output": {"S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://bucket/checks", {"Get": "Execution.PipelineExecutionId"}, name]}}, "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"},
                    }
                ]
            },
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
            "AppSpecification": {"ImageUri": ANALYZER_IMAGE},
            "RoleArn": "arn:aws:iam::000000000000:role/r",
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "Environment": {
                "output_path": "/opt/ml/processing/output",
                "publish_cloudwatch_metrics": "Disabled",
                "dataset_format": '{"csv": {"header": true, "output_columns_position": "START"}}',
                "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
            },
        },
        "CheckType": "DATA_QUALITY",
        "ModelPackageGroupName": "Group",
        "SkipCheck": skip,
        "FailOnViolation": fail_on_violation,
        "RegisterNewBaseline": register_new,
        "SuppliedBaselineStatistics": supplied[0] if supplied else None,
        "SuppliedBaselineConstraints": supplied[1] if supplied else None,
    }
