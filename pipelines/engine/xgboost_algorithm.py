"""SageMaker's built-in XGBoost algorithm, as the local engine runs it, version by version.

The contract of those containers (aws/sagemaker-xgboost-container, by tag), kept here so a
training job's arguments run unchanged:
- channels ``train`` (required) and ``validation`` (optional): CSV files with no header,
  the label in the first column (``text/csv``);
- hyperparameters arrive as strings and are parsed per parameter; one the image's version would
  not accept is refused by name, with the version (``VERSIONS``: ``silent`` is accepted by
  0.90-x and 1.0-1 only, as their validation modules list it; XGBoost 1.0 and later ignore it);
  ``reg:linear``, which every version accepts, is trained as ``reg:squarederror``, as XGBoost
  1.0 and later do with a deprecation warning;
- ``model.tar.gz`` holding ``xgboost-model``: a pickled Booster for the versions whose
  train.py pickles (0.90-x, 1.0-1, 1.2-x: evaluation scripts written for them call
  ``pickle.load``), else XGBoost's own format: the containers from 1.3-1 on call
  ``save_model`` (1.7-1's writes the legacy binary format, which XGBoost 2+ cannot write any
  more; this writes UBJSON, which XGBoost 1.6+ loads with the same ``load_model`` call);
- final metrics named like the container's: ``train:auc``, ``validation:auc``.
"""

from __future__ import annotations

import gzip
import io
import logging
import math
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pipelines.core import xgb

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

MODEL_FILE = "xgboost-model"
ARCHIVE = "model.tar.gz"


class HyperparameterError(ValueError):
    """A hyperparameter the built-in algorithm would refuse; the message names it."""


class ChannelError(ValueError):
    """A channel's data does not fit the algorithm's CSV contract."""


class TrainingStopped(Exception):
    """Training was asked to stop before it finished; nothing was written."""


def _int(minimum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = float(text)
        if not value.is_integer():
            raise ValueError("must be a whole number")
        if minimum is not None and value < minimum:
            raise ValueError(f"must be >= {minimum}")
        return int(value)

    return parse


def _float(low: float | None = None, high: float | None = None, low_open: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if math.isnan(value):
            raise ValueError("must be a number")
        if low is not None and (value < low or (low_open and value == low)):
            raise ValueError(f"must be {'>' if low_open else '>='} {low}")
        if high is not None and value > high:
            raise ValueError(f"must be <= {high}")
        return value

    return parse


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return text

    return parse


def _metrics(text: str) -> list[str]:
    allowed = {"auc", "aucpr", "error", "logloss", "rmse", "mae", "map", "ndcg", "merror", "mlogloss", "poisson-nloglik", "gamma-nloglik", "cox-nloglik", "tweedie-nloglik"}
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name.split("@", 1)[0] not in allowed]
    if not names or unknown:
        raise ValueError(f"unsupported metric(s) {', '.join(unknown) or '(none)'}; use {', '.join(sorted(allowed))}")
    return names


# name -> parser. What the 1.7-1 container documents and this engine implements.
HYPERPARAMETERS: dict[str, Callable[[str], object]] = {
    "num_round": _int(1),
    "objective": _choice(
        "binary:logistic", "binary:logitraw", "binary:hinge", "reg:squarederror", "reg:linear", "reg:logistic", "reg:absoluteerror", "reg:squaredlogerror",
        "reg:pseudohubererror", "count:poisson", "reg:tweedie", "reg:gamma", "multi:softprob", "multi:softmax", "rank:pairwise", "rank:ndcg", "rank:map", "survival:cox",
    ),  # fmt: skip
    "eval_metric": _metrics,
    "eta": _float(0, 1),
    "max_depth": _int(0),
    "subsample": _float(0, 1, low_open=True),
    "min_child_weight": _float(0),
    "gamma": _float(0),
    "early_stopping_rounds": _int(1),
    "alpha": _float(0),
    "lambda": _float(0),
    "colsample_bytree": _float(0, 1, low_open=True),
    "colsample_bylevel": _float(0, 1, low_open=True),
    "colsample_bynode": _float(0, 1, low_open=True),
    "max_delta_step": _float(0),
    "scale_pos_weight": _float(0, low_open=True),
    "max_bin": _int(2),
    "max_leaves": _int(0),
    "grow_policy": _choice("depthwise", "lossguide"),
    "tree_method": _choice("auto", "exact", "approx", "hist"),
    "num_class": _int(2),
    "base_score": _float(),
    "seed": _int(),
    "verbosity": _int(0),
    "num_parallel_tree": _int(1),
    "booster": _choice("gbtree", "gblinear", "dart"),
    "nthread": _int(1),
    "tweedie_variance_power": _float(1, 2, low_open=True),
    "silent": _choice("0", "1"),  # 0.90-x and 1.0-1 (VERSIONS); XGBoost 1.0+ ignores it
}
_NOT_BOOSTER_PARAMS = {"num_round", "early_stopping_rounds", "silent"}
# Objectives every version's validation lists and XGBoost 1.0+ renames.
_RENAMED_OBJECTIVES = {"reg:linear": "reg:squarederror"}


@dataclass(frozen=True)
class Version:
    """What one image version's container accepts and writes (from its tag's train.py and
    hyperparameter_validation.py)."""

    name: str
    accepts: frozenset[str]  # hyperparameters beyond HYPERPARAMETERS' common ones
    pickles: bool  # xgboost-model is a pickled Booster


_OLD = frozenset({"silent"})
VERSIONS = {
    "0.90": Version("0.90", _OLD, pickles=True),
    "1.0": Version("1.0", _OLD, pickles=True),
    "1.2": Version("1.2", frozenset(), pickles=True),
    "1.3": Version("1.3", frozenset(), pickles=False),
    "1.5": Version("1.5", frozenset(), pickles=False),
    "1.7": Version("1.7", frozenset(), pickles=False),
    "3.0": Version("3.0", frozenset(), pickles=False),
    "3.2": Version("3.2", frozenset(), pickles=False),  # the master branch (XGBoost 3.2.0): save_model, as 1.3-1 on
}
LATEST = VERSIONS["1.7"]
_VERSIONED = {name for version in VERSIONS.values() for name in version.accepts}
_TAG = re.compile(r"/sagemaker-xgboost:(?P<version>\d+\.\d+)-\d+")


def version_of(image: str) -> Version | None:
    """The version an image URI names (``...sagemaker-xgboost:1.0-1-cpu-py3`` is 1.0), or None."""
    match = _TAG.search(image)
    return VERSIONS.get(match["version"]) if match else None


def accepted(version: Version) -> list[str]:
    """The hyperparameters ``version``'s container accepts and this engine implements."""
    return sorted((set(HYPERPARAMETERS) - _VERSIONED) | version.accepts)


@dataclass(frozen=True)
class TrainingResult:
    """What the Training handler reports back: SageMaker's FinalMetricDataList shape."""

    final_metrics: dict[str, float]
    best_iteration: int
    rounds: int


def unsupported_problem(names: Any, version: Version = LATEST) -> str | None:
    """None when ``version``'s container takes every one of ``names``; else which it refuses."""
    unsupported = sorted(set(names) - set(accepted(version)))
    if not unsupported:
        return None
    elsewhere = {name: sorted(v.name for v in VERSIONS.values() if name in v.accepts) for name in unsupported if name in _VERSIONED}
    said = "; ".join(f"{name} is accepted by {', '.join(where)} only" for name, where in elsewhere.items())
    return (
        f"unsupported hyperparameter(s) {', '.join(unsupported)} for the built-in XGBoost algorithm {version.name}"
        + (f" ({said})" if said else "") + f"; supported: {', '.join(accepted(version))}"
    )  # fmt: skip


def parse_hyperparameters(raw: dict[str, str], version: Version = LATEST) -> dict[str, object]:
    problem = unsupported_problem(raw, version)
    if problem:
        raise HyperparameterError(problem)
    if "num_round" not in raw:
        raise HyperparameterError("num_round is required by the built-in XGBoost algorithm")
    parsed: dict[str, object] = {}
    for name, text in raw.items():
        try:
            parsed[name] = HYPERPARAMETERS[name](str(text).strip())
        except ValueError as exc:
            raise HyperparameterError(f"hyperparameter {name}={text!r}: {exc}") from exc
    return parsed


def read_channel(path: Path, channel: str) -> tuple[np.ndarray, np.ndarray]:
    """Label and features of every CSV file under ``path`` (a file or a directory)."""
    import numpy as np  # when a job trains: validating a definition needs only the tables above

    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ChannelError(f"channel {channel}: no data files under {path}")
    blocks = []
    for file in files:
        try:
            block = np.loadtxt(file, delimiter=",", ndmin=2, dtype=np.float64)
        except ValueError as exc:
            raise ChannelError(f"channel {channel}: {file.name}: not numeric CSV without a header ({exc})") from exc
        if block.size:
            blocks.append(block)
    if not blocks:
        raise ChannelError(f"channel {channel}: the files under {path} are empty")
    widths = {b.shape[1] for b in blocks}
    if len(widths) != 1:
        raise ChannelError(f"channel {channel}: files have different column counts {sorted(widths)}")
    data = np.vstack(blocks)
    if data.shape[1] < 2:
        raise ChannelError(f"channel {channel}: needs the label then at least one feature per row")
    return data[:, 0], data[:, 1:]


def train(
    channels: dict[str, Path],
    hyperparameters: dict[str, str],
    model_dir: Path,
    log: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    version: Version = LATEST,
) -> TrainingResult:
    """Train like the container; write ``model_dir/model.tar.gz``; return the final metrics.

    ``log`` receives the container's per-round lines; ``should_stop`` is asked after every
    round, and a True answer ends training with :class:`TrainingStopped`.
    """
    xgboost = xgb.module()
    params = parse_hyperparameters(hyperparameters, version)
    if "train" not in channels:
        raise ChannelError("the built-in XGBoost algorithm needs a train channel")
    unknown = sorted(set(channels) - {"train", "validation"})
    if unknown:
        raise ChannelError(f"unsupported channel(s) {', '.join(unknown)}; use train and validation")
    if "early_stopping_rounds" in params and "validation" not in channels:
        raise HyperparameterError("early_stopping_rounds needs a validation channel")

    labels, features = read_channel(channels["train"], "train")
    dtrain = xgboost.DMatrix(features, label=labels)
    evals = [(dtrain, "train")]
    if "validation" in channels:
        v_labels, v_features = read_channel(channels["validation"], "validation")
        if v_features.shape[1] != features.shape[1]:
            raise ChannelError(f"channel validation has {v_features.shape[1]} features; train has {features.shape[1]}")
        evals.append((xgboost.DMatrix(v_features, label=v_labels), "validation"))

    booster_params: dict[str, object] = {k: v for k, v in params.items() if k not in _NOT_BOOSTER_PARAMS}
    if booster_params.get("objective") in _RENAMED_OBJECTIVES:
        booster_params["objective"] = _RENAMED_OBJECTIVES[str(booster_params["objective"])]
    metrics = booster_params.pop("eval_metric", None)
    if metrics is not None:
        booster_params["eval_metric"] = metrics
    booster_params.setdefault("seed", 0)
    booster_params.setdefault("verbosity", 1)
    history: dict[str, dict[str, list[float]]] = {}
    emit = log or (lambda line: logger.info("%s", line))

    class _Progress(xgboost.callback.TrainingCallback):
        def after_iteration(self, model: object, epoch: int, evals_log: dict) -> bool:
            scores = "\t".join(f"{c}-{m}:{v[-1]:.5f}" for c, per in evals_log.items() for m, v in per.items())
            emit(f"[{epoch}]#011{scores}")
            if should_stop is not None and should_stop():
                raise TrainingStopped("training stopped")
            return False

    booster = xgboost.train(
        booster_params,
        dtrain,
        num_boost_round=int(params["num_round"]),  # type: ignore[arg-type]
        evals=evals,
        evals_result=history,
        early_stopping_rounds=params.get("early_stopping_rounds"),  # type: ignore[arg-type]
        verbose_eval=False,
        callbacks=[_Progress()],
    )
    container_attributes(booster, int(params.get("num_parallel_tree", 1)))  # type: ignore[call-overload]
    best = getattr(booster, "best_iteration", None)
    rounds = booster.num_boosted_rounds()
    index = best if best is not None else rounds - 1
    final = {f"{channel}:{metric}": float(values[index]) for channel, per in history.items() for metric, values in per.items()}
    write_model(booster, model_dir, pickled=version.pickles)
    return TrainingResult(final_metrics=final, best_iteration=index, rounds=rounds)


def container_attributes(booster: Any, parallel_trees: int = 1) -> None:
    """The attributes XGBoost 1.7's training writes on every model (its callback's
    ``after_training``), which the 1.7-1 container's serving reads: ``best_iteration`` and
    ``best_ntree_limit`` = (best_iteration + 1) x num_parallel_tree, the rounds up to the best one
    when early stopping ran, else all of them."""
    if booster.attr("best_score") is None:
        booster.set_attr(best_iteration=str(booster.num_boosted_rounds() - 1))
    booster.set_attr(best_ntree_limit=str((int(booster.attr("best_iteration")) + 1) * max(1, parallel_trees)))


def write_model(booster: object, model_dir: Path, pickled: bool = False) -> Path:
    """``model.tar.gz`` with ``xgboost-model`` (UBJSON, or a pickled Booster) inside, written
    whole or not at all."""
    import pickle

    raw = pickle.dumps(booster, protocol=4) if pickled else bytes(booster.save_raw(raw_format="ubj"))  # type: ignore[attr-defined]
    model_dir.mkdir(parents=True, exist_ok=True)
    partial = model_dir / f".{ARCHIVE}.partial"
    # mtime 0 in the gzip header and the entry: the same model gives the same bytes (and digest).
    with open(partial, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as compressed, tarfile.open(fileobj=compressed, mode="w") as tar:
        info = tarfile.TarInfo(MODEL_FILE)
        info.size = len(raw)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(raw))
    final = model_dir / ARCHIVE
    partial.replace(final)
    return final
