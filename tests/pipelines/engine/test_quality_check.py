"""The QualityCheck step (DATA_QUALITY) as SageMaker documents it, on the local analyzer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from tests.helpers.aws_shapes import problems
from tests.helpers.engine_defs import definition, quality_check


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(3)
    folder = tmp_path / "data"
    folder.mkdir()
    base = pd.DataFrame({"prediction": rng.random(3000).round(4), "age": rng.integers(20, 70, 3000), "limit": rng.integers(1, 50, 3000) * 10000})
    base.to_csv(folder / "base.csv", index=False)
    same = base.sample(frac=1.0, random_state=1)
    same.to_csv(folder / "same.csv", index=False)
    moved = same.assign(limit=same["limit"] // 1000)
    moved.to_csv(folder / "moved.csv", index=False)
    return {name: folder / f"{name}.csv" for name in ("base", "same", "moved")}


def properties(home: Home, execution_id: str, step: str) -> dict:
    records = Records(home)
    try:
        return records.step_properties(execution_id, step) or {}
    finally:
        records.close()


def test_skip_check_calculates_and_registers_a_new_baseline(engine: Engine, home: Home, data: dict[str, Path]) -> None:
    result = engine.run(definition([quality_check("Baseline", str(data["base"]))]), "QC", {})
    assert result.status == "Succeeded", result.failure_reason
    props = properties(home, result.execution_id, "Baseline")
    root = f"s3://bucket/checks/{result.execution_id}/Baseline"
    assert props["CalculatedBaselineStatistics"] == f"{root}/statistics.json"
    assert props["CalculatedBaselineConstraints"] == f"{root}/constraints.json"
    assert props["BaselineUsedForDriftCheckStatistics"] == props["CalculatedBaselineStatistics"]
    store = ObjectStore(home.store)
    stats = json.loads(store.path(props["CalculatedBaselineStatistics"]).read_text())
    assert [f["name"] for f in stats["features"]] == ["prediction", "age", "limit"]
    with Records(home) as records:
        steps = records.list_steps(result.execution_id)
    assert problems({"PipelineExecutionSteps": steps}, "ListPipelineExecutionStepsResponse", frozenset({"PipelineExecutionSteps[].StepType", "PipelineExecutionSteps[].LogPath"})) == []
    metadata = steps[0]["Metadata"]["QualityCheck"]
    assert metadata["CheckType"] == "DATA_QUALITY" and metadata["CalculatedBaselineStatistics"] == props["CalculatedBaselineStatistics"]
    assert metadata["CheckJobArn"].startswith("arn:aws:sagemaker:us-east-1:000000000000:processing-job/")


def supplied_baseline(engine: Engine, home: Home, data: dict[str, Path]) -> tuple[str, str]:
    first = engine.run(definition([quality_check("Baseline", str(data["base"]))]), "QC", {})
    props = properties(home, first.execution_id, "Baseline")
    return props["CalculatedBaselineStatistics"], props["CalculatedBaselineConstraints"]


def test_check_against_a_supplied_baseline_passes_on_the_same_data(engine: Engine, home: Home, data: dict[str, Path]) -> None:
    supplied = supplied_baseline(engine, home, data)
    step = quality_check("Check", str(data["same"]), skip=False, register_new=False, supplied=supplied)
    result = engine.run(definition([step]), "QC", {})
    assert result.status == "Succeeded", result.failure_reason
    props = properties(home, result.execution_id, "Check")
    assert (props["BaselineUsedForDriftCheckStatistics"], props["BaselineUsedForDriftCheckConstraints"]) == supplied
    violations = ObjectStore(home.store).path(props["CalculatedBaselineStatistics"]).parent / "constraint_violations.json"
    assert json.loads(violations.read_text()) == {"violations": []}


def test_violations_fail_the_step_when_asked(engine: Engine, home: Home, data: dict[str, Path]) -> None:
    supplied = supplied_baseline(engine, home, data)
    failing = quality_check("Check", str(data["moved"]), skip=False, supplied=supplied)
    result = engine.run(definition([failing]), "QC", {})
    assert result.status == "Failed"
    assert "Quality check failed with 1 violation(s): limit baseline_drift_check" in result.failure_reason
    tolerant = quality_check("Check", str(data["moved"]), skip=False, fail_on_violation=False, supplied=supplied)
    passed = engine.run(definition([tolerant]), "QC", {})
    assert passed.status == "Succeeded"
    assert passed.steps[0].detail == "Job completed successfully with 1 violations."


def test_no_baseline_to_check_against_is_a_clear_failure(engine: Engine, data: dict[str, Path]) -> None:
    result = engine.run(definition([quality_check("Check", str(data["same"]), skip=False)]), "QC", {})
    assert result.status == "Failed"
    assert "SkipCheck is false but there is no baseline to check against" in result.failure_reason


def test_step_fields_may_be_parameters(engine: Engine, home: Home, data: dict[str, Path]) -> None:
    supplied = supplied_baseline(engine, home, data)
    step = quality_check("Check", str(data["moved"]), skip={"Get": "Parameters.Skip"}, supplied=supplied)
    doc = definition([step], parameters=[{"Name": "Skip", "Type": "Boolean", "DefaultValue": True}])
    assert engine.run(doc, "QC", {}).status == "Succeeded"
    assert engine.run(doc, "QC", {"Skip": False}).status == "Failed"
