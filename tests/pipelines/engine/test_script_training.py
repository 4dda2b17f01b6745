"""Script-mode training, as the SDK v3's ModelTrainer renders it, run with the SDK's own drivers."""

from __future__ import annotations

import json
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.runs import local_run


@pytest.fixture
def home(tmp_path: Path, script_train: Path) -> Home:
    home = Home.resolve(tmp_path / "home")
    home.objects().put_file(script_train, "s3://bucket/data/train/train.csv")
    return home


def test_the_xgboost_framework_image_runs_a_script_in_this_interpreter(home: Home) -> None:
    result = run(home, framework="xgboost")
    assert result.status == "Succeeded", result.failure_reason


def test_another_framework_image_is_refused_until_images_json_maps_its_python3(home: Home) -> None:
    """PyTorch (or any other framework image): its python3 must be one that has what the script
    needs; it is named in images.json. Unmapped: refused before the run, with the line to add."""
    import sys

    from pipelines.core.errors import DefinitionError

    document, name = local_run.load_definition("tests.builders.script_training", {"framework": "pytorch"}, None, None)
    image = document["Steps"][0]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert "pytorch-training" in image
    with pytest.raises(DefinitionError, match=r"no local python3 for .*pytorch-training.*images.json"):
        Engine(home).run(document, name)
    home.images.write_text(json.dumps({image: {"python3": sys.executable}}))
    result = Engine(home).run(document, name)
    assert result.status == "Succeeded", result.failure_reason


def run(home: Home, overrides: dict | None = None, **kwargs: str) -> object:
    document, name = local_run.load_definition("tests.builders.script_training", kwargs, None, None)
    return Engine(home).run(document, name, overrides or {})


def step(home: Home, execution_id: str) -> dict:
    with Records(home) as records:
        (found,) = [s for s in records.list_steps(execution_id) if s["StepName"] == "Fit"]
        found["Properties"] = records.step_properties(execution_id, "Fit")
    return found


def test_the_script_gets_the_toolkit_contract_and_its_model_is_packed(home: Home, script_train: Path) -> None:
    result = run(home, {"C": 0.25})
    assert result.status == "Succeeded", result.failure_reason
    fit = step(home, result.execution_id)
    properties = fit["Properties"]
    model_uri = properties["ModelArtifacts"]["S3ModelArtifacts"]
    assert model_uri.startswith("s3://bucket/sklearn-script/") and model_uri.endswith("/output/model.tar.gz")
    with tarfile.open(home.objects().path(model_uri)) as archive:
        assert archive.getnames() == ["model.pkl"]  # SM_MODEL_DIR, packed as SageMaker packs it
        model = pickle.loads(archive.extractfile("model.pkl").read())  # type: ignore[union-attr]  # noqa: S301 - our own test's model
    assert model.C == 0.25 and model.max_iter == 200  # the hyperparameters reached the script as --C 0.25 --max_iter 200
    train = np.loadtxt(script_train, delimiter=",")
    (metric,) = properties["FinalMetricDataList"]  # the MetricDefinition's regex over the job's log
    assert metric["MetricName"] == "train:auc"
    assert metric["Value"] == pytest.approx(roc_auc_score(train[:, 0], model.predict_proba(train[:, 1:])[:, 1]), abs=1e-6)
    log = Path(fit["LogPath"]).read_text()
    assert "hyperparameters seen: {'C': 0.25, 'max_iter': 200, 'min_auc': 0.5}" in log  # SM_HPS, typed by the SDK's driver


def test_the_scripts_failure_file_is_the_reason(home: Home) -> None:
    result = run(home, {"MinAuc": 0.99})
    fit = step(home, result.execution_id)
    assert result.status == "Failed" and fit["StepStatus"] == "Failed"
    assert fit["FailureReason"].startswith("AlgorithmError: the training AUC") and "is under min_auc 0.99" in fit["FailureReason"]


def test_a_requirement_this_machine_lacks_is_named_and_nothing_is_installed(home: Home, tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "builders" / "scripts" / "sklearn_train"
    requirements = source / "requirements.txt"
    requirements.write_text("scikit-learn>=1.0\nnot-a-package-anywhere==1.0\n")
    try:
        result = run(home, requirements="requirements.txt")
    finally:
        requirements.unlink()
    fit = step(home, result.execution_id)
    assert fit["StepStatus"] == "Failed"
    assert "requirements.txt needs what this machine lacks, and nothing is installed from the network: not-a-package-anywhere==1.0 (not installed)" in fit["FailureReason"]


def test_the_sdks_own_environment_script_logged_the_contract_the_script_saw(home: Home) -> None:
    result = run(home)
    assert result.status == "Succeeded", result.failure_reason
    log = Path(step(home, result.execution_id)["LogPath"]).read_text()
    assert "SM_ENTRY_SCRIPT=train.py" in log and "SM_CURRENT_HOST=algo-1" in log and "SM_CHANNELS=['train', 'code', 'sm_drivers']" in log
    assert '/opt/ml/input/data/train\n' in log.split("SM_CHANNEL_TRAIN=", 1)[1].split("SM_CHANNEL_CODE", 1)[0] + "\n"
    assert 'SM_HPS={"C": 0.5, "max_iter": 200, "min_auc": 0.5}' in log
    assert "train.py --C 0.5 --max_iter 200 --min_auc 0.5" in log  # the basic script driver's command
