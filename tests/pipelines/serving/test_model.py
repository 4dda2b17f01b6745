"""Loading model.tar.gz safely, and the payloads the built-in XGBoost container takes."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from pipelines.serving.model import ModelLoadError, PayloadError, Predictor, read_model_bytes


def archive(path: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def entry(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = "") -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else None


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([entry("../escape")], "would leave the model directory"),
        ([entry("/etc/evil")], "would leave the model directory"),
        ([entry("xgboost-model", kind=tarfile.SYMTYPE, link="/etc/passwd")], "is a link or special file"),
        ([entry("model", kind=tarfile.LNKTYPE, link="other")], "is a link or special file"),
        ([entry("weights.bin")], "holds no xgboost-model"),
    ],
)
def test_unsafe_or_incomplete_archives_are_refused(tmp_path: Path, entries: list, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        read_model_bytes(archive(tmp_path / "model.tar.gz", entries))


def test_a_pickle_is_not_a_model(tmp_path: Path) -> None:
    import pickle

    path = archive(tmp_path / "model.tar.gz", [entry("xgboost-model", pickle.dumps({"not": "a booster"}))])
    with pytest.raises(ModelLoadError, match="is not an XGBoost model"):
        Predictor.load(path)


@pytest.fixture(scope="module")
def predictor(model_dir: Path) -> Predictor:
    return Predictor.load(model_dir / "model.tar.gz")


ROW = "0.1,0.2,20000,2,2,1,24,2,2,-1,-1,-2,-2,3913,3102,689,0,0,0,689,0,0,0"


def test_csv_one_or_many_rows_and_json_forms(predictor: Predictor) -> None:
    one = predictor.parse(ROW.encode(), "text/csv")
    many = predictor.parse(f"{ROW}\n{ROW}\r\n{ROW}\n".encode(), "text/csv; charset=utf-8")
    assert one.shape == (1, 23) and many.shape == (3, 23)
    values = [float(v) for v in ROW.split(",")]
    for body in (json.dumps({"instances": [values]}), json.dumps({"instances": [{"features": values}]}), json.dumps([values]), json.dumps(values)):
        assert predictor.parse(body.encode(), "application/json").shape == (1, 23)
    scores = predictor.predict(many)
    assert scores.shape == (3,) and np.all((scores > 0) & (scores < 1))
    text, kind = predictor.render(scores, "text/csv")
    assert kind == "text/csv" and len(text.decode().split("\n")) == 3
    document, kind = predictor.render(scores[:1], "application/json")
    assert kind == "application/json" and set(json.loads(document)["predictions"][0]) == {"score"}


@pytest.mark.parametrize(
    ("body", "content_type", "message", "status"),
    [
        (f"{ROW}\n1,2,3", "text/csv", "row 2: 3 values; the model takes 23 features", 400),
        (ROW.replace("20000", "twenty"), "text/csv", "row 1, column 3: 'twenty' is not a number", 400),
        ("", "text/csv", "the body holds no rows", 400),
        ('{"instances": [[1, 2]]}', "application/json", "row 1: 2 values; the model takes 23 features", 400),
        ('{"instances": [[' + ",".join(["1"] * 22) + ', "x"]]}', "application/json", "row 1, column 23: 'x' is not a number", 400),
        ("{broken", "application/json", "the body is not JSON", 400),
        (ROW, "application/x-npy", "Content type application/x-npy is not supported", 415),
        (ROW.replace("20000", "inf"), "text/csv", "row 1, column 3: inf is infinite or too large for a 32-bit float", 400),
        (f"{ROW}\n" + ROW.replace("20000", "-Infinity"), "text/csv", "row 2, column 3: -Infinity is infinite", 400),
        (ROW.replace("20000", "1e39"), "text/csv", "row 1, column 3: 1e39 is infinite or too large for a 32-bit float", 400),
        ('{"instances": [[' + ",".join(["1"] * 22) + ", NaN]]}", "application/json", "holds NaN, which is not JSON (RFC 8259); send null for a missing value", 400),
        ('{"instances": [[' + ",".join(["1"] * 22) + ", Infinity]]}", "application/json", "holds Infinity, which is not JSON", 400),
        ('{"instances": [[' + ",".join(["1"] * 22) + ", 1e400]]}", "application/json", "row 1, column 23: inf is infinite", 400),
        ("[" * 100_000 + "]" * 100_000, "application/json", "the body nests JSON too deeply", 400),
    ],
)
def test_bad_payloads_name_the_row_and_column(predictor: Predictor, body: str, content_type: str, message: str, status: int) -> None:
    with pytest.raises(PayloadError) as exc:
        predictor.parse(body.encode(), content_type)
    assert message in str(exc.value) and exc.value.status == status


def test_missing_values_are_scored_as_the_built_in_container_scores_them(predictor: Predictor) -> None:
    """The container turns an empty CSV value into nan and XGBoost treats nan as missing: so do we
    (aws/sagemaker-xgboost-container encoder._clean_csv_string)."""
    values = ROW.split(",")
    empty = predictor.parse(",".join([""] + values[1:]).encode(), "text/csv")
    spelled = predictor.parse(",".join(["nan"] + values[1:]).encode(), "text/csv")
    as_null = predictor.parse(json.dumps([None] + [float(v) for v in values[1:]]).encode(), "application/json")
    assert np.isnan(empty[0, 0]) and np.isnan(spelled[0, 0]) and np.isnan(as_null[0, 0])
    scores = predictor.predict(np.concatenate([empty, spelled, as_null]))
    assert np.all(np.isfinite(scores)) and scores[0] == scores[1] == scores[2]
