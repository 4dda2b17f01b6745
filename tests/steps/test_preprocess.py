"""steps/preprocess.py on the real data and on inputs that do not fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from steps import preprocess
from steps.preprocess import COLUMNS, FEATURES, LABEL

UCI_ORDER = (
    "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6",
    "BILL_AMT1", "BILL_AMT2", "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6",
    "PAY_AMT1", "PAY_AMT2", "PAY_AMT3", "PAY_AMT4", "PAY_AMT5", "PAY_AMT6",
)  # fmt: skip


def sorted_rows(values: np.ndarray) -> np.ndarray:
    return values[np.lexsort(values.T[::-1])]


def run(input_path: Path, out: Path, *extra: str) -> int:
    return preprocess.main(["--input", str(input_path), "--output-dir", str(out), *extra])


def sample(raw_csv: Path, rows: int = 600) -> pd.DataFrame:
    return pd.read_csv(raw_csv, dtype=str, nrows=rows)


def test_real_data_split_is_stratified_and_complete(preprocessed: Path, raw_csv: Path) -> None:
    raw = pd.read_csv(raw_csv)
    parts = {
        "train": pd.read_csv(preprocessed / "train" / "train.csv", header=None),
        "validation": pd.read_csv(preprocessed / "validation" / "validation.csv", header=None),
        "test": pd.read_csv(preprocessed / "test" / "test.csv"),
    }
    assert {name: len(frame) for name, frame in parts.items()} == {"train": 21000, "validation": 4500, "test": 4500}
    overall = raw[LABEL].mean()
    for name, frame in parts.items():
        assert frame.shape[1] == 24, name
        assert abs(frame.iloc[:, 0].mean() - overall) < 0.002, f"{name} is not stratified"
    # Every input row lands in exactly one split, unchanged.
    together = pd.concat([parts["train"].set_axis(COLUMNS, axis=1), parts["validation"].set_axis(COLUMNS, axis=1), parts["test"]])
    assert np.array_equal(sorted_rows(together.to_numpy(float)), sorted_rows(raw.to_numpy(float)))


def test_headers_and_column_order(preprocessed: Path) -> None:
    test_header = (preprocessed / "test" / "test.csv").read_text().splitlines()[0]
    assert test_header.split(",") == list(COLUMNS)
    first_train_value = (preprocessed / "train" / "train.csv").read_text().split(",", 1)[0]
    assert first_train_value in {"0", "1"}  # no header, label first
    assert sorted(p.name for p in preprocessed.iterdir()) == ["report", "test", "train", "validation"]


def test_features_are_not_transformed(preprocessed: Path, raw_csv: Path) -> None:
    raw = pd.read_csv(raw_csv)
    test = pd.read_csv(preprocessed / "test" / "test.csv")
    for column in FEATURES:
        assert test[column].min() >= raw[column].min() and test[column].max() <= raw[column].max()
    # Whole-number columns are written as integers, as clients send them.
    assert "." not in (preprocessed / "test" / "test.csv").read_text().splitlines()[1].split(",")[3]


def test_report(preprocessed: Path) -> None:
    report = json.loads((preprocessed / "report" / "preprocess_report.json").read_text())
    assert report["rows_read"] == 30000 and report["rows_dropped_missing"] == 0
    assert report["splits"]["train"]["rows"] == 21000
    assert report["columns"] == list(COLUMNS)


def test_same_seed_same_split_other_seed_other_split(raw_csv: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    sample(raw_csv, 2000).to_csv(small, index=False)
    assert run(small, tmp_path / "a") == 0
    assert run(small, tmp_path / "b") == 0
    assert run(small, tmp_path / "c", "--seed", "7") == 0
    a, b, c = ((tmp_path / d / "train" / "train.csv").read_bytes() for d in "abc")
    assert a == b and a != c


def test_ratios_are_arguments(raw_csv: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    sample(raw_csv, 1000).to_csv(small, index=False)
    assert run(small, tmp_path / "out", "--train-ratio", "0.8", "--validation-ratio", "0.1", "--test-ratio", "0.1") == 0
    report = json.loads((tmp_path / "out" / "report" / "preprocess_report.json").read_text())
    assert [report["splits"][s]["rows"] for s in ("train", "validation", "test")] == [800, 100, 100]


def test_bad_ratios_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        preprocess.parse_args(["--train-ratio", "0.9", "--validation-ratio", "0.1", "--test-ratio", "0.1"])
    assert exc.value.code == 2
    assert "sum to 1" in capsys.readouterr().err


def test_uci_original_layout_is_accepted(raw_csv: Path, tmp_path: Path) -> None:
    frame = sample(raw_csv)
    uci = frame.rename(columns={LABEL: "default payment next month"})
    uci.insert(0, "ID", [str(i + 1) for i in range(len(uci))])
    uci = uci[["ID", *UCI_ORDER, "default payment next month"]]
    uci.to_csv(tmp_path / "uci.csv", index=False)
    frame.to_csv(tmp_path / "ours.csv", index=False)
    assert run(tmp_path / "uci.csv", tmp_path / "from-uci") == 0
    assert run(tmp_path / "ours.csv", tmp_path / "from-ours") == 0
    for name in ("train/train.csv", "validation/validation.csv", "test/test.csv"):
        assert (tmp_path / "from-uci" / name).read_bytes() == (tmp_path / "from-ours" / name).read_bytes()


def test_input_may_be_a_directory_with_one_csv(raw_csv: Path, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    sample(raw_csv).to_csv(tmp_path / "in" / "data.csv", index=False)
    assert run(tmp_path / "in", tmp_path / "out") == 0
    sample(raw_csv).to_csv(tmp_path / "in" / "other.csv", index=False)
    with pytest.raises(preprocess.InputDataError, match="exactly one .csv file; found: data.csv, other.csv"):
        preprocess.find_input_file(tmp_path / "in")


def test_missing_and_unexpected_columns_are_named(raw_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = sample(raw_csv).drop(columns=["AGE", "SEX"]).assign(EXTRA="1")
    frame.to_csv(tmp_path / "bad.csv", index=False)
    assert run(tmp_path / "bad.csv", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "missing columns: SEX, AGE" in err and "unexpected columns: EXTRA" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.csv"))


def test_uci_layout_with_a_missing_column_says_which(raw_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = sample(raw_csv).rename(columns={LABEL: "default payment next month"}).drop(columns=["PAY_6"])
    frame.to_csv(tmp_path / "bad.csv", index=False)
    assert run(tmp_path / "bad.csv", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "UCI original layout" in err and "missing columns: PAY_6" in err


def test_non_numeric_value_names_line_and_column(raw_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = sample(raw_csv)
    frame.loc[9, "AGE"] = "forty"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    assert run(tmp_path / "bad.csv", tmp_path / "out") == 2
    assert "line 11, column AGE: 'forty'" in capsys.readouterr().err


def test_label_must_be_binary(raw_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = sample(raw_csv)
    frame.loc[0, LABEL] = "2"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    assert run(tmp_path / "bad.csv", tmp_path / "out") == 2
    assert "Label must be 0 or 1; 1 row(s) are not: line 2 ('2')" in capsys.readouterr().err


def test_missing_values_are_dropped_counted_and_reported(raw_csv: Path, tmp_path: Path) -> None:
    frame = sample(raw_csv, 1000)
    frame.loc[[3, 4], "AGE"] = ""
    frame.loc[5, "LIMIT_BAL"] = "NA"
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    assert run(tmp_path / "gaps.csv", tmp_path / "out") == 0
    report = json.loads((tmp_path / "out" / "report" / "preprocess_report.json").read_text())
    assert report["rows_dropped_missing"] == 3
    assert report["missing_by_column"] == {"AGE": 2, "LIMIT_BAL": 1}
    assert report["rows_used"] == 997
    assert sum(s["rows"] for s in report["splits"].values()) == 997


def test_too_many_missing_values_is_an_error(raw_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = sample(raw_csv, 100)
    frame.loc[:9, "AGE"] = ""
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    assert run(tmp_path / "gaps.csv", tmp_path / "out", "--max-missing-fraction", "0.05") == 2
    assert "10 of 100 rows have missing values" in capsys.readouterr().err


def test_failure_leaves_no_partial_output(raw_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sample(raw_csv).to_csv(tmp_path / "in.csv", index=False)
    calls = {"n": 0}
    real = pd.DataFrame.to_csv

    def failing_to_csv(self: pd.DataFrame, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing_to_csv)
    with pytest.raises(OSError, match="disk full"):
        run(tmp_path / "in.csv", tmp_path / "out")
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []


def test_empty_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.csv").write_text("")
    assert run(tmp_path / "empty.csv", tmp_path / "out") == 2
    assert "not a readable CSV file" in capsys.readouterr().err


def test_missing_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path / "nope.csv", tmp_path / "out") == 2
    assert "nope.csv does not exist" in capsys.readouterr().err
