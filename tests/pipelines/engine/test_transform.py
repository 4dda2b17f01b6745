"""Batch transform, as the SDK renders it, with the built-in XGBoost container's contract."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost

from pipelines.core.errors import DefinitionError
from pipelines.engine.handlers.transform import FilterError, select
from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.runs import local_run


def booster(model_dir: Path) -> xgboost.Booster:
    with tarfile.open(model_dir / "model.tar.gz") as tar:
        raw = tar.extractfile("xgboost-model").read()  # type: ignore[union-attr]
    loaded = xgboost.Booster()
    loaded.load_model(bytearray(raw))
    return loaded


@pytest.fixture
def staged(tmp_path: Path, model_dir: Path, preprocessed: Path) -> tuple[Home, pd.DataFrame]:
    """The model and two files of test rows (label first, no header) in the store."""
    home = Home.resolve(tmp_path / "home")
    store = home.objects()
    store.put_file(model_dir / "model.tar.gz", "s3://bucket/models/model.tar.gz")
    rows = pd.read_csv(preprocessed / "test" / "test.csv", dtype=str).head(300)
    for name, part in (("part-a.csv", rows.iloc[:200]), ("nested/part-b.csv", rows.iloc[200:])):
        target = tmp_path / "batch" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        part.to_csv(target, header=False, index=False)
        store.put_file(target, f"s3://bucket/batch/input/{name}")
    return home, rows


def run(home: Home, **kwargs: str) -> object:
    document, name = local_run.load_definition("tests.builders.batch_transform", kwargs, None, None)
    return Engine(home).run(document, name)


@pytest.mark.parametrize("strategy", ["MultiRecord", "SingleRecord"])
def test_each_line_is_scored_and_joined_back_to_its_label(staged: tuple[Home, pd.DataFrame], model_dir: Path, strategy: str) -> None:
    home, rows = staged
    result = run(home, strategy=strategy)
    assert result.status == "Succeeded", result.failure_reason
    expected = booster(model_dir).predict(xgboost.DMatrix(rows.iloc[:, 1:].to_numpy(dtype=float)))
    store = home.objects()
    a = store.path("s3://bucket/batch/output/part-a.csv.out").read_text().splitlines()
    b = store.path("s3://bucket/batch/output/nested/part-b.csv.out").read_text().splitlines()
    lines = a + b  # {S3OutputPath}/{the object's path under the prefix}.out, records joined by lines
    assert len(lines) == 300
    labels = [line.split(",")[0] for line in lines]
    scores = np.array([float(line.split(",")[1]) for line in lines])
    assert labels == rows.iloc[:, 0].tolist()  # $[0,-1] of the input joined with the output: the label, then the score
    assert np.allclose(scores, expected, atol=1e-6)
    with Records(home) as records:
        properties = records.step_properties(result.execution_id, "ScoreBatch")
        (step,) = [s for s in records.list_steps(result.execution_id) if s["StepName"] == "ScoreBatch"]
    assert properties["TransformJobStatus"] == "Completed" and properties["TransformOutput"]["S3OutputPath"] == "s3://bucket/batch/output"
    assert step["Metadata"]["TransformJob"]["Arn"].startswith("arn:aws:sagemaker:us-east-1:") and ":transform-job/" in step["Metadata"]["TransformJob"]["Arn"]


def test_without_the_input_filter_the_label_reaches_the_model_and_the_container_refuses_the_row(staged: tuple[Home, pd.DataFrame]) -> None:
    home, _ = staged
    result = run(home, input_filter="$")
    with Records(home) as records:
        (step,) = [s for s in records.list_steps(result.execution_id) if s["StepName"] == "ScoreBatch"]
    assert step["StepStatus"] == "Failed"
    assert "s3://bucket/batch/input/nested/part-b.csv: row 1: 24 values; the model takes 23 features" in step["FailureReason"] or "part-a.csv: row 1: 24 values" in step["FailureReason"]


def test_a_jsonpath_outside_the_subset_is_refused_before_anything_runs(staged: tuple[Home, pd.DataFrame]) -> None:
    home, _ = staged
    with pytest.raises(DefinitionError, match=r"DataProcessing/InputFilter: '\$\.\.features' is not a JSONPath batch transform takes here"):
        run(home, input_filter="$..features")


def test_the_jsonpath_subset() -> None:
    record = ["1", "a", "b", "c"]
    assert select(record, "$") == record and select(record, "$[1:]") == ["a", "b", "c"] and select(record, "$[0,-1]") == ["1", "c"]
    assert select(record, "$[1:3]") == ["a", "b"] and select({"features": [1, 2, 3]}, "$.features") == [1, 2, 3]
    assert select({"features": [1, 2, 3]}, "$.features[0,2]") == [1, 3]
    with pytest.raises(FilterError, match="does not select from 4 value"):
        select(record, "$[7]")
