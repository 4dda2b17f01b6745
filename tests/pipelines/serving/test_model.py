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

    # A pickled Booster loads (the 0.90-x to 1.2-x containers write one); a pickle of anything else is refused.
    path = archive(tmp_path / "model.tar.gz", [entry("xgboost-model", pickle.dumps({"not": "a booster"}))])
    with pytest.raises(ModelLoadError, match="xgboost-model is a pickle of dict, not of an XGBoost Booster; refused"):
        Predictor.load(path)


@pytest.fixture(scope="module")
def predictor(model_dir: Path) -> Predictor:
    return Predictor.load(model_dir / "model.tar.gz")


ROW = "0.1,0.2,20000,2,2,1,24,2,2,-1,-1,-2,-2,3913,3102,689,0,0,0,689,0,0,0"


def test_csv_and_libsvm_rows_and_the_answers_the_container_gives(predictor: Predictor) -> None:
    one = predictor.parse(ROW.encode(), "text/csv")
    many = predictor.parse(f"{ROW}\n{ROW}\r\n{ROW}\n".encode(), "text/csv; charset=utf-8")
    assert one.shape == (1, 23) and many.shape == (3, 23)
    values = [float(v) for v in ROW.split(",")]
    libsvm = " ".join(f"{i + 1}:{v}" for i, v in enumerate(values) if v)  # 1-based, zeros left out
    for kind in ("text/libsvm", "text/x-libsvm"):
        sparse = predictor.parse(f"0 {libsvm}".encode(), kind)  # a leading label is skipped, as the container does
        assert sparse.shape == (1, 23) and np.isnan(sparse[0, values.index(0.0)])
    scores = predictor.predict(many)
    assert scores.shape == (3,) and np.all((scores > 0) & (scores < 1))
    text, kind = predictor.render(scores, "text/csv")
    assert kind == "text/csv; charset=utf-8" and text.decode().split("\n") == [repr(float(s)) for s in scores]
    assert predictor.render(scores, "")[1] == predictor.render(scores, "*/*")[1] == "text/csv; charset=utf-8"
    document, kind = predictor.render(scores[:1], "application/json")
    assert kind == "application/json" and json.loads(document) == {"predictions": [{"score": float(scores[0])}]}


@pytest.mark.parametrize(
    ("body", "content_type", "message", "status"),
    [
        (f"{ROW}\n1,2,3", "text/csv", "row 2: 3 values; the model takes 23 features", 400),
        (ROW.replace("20000", "twenty"), "text/csv", "row 1, column 3: 'twenty' is not a number", 415),
        ("", "text/csv", "the body holds no rows", 415),
        (ROW, "text/csv; label_size=2", "Optional parameter label_size must be equal to 1", 415),
        ('{"instances": [[1, 2]]}', "application/json", "Content-type application/json is not supported.", 415),
        (ROW, "application/x-npy", "Content-type application/x-npy is not supported.", 415),
        (ROW, "application/x-recordio-protobuf", "served by SageMaker's XGBoost container but not by the local twin", 415),
        ("1:1 30:2", "text/libsvm", "Feature size of libsvm inference data 30 is larger than feature size of trained model 23.", 400),
        ("1:one", "text/libsvm", "row 1: '1:one' is not index:value", 415),
        # The container builds scipy's csr_matrix from the indexes, which refuses a negative one.
        ("1:1 2:2\n0 -1:0", "text/libsvm", "Loading libsvm data failed with Exception, please ensure data is in libsvm format: row 2: feature index -1 is negative", 415),
        (ROW.replace("20000", "inf"), "text/csv", "row 1, column 3: inf is infinite or too large for a 32-bit float", 415),
        (f"{ROW}\n" + ROW.replace("20000", "-Infinity"), "text/csv", "row 2, column 3: -Infinity is infinite", 415),
        (ROW.replace("20000", "1e39"), "text/csv", "row 1, column 3: 1e39 is infinite or too large for a 32-bit float", 415),
    ],
)
def test_bad_payloads_carry_the_containers_status_and_name_the_row_and_column(predictor: Predictor, body: str, content_type: str, message: str, status: int) -> None:
    with pytest.raises(PayloadError) as exc:
        predictor.parse(body.encode(), content_type)
    assert message in str(exc.value) and exc.value.status == status


@pytest.mark.parametrize(
    ("accept", "message", "status"),
    [
        ("application/jsonlines", "Content type application/jsonlines is not supported by this framework.", 500),
        ("application/x-recordio-protobuf", "Content type application/x-recordio-protobuf is not supported by this framework.", 500),
        ("text/plain", "Accept type text/plain is not supported. Please use supported accept types:", 406),
        ("text/csv, application/json", "Accept type text/csv, application/json is not supported.", 406),  # the container takes the header whole
    ],
)
def test_accept_types_as_the_container_answers_them(predictor: Predictor, accept: str, message: str, status: int) -> None:
    """Algorithm mode (no SAGEMAKER_INFERENCE_OUTPUT): JSON Lines and RecordIO pass the container's
    accept check, then its encoder has none for them: a 500, as on SageMaker."""
    with pytest.raises(PayloadError) as exc:
        predictor.render(np.array([0.5]), accept)
    assert message in str(exc.value) and exc.value.status == status


def test_missing_values_are_scored_as_the_built_in_container_scores_them(predictor: Predictor) -> None:
    """The container turns an empty CSV value into nan and XGBoost treats nan as missing: so do we
    (aws/sagemaker-xgboost-container encoder._clean_csv_string)."""
    values = ROW.split(",")
    empty = predictor.parse(",".join([""] + values[1:]).encode(), "text/csv")
    spelled = predictor.parse(",".join(["nan"] + values[1:]).encode(), "text/csv")
    sparse = predictor.parse(" ".join(f"{i + 1}:{v}" for i, v in enumerate(values) if i > 0).encode(), "text/libsvm")
    assert np.isnan(empty[0, 0]) and np.isnan(spelled[0, 0]) and np.isnan(sparse[0, 0])
    scores = predictor.predict(np.concatenate([empty, spelled, sparse]))
    assert np.all(np.isfinite(scores)) and scores[0] == scores[1] == scores[2]


def test_scores_are_inplace_predicts_bit_for_bit(predictor: Predictor, preprocessed: Path) -> None:
    """The C call the server makes gives what XGBoost's own ``inplace_predict`` gives: one row,
    a batch, missing values, rows given in another order or type, up to the served round."""
    import pandas as pd

    rows = pd.read_csv(preprocessed / "test" / "test.csv").iloc[:200, 1:].to_numpy(dtype=np.float32)
    rows[::7, 3] = np.nan
    own = predictor.booster.inplace_predict(rows, iteration_range=predictor.iterations)
    assert np.array_equal(predictor.predict(rows), own)
    assert np.array_equal(predictor.predict(rows[:1]), own[:1])
    assert np.array_equal(predictor.predict(np.asfortranarray(rows.astype(np.float64))), own)  # converted as XGBoost converts it
    for limit in ("5", "17"):  # an early-stopped model, served up to its best round
        predictor.booster.set_attr(best_ntree_limit=limit)
        try:
            early = Predictor(predictor.booster, "early")
            assert early.iterations == (0, int(limit))
            assert np.array_equal(early.predict(rows), predictor.booster.inplace_predict(rows, iteration_range=early.iterations))
            assert not np.array_equal(early.predict(rows), own)
        finally:
            predictor.booster.set_attr(best_ntree_limit=None)


def test_a_multiclass_models_scores_keep_their_shape_and_a_wrong_width_is_xgboosts_error() -> None:
    import xgboost

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    booster = xgboost.train({"objective": "multi:softprob", "num_class": 3}, xgboost.DMatrix(x, label=rng.integers(0, 3, 300)), num_boost_round=3)
    predictor = Predictor(booster, "multiclass")
    assert predictor.predict(x[:5]).shape == (5, 3)
    assert np.array_equal(predictor.predict(x[:5]), booster.inplace_predict(x[:5]))
    with pytest.raises(xgboost.core.XGBoostError, match="feature"):
        predictor.predict(x[:5, :3])
