"""Executions as MLflow runs, compared side by side, and a model package reproduced from its commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main as mlops
from pipelines.local.home import Home
from pipelines.runs import commit as commits
from pipelines.runs import experiments, local_run

pytestmark = pytest.mark.long  # run first (conftest.py)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = Home.resolve(tmp_path_factory.mktemp("experiments-home"))
    head = commits.resolve(ROOT, allow_dirty=True)
    document, name = local_run.load_definition(local_run.definitions.DEFAULT_MODULE, {}, None, None)
    first = local_run.run(home, document, name, {}, head)
    second = local_run.run(home, document, name, {"MaxDepth": 3}, head)
    assert first.status == second.status == "Succeeded"
    return {"home": home, "first": first.execution_id, "second": second.execution_id, "commit": head}


def test_an_execution_becomes_an_mlflow_run_with_nested_steps(runs: dict) -> None:
    from mlflow.tracking import MlflowClient

    run_id = experiments.log_execution(runs["home"], runs["first"])
    client = MlflowClient(tracking_uri=experiments.tracking_uri(runs["home"]))
    run = client.get_run(run_id)
    assert run.data.tags["git.commit"] == runs["commit"].sha
    assert run.data.tags["mlops.execution_arn"].endswith(runs["first"])
    assert run.data.params["MaxDepth"] == "5" and run.data.params["Eta"] == "0.1"
    assert 0.75 < run.data.metrics["test_auc"] < 0.85 and "validation_auc" in run.data.metrics
    assert any(key.startswith("data.Preprocess/") for key in run.data.tags)
    children = client.search_runs([run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'")
    names = {c.data.tags["mlflow.runName"] for c in children}
    assert {"Preprocess", "Train", "Evaluate", "DataQualityBaseline", "Register"} <= names
    train = next(c for c in children if c.data.tags["mlflow.runName"] == "Train")
    assert train.data.params["max_depth"] == "5" and "validation_auc" in train.data.metrics
    # Its artifacts would go under the home, not into the folder the first run was logged from.
    assert client.get_experiment(run.info.experiment_id).artifact_location == (runs["home"].root / "mlruns").as_uri()


def test_compare_shows_what_differs(runs: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["--home", str(runs["home"].root), "compare", runs["first"], runs["second"], "--json"]) == 0
    rows = {(r["Section"], r["Name"]): (r["First"], r["Second"]) for r in json.loads(capsys.readouterr().out)}
    assert rows[("parameter", "MaxDepth")] == ("5", "3")
    assert rows[("commit", "GitCommit")][0] == rows[("commit", "GitCommit")][1]
    assert rows[("data", "Preprocess/train")][0] == rows[("data", "Preprocess/train")][1]  # same data
    assert rows[("data", "Train/model")][0] != rows[("data", "Train/model")][1]  # another model
    assert rows[("metric", "test:auc")][0] != rows[("metric", "test:auc")][1]


def test_reproduce_a_model_package_from_its_commit(runs: dict, capsys: pytest.CaptureFixture[str]) -> None:
    if runs["commit"].dirty:
        pytest.skip("the working tree has uncommitted changes: HEAD's code is not what ran")
    assert mlops.main(["--home", str(runs["home"].root), "reproduce", "--model-package", "CreditDefaultPackageGroup/1", "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    assert report["Commit"] == runs["commit"].sha and report["Status"] == "Succeeded"
    assert report["DataDigestsMatch"] is True and report["DataDigests"]
    assert report["Metrics"]["test:auc"]["difference"] == 0.0
    assert report["ReproducedExecution"] != report["OriginalExecution"]
    # The reproduction trained the same model byte for byte: it registered no copy of it.
    from pipelines.engine.records import Records
    from pipelines.registry.store import ModelRegistry

    with ModelRegistry(runs["home"]) as registry:
        versions = sorted(p["ModelPackageVersion"] for p in registry.list_packages("CreditDefaultPackageGroup"))
    assert versions == [1, 2]  # the two runs above (MaxDepth 3 is another model), and no third
    with Records(runs["home"]) as records:
        register = records.step_properties(report["ReproducedExecution"].rsplit("/", 1)[1], "Register")
    assert register["ModelPackageArn"].endswith("/creditdefaultpackagegroup/1")
