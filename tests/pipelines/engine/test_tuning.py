"""Hyperparameter tuning, as the SDK v3's HyperparameterTuner renders it, over the built-in XGBoost algorithm."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pipelines.core.errors import DefinitionError
from pipelines.engine.handlers.tuning import candidates
from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.runs import local_run

pytestmark = pytest.mark.long  # run first (conftest.py)


@pytest.fixture
def home(tmp_path: Path, preprocessed: Path) -> Home:
    home = Home.resolve(tmp_path / "home")
    for channel in ("train", "validation"):
        home.objects().put_file(preprocessed / channel / f"{channel}.csv", f"s3://bucket/data/{channel}/{channel}.csv")
    return home


def rendered(**kwargs: object) -> dict:
    document, _ = local_run.load_definition("tests.builders.tuning", kwargs, None, None)
    return document


def test_random_search_ranks_its_jobs_and_the_best_models_uri_resolves(home: Home) -> None:
    result = Engine(home).run(rendered(), "Tuning")
    # The pipeline ends at a Fail step whose message is get_top_model_s3_uri(top_k=0): the best model's URI.
    assert result.status == "Failed"
    with Records(home) as records:
        tuned = records.step_properties(result.execution_id, "Tune")
    summaries = tuned["TrainingJobSummaries"]
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert len(summaries) == 4 and values == sorted(values, reverse=True)  # best first (Maximize validation:auc)
    assert tuned["BestTrainingJob"] == summaries[0] and tuned["ObjectiveStatusCounters"]["Succeeded"] == 4
    best_uri = f"s3://bucket/tuning/models/{summaries[0]['TrainingJobName']}/output/model.tar.gz"
    assert result.failure_reason == best_uri and home.objects().path(best_uri).is_file()
    for summary in summaries:  # each job trained with its own drawn values, within the ranges
        tuned_values = summary["TunedHyperParameters"]
        assert 2 <= int(tuned_values["max_depth"]) <= 6 and 0.05 <= float(tuned_values["eta"]) <= 0.5 and tuned_values["min_child_weight"] in ("1", "5")
    assert len({json_key(s["TunedHyperParameters"]) for s in summaries}) == 4
    assert 0.7 < values[0] < 0.9  # what XGBoost reaches on this data


def json_key(values: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(values.items()))


def test_grid_search_runs_every_combination(home: Home) -> None:
    result = Engine(home).run(rendered(strategy="Grid", max_jobs=10), "Tuning")
    with Records(home) as records:
        tuned = records.step_properties(result.execution_id, "Tune")
    assert sorted(json_key(s["TunedHyperParameters"]) for s in tuned["TrainingJobSummaries"]) == [
        "eta=0.1,max_depth=2", "eta=0.1,max_depth=4", "eta=0.3,max_depth=2", "eta=0.3,max_depth=4",
    ]  # fmt: skip


def test_random_draws_follow_the_scaling_and_repeat_for_the_same_ranges() -> None:
    config = {"Strategy": "Random", "ResourceLimits": {"MaxNumberOfTrainingJobs": 400},
              "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.001", "MaxValue": "1", "ScalingType": "Logarithmic"}]}}  # fmt: skip
    drawn = [float(c["eta"]) for c in candidates(config)]
    assert drawn == [float(c["eta"]) for c in candidates(config)]
    # Log-uniform over three decades: about a third of the draws in each.
    decades = [sum(1 for v in drawn if 10**-k <= v < 10 ** (1 - k)) for k in (3, 2, 1)]
    assert all(80 < count < 190 for count in decades) and all(0.001 <= v <= 1 for v in drawn)
    assert math.isclose(sum(decades), 400, abs_tol=1)


@pytest.mark.parametrize(("kwargs", "message"), [({"strategy": "Hyperband"}, "'Hyperband' tuning does not run locally; Random, Grid and Bayesian do")])
def test_a_strategy_the_engine_cannot_run_is_refused_with_the_hint(home: Home, kwargs: dict, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        Engine(home).run(rendered(**kwargs), "Tuning")


def test_bayesian_search_proposes_each_batch_from_the_results_so_far(home: Home) -> None:
    result = Engine(home).run(rendered(strategy="Bayesian", max_jobs=6), "Tuning")
    with Records(home) as records:
        tuned = records.step_properties(result.execution_id, "Tune")
    summaries = tuned["TrainingJobSummaries"]
    assert len(summaries) == 6 and tuned["ObjectiveStatusCounters"]["Succeeded"] == 6
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert values == sorted(values, reverse=True) and result.failure_reason.endswith(f"{summaries[0]['TrainingJobName']}/output/model.tar.gz")
    for summary in summaries:  # Optuna's TPE proposals stay within the ranges
        tuned_values = summary["TunedHyperParameters"]
        assert 2 <= int(tuned_values["max_depth"]) <= 6 and 0.05 <= float(tuned_values["eta"]) <= 0.5 and tuned_values["min_child_weight"] in ("1", "5")
    again = Engine(home).run(rendered(strategy="Bayesian", max_jobs=6), "Tuning")  # seeded: the same proposals again
    with Records(home) as records:
        repeated = records.step_properties(again.execution_id, "Tune")["TrainingJobSummaries"]
    assert sorted(json_key(s["TunedHyperParameters"]) for s in repeated) == sorted(json_key(s["TunedHyperParameters"]) for s in summaries)


def test_tuning_a_script_runs_the_framework_containers_path(tmp_path: Path, script_train: Path) -> None:
    """A HyperparameterTuner over a ModelTrainer with a SourceCode: the SDK packs the code as
    sourcedir.tar.gz (noted while rendering, never uploaded) and passes sagemaker_program and
    sagemaker_submit_directory; each training job unpacks it and runs the script with its own C."""
    import pickle
    import tarfile

    home = Home.resolve(tmp_path / "home")
    home.objects().put_file(script_train, "s3://bucket/data/train/train.csv")
    document, name = local_run.load_definition("tests.builders.tuning_script", {}, None, None)
    result = Engine(home).run(document, name)
    assert result.status == "Succeeded", result.failure_reason
    with Records(home) as records:
        summaries = records.step_properties(result.execution_id, "Tune")["TrainingJobSummaries"]
    assert len(summaries) == 3 and all(s["ObjectiveStatus"] == "Succeeded" for s in summaries)
    for summary in summaries:
        with tarfile.open(home.objects().path(f"s3://bucket/tuned-script/{summary['TrainingJobName']}/output/model.tar.gz")) as archive:
            model = pickle.loads(archive.extractfile("model.pkl").read())  # type: ignore[union-attr]  # noqa: S301 - the test's own model
        assert model.C == pytest.approx(float(summary["TunedHyperParameters"]["C"])) and model.max_iter == 200  # no --sagemaker_program reached the script
