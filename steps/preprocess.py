"""Preprocess: validate the raw credit-default CSV and split it for training and monitoring.

Input: one CSV file (or a directory holding exactly one) with a header, in either layout:
- the project's: ``Label`` then the 23 features;
- UCI's original: ``ID``, the 23 features, and ``default payment next month`` as the label.

Output (each a directory under ``--output-dir``):
- ``train/train.csv``, ``validation/validation.csv``: no header, label first (what the
  built-in XGBoost algorithm reads);
- ``test/test.csv``: header, label first (its header names the features for later steps);
- ``report/preprocess_report.json``: row counts, dropped rows and why, split sizes.

The features are passed through untouched: clients send the same raw 23 values to the
endpoint, and trees need no scaling.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

logger = logging.getLogger("preprocess")

LABEL = "Label"
FEATURES = (
    "PAY_AMT1", "BILL_AMT1", "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE",
    "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6",
    "BILL_AMT2", "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6",
    "PAY_AMT2", "PAY_AMT3", "PAY_AMT4", "PAY_AMT5", "PAY_AMT6",
)  # fmt: skip
COLUMNS = (LABEL, *FEATURES)
UCI_LABEL = "default payment next month"
UCI_ID = "ID"


class InputDataError(ValueError):
    """The input does not fit: the message names the file, the columns or the rows."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", default="/opt/ml/processing/input", help="CSV file, or a directory holding one")
    parser.add_argument("--output-dir", default="/opt/ml/processing", help="where train/ validation/ test/ report/ go")
    parser.add_argument("--train-ratio", type=float, default=0.7)
    parser.add_argument("--validation-ratio", type=float, default=0.15)
    parser.add_argument("--test-ratio", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--max-missing-fraction",
        type=float,
        default=0.05,
        help="rows with a missing value are dropped and reported; above this share of rows it is an error",
    )
    args = parser.parse_args(argv)
    ratios = (args.train_ratio, args.validation_ratio, args.test_ratio)
    if any(not 0 < r < 1 for r in ratios) or abs(sum(ratios) - 1) > 1e-6:
        parser.error(f"--train-ratio, --validation-ratio and --test-ratio must each be in (0, 1) and sum to 1, got {ratios}")
    if not 0 <= args.max_missing_fraction <= 1:
        parser.error("--max-missing-fraction must be within [0, 1]")
    return args


def find_input_file(path: Path) -> Path:
    """The CSV to read: ``path`` itself, or the only ``.csv`` file under the directory ``path``."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise InputDataError(f"input {path} does not exist")
    candidates = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")
    if len(candidates) != 1:
        found = ", ".join(str(p.relative_to(path)) for p in candidates) or "none"
        raise InputDataError(f"input directory {path} must hold exactly one .csv file; found: {found}")
    return candidates[0]


def read_raw(path: Path) -> pd.DataFrame:
    """Read the CSV with every column as text, so that validation can name bad cells."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(f"{path}: not a readable CSV file: {exc}") from exc


def normalize_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Map either accepted layout to ``Label`` + the 23 features, in the project's order."""
    columns = [str(c).strip() for c in frame.columns]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise InputDataError(f"duplicate columns: {', '.join(duplicated)}")
    frame = frame.set_axis(columns, axis=1)
    if UCI_LABEL in columns or UCI_ID in columns:
        frame = frame.rename(columns={UCI_LABEL: LABEL}).drop(columns=[UCI_ID], errors="ignore")
        layout = f"UCI original layout ({UCI_ID!r}, {UCI_LABEL!r})"
    else:
        layout = f"project layout ({LABEL!r} first)"
    missing = [c for c in COLUMNS if c not in frame.columns]
    unexpected = [c for c in frame.columns if c not in COLUMNS]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing columns: {', '.join(missing)}")
        if unexpected:
            parts.append(f"unexpected columns: {', '.join(unexpected)}")
        raise InputDataError(
            f"input does not fit the {layout}: {'; '.join(parts)}. "
            f"Expected {LABEL} and {', '.join(FEATURES)} (or UCI's {UCI_ID}, the features and {UCI_LABEL!r})"
        )
    return frame.loc[:, list(COLUMNS)]


def to_numeric(frame: pd.DataFrame, max_missing_fraction: float) -> tuple[pd.DataFrame, dict]:
    """Convert every column to numbers.

    Empty cells (and NA/NaN/null) are missing: those rows are dropped and counted. Any other
    value that is not a number is an error naming its row (1-based, as in the file with its
    header on line 1) and column. The label must be 0 or 1.
    """
    missing_tokens = {"", "na", "nan", "null", "none"}
    stripped = frame.apply(lambda col: col.str.strip())
    is_missing = stripped.apply(lambda col: col.str.lower().isin(missing_tokens))
    numeric = stripped.mask(is_missing).apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & ~is_missing
    if bad.any().any():
        problems = []
        for column in frame.columns:
            for row in bad.index[bad[column]][:3]:
                problems.append(f"line {row + 2}, column {column}: {frame.at[row, column]!r}")
        total = int(bad.sum().sum())
        raise InputDataError(f"{total} value(s) are not numbers: {'; '.join(problems[:5])}")
    labels = numeric[LABEL].dropna()
    not_binary = labels.index[~labels.isin([0, 1])]
    if len(not_binary):
        rows = ", ".join(f"line {r + 2} ({frame.at[r, LABEL]!r})" for r in not_binary[:5])
        raise InputDataError(f"{LABEL} must be 0 or 1; {len(not_binary)} row(s) are not: {rows}")

    rows_missing = is_missing.any(axis=1)
    dropped = int(rows_missing.sum())
    by_column = {c: int(n) for c, n in is_missing.sum().items() if n}
    if len(frame) and dropped / len(frame) > max_missing_fraction:
        raise InputDataError(
            f"{dropped} of {len(frame)} rows have missing values (by column: {by_column}), "
            f"more than --max-missing-fraction {max_missing_fraction}"
        )
    if dropped:
        logger.warning("dropped %d row(s) with missing values (by column: %s)", dropped, by_column)
    clean = numeric.loc[~rows_missing].reset_index(drop=True)
    # Columns whose every value is a whole number are written as integers ("20000", not
    # "20000.0"), the way clients send them; the others stay fractional.
    for column in clean.columns:
        values = clean[column].to_numpy()
        if np.all(np.mod(values, 1) == 0):
            clean[column] = values.astype(np.int64)
    report = {"rows_read": len(frame), "rows_dropped_missing": dropped, "missing_by_column": by_column}
    return clean, report


def split(frame: pd.DataFrame, ratios: tuple[float, float, float], seed: int) -> dict[str, pd.DataFrame]:
    """Stratified train/validation/test split on the label, reproducible for a seed."""
    from sklearn.model_selection import train_test_split

    counts = frame[LABEL].value_counts()
    if len(counts) < 2 or counts.min() < 3:
        raise InputDataError(f"need at least 3 rows of each label to stratify; have {counts.to_dict()}")
    train_ratio, validation_ratio, test_ratio = ratios
    train, rest = train_test_split(frame, train_size=train_ratio, stratify=frame[LABEL], random_state=seed)
    validation, test = train_test_split(
        rest,
        train_size=validation_ratio / (validation_ratio + test_ratio),
        stratify=rest[LABEL],
        random_state=seed,
    )
    return {"train": train, "validation": validation, "test": test}


def plain_decimals(frame: pd.DataFrame) -> pd.DataFrame:
    """Fractional columns written as plain decimals ("0.0000667", never "6.67e-05").

    Only the notation changes, never the value: clients send plain decimals, and Model Monitor
    (Deequ) types a value in exponent notation as text, not as a number.
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind == "f":
            out[column] = [np.format_float_positional(v, trim="-") for v in out[column].to_numpy()]
    return out


def write_outputs(parts: dict[str, pd.DataFrame], report: dict, output_dir: Path) -> None:
    """Write every output into a staging directory, then move each into place.

    A failure part-way leaves no partial output behind.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".staging-") as staging_name:
        staging = Path(staging_name)
        files = {
            "train/train.csv": (parts["train"], False),
            "validation/validation.csv": (parts["validation"], False),
            "test/test.csv": (parts["test"], True),
        }
        for relative, (frame, header) in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            plain_decimals(frame).to_csv(target, header=header, index=False, lineterminator="\n")
        (staging / "report").mkdir()
        (staging / "report" / "preprocess_report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        for relative in (*files, "report/preprocess_report.json"):
            final = output_dir / relative
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, final)


def run(args: argparse.Namespace) -> dict:
    source = find_input_file(Path(args.input))
    logger.info("reading %s", source)
    frame = normalize_columns(read_raw(source))
    clean, report = to_numeric(frame, args.max_missing_fraction)
    parts = split(clean, (args.train_ratio, args.validation_ratio, args.test_ratio), args.seed)
    report.update(
        {
            "input": source.name,
            "rows_used": len(clean),
            "seed": args.seed,
            "splits": {
                name: {"rows": len(part), "positives": int(part[LABEL].sum()), "positive_rate": round(float(part[LABEL].mean()), 6)}
                for name, part in parts.items()
            },
            "columns": list(COLUMNS),
        }
    )
    write_outputs(parts, report, Path(args.output_dir))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    try:
        report = run(args)
    except InputDataError as exc:
        logger.error("%s", exc)
        print(f"preprocess: input error: {exc}", file=sys.stderr)
        return 2
    sizes = ", ".join(f"{k} {v['rows']}" for k, v in report["splits"].items())
    logger.info("read %d rows, dropped %d, wrote %s", report["rows_read"], report["rows_dropped_missing"], sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
