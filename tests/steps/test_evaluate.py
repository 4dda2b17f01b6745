"""steps/evaluate.py: metrics on the real test split, and archives it must refuse."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from steps import evaluate


def run(model_dir: Path, test_dir: Path, out: Path) -> int:
    return evaluate.main(["--model-dir", str(model_dir), "--test-dir", str(test_dir), "--output-dir", str(out)])


def test_evaluation_report_shape_and_quality(model_dir: Path, preprocessed: Path, tmp_path: Path) -> None:
    assert run(model_dir, preprocessed / "test", tmp_path) == 0
    report = json.loads((tmp_path / "evaluation.json").read_text())
    metrics = report["binary_classification_metrics"]
    for name in ("auc", "accuracy", "precision", "recall", "f1"):
        assert set(metrics[name]) == {"value", "standard_deviation"}, name
        assert 0 <= metrics[name]["value"] <= 1, name
    assert 0.74 < metrics["auc"]["value"] < 0.85  # what XGBoost reaches on this data
    matrix = metrics["confusion_matrix"]
    assert sum(matrix[a][b] for a in "01" for b in "01") == report["test_rows"] == 4500
    assert matrix["1"]["0"] + matrix["1"]["1"] == report["positives"]
    tp, fp = matrix["1"]["1"], matrix["0"]["1"]
    assert metrics["precision"]["value"] == pytest.approx(tp / (tp + fp), abs=1e-6)
    roc = metrics["receiver_operating_characteristic_curve"]
    assert len(roc["false_positive_rates"]) == len(roc["true_positive_rates"]) <= 101


def test_metrics_against_hand_computed_values() -> None:
    import numpy as np

    labels = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.6, 0.4, 0.8, 0.9])
    metrics = evaluate.binary_classification_metrics(labels, scores, 0.5)
    assert metrics["confusion_matrix"] == {"0": {"0": 1, "1": 1}, "1": {"0": 1, "1": 2}}
    assert metrics["accuracy"]["value"] == 0.6
    assert metrics["precision"]["value"] == pytest.approx(2 / 3, abs=1e-6)
    assert metrics["recall"]["value"] == pytest.approx(2 / 3, abs=1e-6)
    assert metrics["auc"]["value"] == pytest.approx(5 / 6, abs=1e-6)


def make_archive(path: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path / "model.tar.gz", "w:gz") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file_entry(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def test_archive_escaping_the_target_is_refused(tmp_path: Path, preprocessed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = make_archive(tmp_path / "m", [file_entry("../../evil.txt")])
    assert run(model, preprocessed / "test", tmp_path / "out") == 2
    assert "would be written outside" in capsys.readouterr().err
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_absolute_entry_is_refused(tmp_path: Path) -> None:
    model = make_archive(tmp_path / "m", [file_entry("/tmp/evil-absolute.txt")])
    with pytest.raises(evaluate.EvaluationError, match="outside"):
        evaluate.safe_extract(model / "model.tar.gz", tmp_path / "x")


def test_links_are_refused(tmp_path: Path) -> None:
    link = tarfile.TarInfo("xgboost-model")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    model = make_archive(tmp_path / "m", [(link, None)])
    with pytest.raises(evaluate.EvaluationError, match="link or special file"):
        evaluate.safe_extract(model / "model.tar.gz", tmp_path / "x")
    assert not (tmp_path / "x" / "xgboost-model").exists()


def test_archive_without_model_file(tmp_path: Path, preprocessed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = make_archive(tmp_path / "m", [file_entry("model.bin")])
    assert run(model, preprocessed / "test", tmp_path / "out") == 2
    assert "holds no xgboost-model (it holds: model.bin)" in capsys.readouterr().err


def test_model_file_that_is_not_xgboost(tmp_path: Path, preprocessed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = make_archive(tmp_path / "m", [file_entry("xgboost-model", b"\x80\x04pickled?")])
    assert run(model, preprocessed / "test", tmp_path / "out") == 2
    assert "xgboost-model is a pickle but not of an XGBoost Booster (pickle data was truncated); refused" in capsys.readouterr().err
    assert not (tmp_path / "out" / "evaluation.json").exists()


def test_not_a_tar_file(tmp_path: Path, preprocessed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.tar.gz").write_bytes(b"not a tarball")
    assert run(tmp_path / "m", preprocessed / "test", tmp_path / "out") == 2
    assert "not a readable tar archive" in capsys.readouterr().err


def test_feature_count_mismatch(model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "test.csv").write_text("Label,a,b\n0,1,2\n1,3,4\n")
    assert run(model_dir, tmp_path / "t", tmp_path / "out") == 2
    assert "test set has 2 feature columns; the model expects 23" in capsys.readouterr().err


def test_monitoring_baseline_is_the_models_output_then_the_features(evaluated: Path, preprocessed: Path) -> None:
    import pandas as pd

    from steps.preprocess import FEATURES

    baseline = pd.read_csv(evaluated / "baseline" / "baseline.csv")
    train = pd.read_csv(preprocessed / "train" / "train.csv", header=None)
    assert list(baseline.columns) == ["prediction", *FEATURES]
    assert len(baseline) == len(train) == 21000
    assert baseline["prediction"].between(0, 1).all()
    assert (baseline.iloc[:, 1:].to_numpy() == train.iloc[:, 1:].to_numpy()).all()  # features copied as they were
    report = json.loads((evaluated / "evaluation" / "evaluation.json").read_text())
    assert report["baseline_rows"] == 21000


def test_predictions_are_the_model_quality_baselines_dataset(model_dir: Path, preprocessed: Path, tmp_path: Path) -> None:
    """label,probability per test row: the model-quality baseline made from them has the
    evaluation's own confusion matrix and AUC."""
    import pandas as pd

    from pipelines.monitor.job.model_quality import analysis as model_quality

    args = ["--model-dir", str(model_dir), "--test-dir", str(preprocessed / "test"), "--output-dir", str(tmp_path), "--predictions-dir", str(tmp_path / "predictions")]
    assert evaluate.main(args) == 0
    rows = pd.read_csv(tmp_path / "predictions" / "predictions.csv")
    assert list(rows.columns) == ["label", "probability"] and len(rows) == 4500 and not list(tmp_path.joinpath("predictions").glob(".*"))
    report = json.loads((tmp_path / "evaluation.json").read_text())["binary_classification_metrics"]
    model_quality.baseline(tmp_path / "predictions", tmp_path / "quality", "probability", "label")
    measured = json.loads((tmp_path / "quality" / "statistics.json").read_text())["binary_classification_metrics"]
    assert measured["confusion_matrix"] == report["confusion_matrix"]
    assert round(measured["auc"]["value"], 6) == report["auc"]["value"]


def _link(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = "/etc/passwd"
    return info, None


HOSTILE = {
    "escaping": [file_entry("../../evil.txt")],
    "absolute": [file_entry("/tmp/evil-absolute.txt")],
    "link": [_link("xgboost-model")],
    "no model": [file_entry("model.bin")],
    "a pickle of something else": [file_entry("xgboost-model", b"\x80\x04pickled?")],
    "not a model": [file_entry("xgboost-model", b"{not json")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_job_scripts_reader_refuses_what_the_librarys_refuses(case: str, tmp_path: Path) -> None:
    """The Evaluate step runs alone, so it carries its own archive reader; it refuses every archive
    the library's one reader (``pipelines.core.model_archive``) refuses, before writing anything."""
    from pipelines.core import model_archive

    folder = make_archive(tmp_path / "m", HOSTILE[case])
    with pytest.raises(model_archive.ArchiveError):
        model_archive.load_booster(model_archive.read_model(folder / "model.tar.gz"), "model")
    with pytest.raises(evaluate.EvaluationError):
        evaluate.load_model(folder, tmp_path / "x")
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil-absolute.txt").exists()


def test_the_job_script_and_the_library_read_the_same_model_and_serve_the_same_rounds(model_dir: Path, tmp_path: Path) -> None:
    from pipelines.core import model_archive

    ours = evaluate.load_model(model_dir, tmp_path / "x")
    library = model_archive.load_booster(model_archive.read_model(model_dir / "model.tar.gz"), "model")
    assert bytes(ours.save_raw("json")) == bytes(library.save_raw("json"))
    assert evaluate.served_iterations(ours) == model_archive.served_iterations(library) == (0, 0)  # every round
    for booster in (ours, library):
        booster.set_attr(best_ntree_limit="3")  # what an early-stopped training writes
    assert evaluate.served_iterations(ours) == model_archive.served_iterations(library) == (0, 3)
