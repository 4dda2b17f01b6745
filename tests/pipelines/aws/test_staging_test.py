"""``mlops aws test-staging`` against the local endpoint: the package's own model passes; a model
that does not answer as the package's evaluation recorded fails, naming the row."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xgboost

from pipelines.api import sagemaker as api
from pipelines.aws.staging_test import baseline_uri
from pipelines.core.errors import UsageError
from pipelines.local.home import Home
from tests.helpers.serving_helpers import XGBOOST_IMAGE, RunningServer, twin_environment

EVALUATION = "s3://models/CreditDefaultPipeline/e-1/Evaluate/output/evaluation/evaluation.json"


def other_model(folder: Path, features: int) -> Path:
    """A model of the same shape that is not the evaluated one."""
    rng = np.random.default_rng(7)
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 2}, xgboost.DMatrix(rng.normal(size=(300, features)), label=rng.integers(0, 2, 300)), num_boost_round=5)
    raw = bytes(booster.save_raw(raw_format="ubj"))
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return folder / "model.tar.gz"


def deploy(home: Home, model: Path, version: int) -> None:
    """A package with the evaluation's ModelMetrics, approved: the twin deploys it to staging."""
    uri = f"s3://models/packages/{version}/model.tar.gz"
    target = home.objects().path(uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(model.read_bytes())
    arn = api.call(home, "CreateModelPackage", {
        "ModelPackageGroupName": "CreditDefaultPackageGroup", "ModelApprovalStatus": "PendingManualApproval",
        "InferenceSpecification": {"Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": uri}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        "ModelMetrics": {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": EVALUATION}}},
    })["ModelPackageArn"]  # fmt: skip
    api.call(home, "UpdateModelPackage", {"ModelPackageArn": arn, "ModelApprovalStatus": "Approved"})


def run_staging_test(home: Home, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    server = RunningServer(home)  # started after the deployment: it serves what is deployed before it answers
    try:
        said = twin_environment(home)
        env = {k: v for k, v in os.environ.items() if k not in said["unset"]}
        env.update(said["values"])  # type: ignore[arg-type]
        report = tmp_path / "staging-test.json"
        command = [sys.executable, "-m", "pipelines.cli.main", "aws", "test-staging", "--rows", "50", "-o", str(report)]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    finally:
        server.stop()




def test_the_evaluated_model_passes_and_another_fails_before_anyone_approves_production(evaluated: Path, model_dir: Path, tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    for name in ("evaluation/evaluation.json", "baseline/baseline.csv"):
        target = home.objects().path(f"s3://models/CreditDefaultPipeline/e-1/Evaluate/output/{name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((evaluated / name).read_bytes())
    api.call(home, "CreateModelPackageGroup", {"ModelPackageGroupName": "CreditDefaultPackageGroup"})

    deploy(home, model_dir / "model.tar.gz", 1)
    passed = run_staging_test(home, tmp_path / "good")
    assert passed.returncode == 0, passed.stderr
    report = json.loads((tmp_path / "good" / "staging-test.json").read_text())
    assert report["passed"] and report["rows"] == 50 and report["max_difference"] <= 1e-4 and report["package"].endswith("/1")
    assert report["auc"] == json.loads((evaluated / "evaluation/evaluation.json").read_text())["binary_classification_metrics"]["auc"]["value"]

    features = len((evaluated / "baseline/baseline.csv").read_text().splitlines()[0].split(",")) - 1
    deploy(home, other_model(tmp_path / "other", features), 2)
    failed = run_staging_test(home, tmp_path / "bad")
    assert failed.returncode == 1
    assert "staging test failed: row 1: the endpoint scored" in failed.stderr and "it is not the model the evaluation measured" in failed.stderr
    assert json.loads((tmp_path / "bad" / "staging-test.json").read_text())["passed"] is False


def test_the_baseline_is_found_beside_the_evaluation() -> None:
    assert baseline_uri(EVALUATION) == "s3://models/CreditDefaultPipeline/e-1/Evaluate/output/baseline/baseline.csv"
    with pytest.raises(UsageError, match="is not an evaluation step's evaluation.json"):
        baseline_uri("s3://models/report.json")
