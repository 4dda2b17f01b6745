"""Evaluate: score the test split with the trained model, and write Model Monitor's baseline.

Input: ``model.tar.gz`` as the built-in XGBoost container writes it (``xgboost-model``
inside, in XGBoost's own format), ``test.csv`` (header, label first) and, optionally, the
training split (``train.csv``: no header, label first).
Output: ``evaluation.json`` with ``binary_classification_metrics``, each metric as
``{"value": ...}`` the way AWS's templates and SageMaker's model-quality reports shape them;
and, with ``--train-dir``, ``baseline.csv``: the data-quality baseline for Model Monitor. It has
a header, the model's output first (``prediction``, the probability the endpoint answers) and
the 23 features after it, exactly what a captured request and its response hold, in that order
(``output_columns_position: START``), so unchanged traffic matches the baseline column by column;
and, with ``--predictions-dir``, ``predictions.csv``: each test row's label and the model's
probability (``label,probability``), the dataset of the model-quality baseline.
The archive is extracted safely: an entry that would land outside the target directory, or a
link, is refused. The model is read with XGBoost's loader, never unpickled.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

logger = logging.getLogger("evaluate")

MODEL_ARCHIVE = "model.tar.gz"
MODEL_FILE = "xgboost-model"
REPORT_FILE = "evaluation.json"
BASELINE_FILE = "baseline.csv"
PREDICTIONS_FILE = "predictions.csv"
OUTPUT_COLUMN = "prediction"


class EvaluationError(ValueError):
    """An input the evaluation cannot use; the message names the file and the problem."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default="/opt/ml/processing/model", help=f"directory holding {MODEL_ARCHIVE}")
    parser.add_argument("--test-dir", default="/opt/ml/processing/test", help="directory holding test.csv")
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation", help=f"where {REPORT_FILE} goes")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability at or above which a row is predicted 1")
    parser.add_argument("--train-dir", default=None, help="directory holding train.csv; with it, the monitoring baseline is written")
    parser.add_argument("--baseline-dir", default="/opt/ml/processing/baseline", help=f"where {BASELINE_FILE} goes")
    parser.add_argument("--predictions-dir", default=None, help=f"where {PREDICTIONS_FILE} (label,probability of each test row) goes")
    args = parser.parse_args(argv)
    if not 0 < args.threshold < 1:
        parser.error("--threshold must be within (0, 1)")
    return args


def safe_extract(archive: Path, target: Path) -> list[str]:
    """Extract regular files and directories of ``archive`` into ``target``.

    Refuses (before writing anything) absolute paths, ``..`` escapes, links and devices.
    """
    target = target.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                destination = (target / member.name).resolve()
                if destination != target and target not in destination.parents:
                    raise EvaluationError(f"{archive}: entry {member.name!r} would be written outside {target}")
                if not (member.isfile() or member.isdir()):
                    raise EvaluationError(f"{archive}: entry {member.name!r} is a link or special file; refused")
            # The "data" filter where this Python has it (3.8.17+): the XGBoost 1.7-1 image runs
            # 3.8.13, whose extractall takes no filter; the members are checked above either way.
            tar.extractall(target, members=members, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    except tarfile.TarError as exc:
        raise EvaluationError(f"{archive}: not a readable tar archive: {exc}") from exc
    return [m.name for m in members if m.isfile()]


def load_model(model_dir: Path, workdir: Path):
    """The Booster stored in ``model_dir/model.tar.gz``."""
    import xgboost

    archive = model_dir / MODEL_ARCHIVE
    if not archive.is_file():
        raise EvaluationError(f"{archive} does not exist")
    names = safe_extract(archive, workdir)
    model_path = workdir / MODEL_FILE
    if not model_path.is_file():
        raise EvaluationError(f"{archive} holds no {MODEL_FILE} (it holds: {', '.join(names) or 'nothing'})")
    raw = model_path.read_bytes()
    if raw[:1] == b"\x80":  # a pickled Booster, as the 0.90-x to 1.2-x containers write it
        return _unpickle_booster(raw, archive)
    booster = xgboost.Booster()
    try:
        # From bytes: XGBoost tells JSON from UBJSON by content, whatever the file is named.
        booster.load_model(bytearray(raw))
    except xgboost.core.XGBoostError as exc:
        reason = str(exc).split("\n", 1)[0]
        raise EvaluationError(f"{archive}: {MODEL_FILE} is not an XGBoost model: {reason}") from exc
    return booster


def _unpickle_booster(raw: bytes, archive: Path):
    """A pickled Booster and nothing else: any global but the Booster class and bytearray is
    refused before it is looked up, so a crafted pickle cannot run code."""
    import io
    import pickle

    import xgboost

    class BoosterOnly(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) not in {("xgboost.core", "Booster"), ("builtins", "bytearray")}:
                raise pickle.UnpicklingError(f"{module}.{name} is not part of a pickled XGBoost Booster")
            return super().find_class(module, name)

    try:
        booster = BoosterOnly(io.BytesIO(raw)).load()
    except Exception as exc:  # noqa: BLE001 - whatever a damaged or hostile pickle raises
        raise EvaluationError(f"{archive}: {MODEL_FILE} is a pickle but not of an XGBoost Booster ({exc}); refused") from None
    if not isinstance(booster, xgboost.Booster):
        raise EvaluationError(f"{archive}: {MODEL_FILE} is a pickle of {type(booster).__name__}, not of an XGBoost Booster; refused")
    return booster


def served_iterations(booster) -> tuple:
    """The boosting rounds SageMaker's XGBoost container scores with, as ``iteration_range``.

    The 1.7-1 container predicts with ``ntree_limit=getattr(booster, "best_ntree_limit", 0)``
    (``serve_utils.py``); XGBoost 1.7 sets that from the model's ``best_ntree_limit`` attribute
    when it loads a model, and its training writes the attribute on every model:
    ``(best_iteration + 1) * num_parallel_tree``, so an early-stopped model is served with the
    rounds up to its best one, not with all it trained. ``(0, 0)`` (every round) without it.
    """
    import json as _json

    limit = booster.attr("best_ntree_limit")
    if not limit:
        return (0, 0)
    try:
        parameters = _json.loads(booster.save_config())["learner"]["gradient_booster"]
        parallel = int((parameters.get("gbtree") or parameters).get("gbtree_model_param", {}).get("num_parallel_tree", 1))
    except (ValueError, KeyError, TypeError):
        parallel = 1
    return (0, max(1, int(limit) // max(1, parallel)))


def load_test(test_dir: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels, features and the feature names of test.csv."""
    path = test_dir / "test.csv" if test_dir.is_dir() else test_dir
    if not path.is_file():
        raise EvaluationError(f"{path} does not exist")
    frame = pd.read_csv(path)
    if frame.shape[1] < 2 or len(frame) == 0:
        raise EvaluationError(f"{path}: expected a header, the label column first and at least one feature")
    labels = frame.iloc[:, 0].to_numpy()
    if not np.isin(labels, (0, 1)).all():
        raise EvaluationError(f"{path}: the first column ({frame.columns[0]}) must hold labels 0 or 1")
    return labels.astype(int), frame.iloc[:, 1:].to_numpy(dtype=float), [str(c) for c in frame.columns[1:]]


def write_baseline(booster, train_dir: Path, names: list[str], baseline_dir: Path) -> int:
    """The monitoring baseline: the model's output on each training row, then that row's features."""
    import xgboost

    path = train_dir / "train.csv" if train_dir.is_dir() else train_dir
    if not path.is_file():
        raise EvaluationError(f"{path} does not exist")
    raw = pd.read_csv(path, header=None, dtype=str)  # the features are copied as they were written
    if raw.shape[1] != len(names) + 1:
        raise EvaluationError(f"{path} has {raw.shape[1]} columns; expected the label and {len(names)} features")
    features = raw.iloc[:, 1:].astype(float).to_numpy()
    scores = booster.predict(xgboost.DMatrix(features), iteration_range=served_iterations(booster))
    baseline = pd.concat([pd.Series([repr(float(s)) for s in scores], name=OUTPUT_COLUMN), raw.iloc[:, 1:].set_axis(names, axis=1)], axis=1)
    baseline_dir.mkdir(parents=True, exist_ok=True)
    partial = baseline_dir / f".{BASELINE_FILE}.partial"
    baseline.to_csv(partial, index=False, lineterminator="\n")
    os.replace(partial, baseline_dir / BASELINE_FILE)
    return len(baseline)


def binary_classification_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """The metrics block of ``evaluation.json``: every metric as ``{"value": ...}``."""
    from sklearn import metrics

    predicted = (scores >= threshold).astype(int)
    tn, fp, fn, tp = metrics.confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    auc = metrics.roc_auc_score(labels, scores) if len(set(labels)) == 2 else float("nan")
    fpr, tpr, _ = metrics.roc_curve(labels, scores)
    return {
        "auc": _metric(auc),
        "accuracy": _metric(metrics.accuracy_score(labels, predicted)),
        "precision": _metric(metrics.precision_score(labels, predicted, zero_division=0)),
        "recall": _metric(metrics.recall_score(labels, predicted, zero_division=0)),
        "f1": _metric(metrics.f1_score(labels, predicted, zero_division=0)),
        "confusion_matrix": {"0": {"0": int(tn), "1": int(fp)}, "1": {"0": int(fn), "1": int(tp)}},
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": _downsample(fpr),
            "true_positive_rates": _downsample(tpr),
        },
    }


def _metric(value: float) -> dict:
    return {"value": None if math.isnan(value) else round(float(value), 6), "standard_deviation": "NaN"}


def _downsample(values: np.ndarray, points: int = 101) -> list[float]:
    if len(values) > points:
        values = values[np.linspace(0, len(values) - 1, points).round().astype(int)]
    return [round(float(v), 6) for v in values]


def write_predictions(labels: np.ndarray, scores: np.ndarray, folder: Path) -> None:
    """The model-quality baseline's dataset: each test row's label and the model's probability."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{PREDICTIONS_FILE}.partial"
    with open(partial, "w") as handle:
        handle.write("label,probability\n")
        handle.writelines(f"{int(label)},{float(score)!r}\n" for label, score in zip(labels.tolist(), scores.tolist()))  # noqa: B905 (no strict= on the image's Python 3.8)
    os.replace(partial, folder / PREDICTIONS_FILE)


def run(args: argparse.Namespace) -> dict:
    import xgboost

    labels, features, names = load_test(Path(args.test_dir))
    with tempfile.TemporaryDirectory(prefix="model-") as workdir:
        booster = load_model(Path(args.model_dir), Path(workdir))
    expected = booster.num_features()
    if features.shape[1] != expected:
        raise EvaluationError(f"test set has {features.shape[1]} feature columns; the model expects {expected}")
    scores = booster.predict(xgboost.DMatrix(features), iteration_range=served_iterations(booster))  # what the endpoint will answer
    report = {
        "binary_classification_metrics": binary_classification_metrics(labels, scores, args.threshold),
        "threshold": args.threshold,
        "test_rows": int(len(labels)),
        "positives": int(labels.sum()),
    }
    if args.train_dir:
        report["baseline_rows"] = write_baseline(booster, Path(args.train_dir), names, Path(args.baseline_dir))
    if args.predictions_dir:
        write_predictions(labels, scores, Path(args.predictions_dir))
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    partial = output_dir / f".{REPORT_FILE}.partial"
    partial.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(partial, output_dir / REPORT_FILE)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    try:
        report = run(args)
    except EvaluationError as exc:
        logger.error("%s", exc)
        print(f"evaluate: input error: {exc}", file=sys.stderr)
        return 2
    metrics = report["binary_classification_metrics"]
    logger.info(
        "test AUC %s, accuracy %s, f1 %s on %d rows",
        metrics["auc"]["value"], metrics["accuracy"]["value"], metrics["f1"]["value"], report["test_rows"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
