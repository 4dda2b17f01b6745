"""The built-in XGBoost algorithm's contract, run locally on the real split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.engine import xgboost_algorithm as algo
from steps import evaluate

HYPER = {"objective": "binary:logistic", "eval_metric": "auc", "num_round": "60", "max_depth": "4", "eta": "0.2", "early_stopping_rounds": "10", "subsample": "0.8"}


def test_train_writes_the_container_archive_and_metrics(preprocessed: Path, tmp_path: Path) -> None:
    channels = {"train": preprocessed / "train", "validation": preprocessed / "validation"}
    result = algo.train(channels, HYPER, tmp_path / "model")
    assert set(result.final_metrics) == {"train:auc", "validation:auc"}
    assert 0.75 < result.final_metrics["validation:auc"] < result.final_metrics["train:auc"] < 1
    assert result.rounds <= 60
    # evaluate.py reads it the way it reads the container's archive
    assert evaluate.main(["--model-dir", str(tmp_path / "model"), "--test-dir", str(preprocessed / "test"), "--output-dir", str(tmp_path / "eval")]) == 0
    auc = json.loads((tmp_path / "eval" / "evaluation.json").read_text())["binary_classification_metrics"]["auc"]["value"]
    assert auc > 0.75
    assert [p.name for p in (tmp_path / "model").iterdir()] == ["model.tar.gz"]


def test_an_early_stopped_model_is_served_evaluated_and_explained_up_to_its_best_round(preprocessed: Path, tmp_path: Path) -> None:
    """XGBoost 1.7's training writes best_iteration and best_ntree_limit on every model, and the
    1.7-1 container serves with ntree_limit=best_ntree_limit (serve_utils.py): the rounds up to
    the best one. Checked by hand against xgboost 1.7.6: its loaded model answers exactly as
    iteration_range=(0, best_iteration + 1). The twin trains, serves, evaluates and explains so."""
    import numpy as np
    import pandas as pd
    import xgboost

    from pipelines.monitor.job.clarify import attribution
    from pipelines.serving.model import Predictor

    channels = {"train": preprocessed / "train", "validation": preprocessed / "validation"}
    hyper = {**HYPER, "num_round": "200", "eta": "0.3", "early_stopping_rounds": "5"}
    result = algo.train(channels, hyper, tmp_path / "model")
    assert result.best_iteration < result.rounds - 1  # it stopped early: there are rounds after the best one
    booster = evaluate.load_model(tmp_path / "model", tmp_path / "unpacked")
    assert booster.attr("best_iteration") == str(result.best_iteration)
    assert booster.attr("best_ntree_limit") == str(result.best_iteration + 1)
    assert evaluate.served_iterations(booster) == (0, result.best_iteration + 1)
    test = pd.read_csv(preprocessed / "test" / "test.csv")
    rows = test.iloc[:, 1:].to_numpy(dtype=np.float32)
    best = booster.predict(xgboost.DMatrix(rows), iteration_range=(0, result.best_iteration + 1))
    every = booster.predict(xgboost.DMatrix(rows), iteration_range=(0, result.rounds))
    assert np.abs(best - every).max() > 1e-3  # the two differ, so the choice shows
    served = Predictor.load(tmp_path / "model" / "model.tar.gz").predict(rows)
    np.testing.assert_array_equal(served, best)
    assert evaluate.main(["--model-dir", str(tmp_path / "model"), "--test-dir", str(preprocessed / "test"), "--output-dir", str(tmp_path / "eval"),
                          "--predictions-dir", str(tmp_path / "predictions")]) == 0  # fmt: skip
    evaluated = pd.read_csv(tmp_path / "predictions" / "predictions.csv")["probability"].to_numpy()
    np.testing.assert_allclose(evaluated, best, rtol=0, atol=1e-7)
    values, expected = attribution.shap_values(booster, rows)
    margins = booster.predict(xgboost.DMatrix(rows), output_margin=True, iteration_range=(0, result.best_iteration + 1))
    assert np.abs(values.astype(np.float64).sum(axis=1) + expected - margins).max() < 1e-4


def test_same_inputs_same_model(preprocessed: Path, tmp_path: Path) -> None:
    channels = {"train": preprocessed / "validation"}
    hyper = {"num_round": "5", "objective": "binary:logistic"}
    algo.train(channels, hyper, tmp_path / "a")
    algo.train(channels, hyper, tmp_path / "b")
    import tarfile

    def model_bytes(d: Path) -> bytes:
        with tarfile.open(d / "model.tar.gz") as tar:
            return tar.extractfile("xgboost-model").read()  # type: ignore[union-attr]

    assert model_bytes(tmp_path / "a") == model_bytes(tmp_path / "b")
    assert (tmp_path / "a" / "model.tar.gz").read_bytes() == (tmp_path / "b" / "model.tar.gz").read_bytes()  # the archive too


@pytest.mark.parametrize(
    ("hyper", "message"),
    [
        ({"num_round": "5", "learning_rate": "0.1"}, "unsupported hyperparameter(s) learning_rate"),
        ({"objective": "binary:logistic"}, "num_round is required"),
        ({"num_round": "5.5"}, "num_round='5.5': must be a whole number"),
        ({"num_round": "5", "eta": "2"}, "eta='2': must be <= 1"),
        ({"num_round": "5", "subsample": "0"}, "subsample='0': must be > 0"),
        ({"num_round": "5", "eval_metric": "auc,foo"}, "unsupported metric(s) foo"),
        ({"num_round": "five"}, "num_round='five'"),
    ],
)
def test_bad_hyperparameters_are_named(hyper: dict[str, str], message: str) -> None:
    with pytest.raises(algo.HyperparameterError) as exc:
        algo.parse_hyperparameters(hyper)
    assert message in str(exc.value)


def test_early_stopping_needs_validation(preprocessed: Path, tmp_path: Path) -> None:
    with pytest.raises(algo.HyperparameterError, match="needs a validation channel"):
        algo.train({"train": preprocessed / "train"}, {"num_round": "5", "early_stopping_rounds": "2"}, tmp_path)


def test_channel_with_a_header_is_refused(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "t.csv").write_text("Label,a\n0,1\n")
    with pytest.raises(algo.ChannelError, match="channel train: t.csv: not numeric CSV without a header"):
        algo.train({"train": tmp_path / "train"}, {"num_round": "2"}, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_empty_and_unknown_channels(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    with pytest.raises(algo.ChannelError, match="no data files"):
        algo.train({"train": tmp_path / "train"}, {"num_round": "2"}, tmp_path / "m")
    with pytest.raises(algo.ChannelError, match="unsupported channel"):
        algo.train({"train": tmp_path / "train", "test": tmp_path}, {"num_round": "2"}, tmp_path / "m")


# -- the containers' versions (aws/sagemaker-xgboost-container, by tag) ------------------------
ABALONE_HYPER = {"objective": "reg:linear", "num_round": "5", "max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.7", "silent": "0"}


@pytest.mark.parametrize(
    ("image", "version", "pickled"),
    [("sagemaker-xgboost:1.0-1-cpu-py3", "1.0", True), ("sagemaker-xgboost:0.90-2-cpu-py3", "0.90", True), ("sagemaker-xgboost:1.2-2", "1.2", True), ("sagemaker-xgboost:1.3-1", "1.3", False), ("sagemaker-xgboost:1.7-1", "1.7", False)],
)
def test_each_image_version_is_its_containers(image: str, version: str, pickled: bool) -> None:
    found = algo.version_of(f"683313688378.dkr.ecr.us-east-1.amazonaws.com/{image}")
    assert found is not None and found.name == version and found.pickles is pickled


def test_the_abalone_templates_hyperparameters_train_on_1_0_1_and_its_model_is_a_pickle(preprocessed: Path, tmp_path: Path) -> None:
    """AWS's project seed code trains on 1.0-1 with silent=0 and reg:linear, and its evaluate.py
    unpickles the model: 1.0-1's train.py pickles it (pkl.dump(bst, ...))."""
    import io
    import pickle
    import tarfile

    import xgboost

    channels = {"train": preprocessed / "train", "validation": preprocessed / "validation"}
    result = algo.train(channels, ABALONE_HYPER, tmp_path / "model", version=algo.VERSIONS["1.0"])
    assert set(result.final_metrics) == {"train:rmse", "validation:rmse"}  # reg:linear is squared error
    with tarfile.open(tmp_path / "model" / "model.tar.gz") as tar:
        raw = tar.extractfile("xgboost-model").read()  # type: ignore[union-attr]
    model = pickle.load(io.BytesIO(raw))  # what the template's evaluate.py does
    assert isinstance(model, xgboost.Booster) and model.num_boosted_rounds() == 5
    # Our own readers take it too: the evaluation script and the endpoint.
    from pipelines.serving.model import Predictor

    assert evaluate.load_model(tmp_path / "model", tmp_path / "unpacked").num_boosted_rounds() == 5
    assert Predictor.load(tmp_path / "model" / "model.tar.gz").features == model.num_features()


def test_silent_is_refused_by_the_versions_that_refuse_it_naming_those_that_take_it(preprocessed: Path, tmp_path: Path) -> None:
    with pytest.raises(algo.HyperparameterError) as refused:
        algo.train({"train": preprocessed / "train"}, ABALONE_HYPER, tmp_path / "model", version=algo.VERSIONS["1.7"])
    assert "unsupported hyperparameter(s) silent for the built-in XGBoost algorithm 1.7 (silent is accepted by 0.90, 1.0 only)" in str(refused.value)


def test_a_pickle_that_is_not_a_booster_is_refused_before_it_runs_anything(tmp_path: Path) -> None:
    import io
    import pickle
    import tarfile

    from pipelines.serving.model import ModelLoadError, Predictor

    class Hostile:
        def __reduce__(self) -> tuple:
            return (print, ("ran code from a model file",))

    raw = pickle.dumps(Hostile(), protocol=4)
    (tmp_path / "model").mkdir()
    with tarfile.open(tmp_path / "model" / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    with pytest.raises(ModelLoadError, match="builtins.print is not part of a pickled XGBoost Booster"):
        Predictor.load(tmp_path / "model" / "model.tar.gz")
    with pytest.raises(evaluate.EvaluationError, match="builtins.print is not part of a pickled XGBoost Booster"):
        evaluate.load_model(tmp_path / "model", tmp_path / "unpacked")


def test_every_xgboost_image_the_sdk_names_has_its_versions_behaviour() -> None:
    """The SDK's own list of XGBoost images (image_uri_config/xgboost.json); "1" is the legacy
    algorithm image (xgboost:1), not a sagemaker-xgboost container."""
    import json
    from importlib.resources import files

    from pipelines.engine import xgboost_algorithm

    named = json.loads(files("sagemaker.core").joinpath("image_uri_config", "xgboost.json").read_text())["training"]["versions"]
    for tag in set(named) - {"1"}:
        image = f"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:{tag}-cpu-py3"
        assert xgboost_algorithm.version_of(image) is not None, tag
