"""The served model: ``model.tar.gz`` read safely, scoring as the built-in XGBoost container does.

The archive is read in memory, never extracted, within limits (``model_archive.py``). ``xgboost-model``
is loaded with XGBoost's own loader (JSON or UBJSON, or the legacy binary format where the
installed XGBoost still reads it), or, written by the 0.90-x to 1.2-x containers, unpickled as a
Booster and nothing else (``model_archive.load_booster``).

Payloads, as the built-in container (aws/sagemaker-xgboost-container, algorithm mode) takes
them: ``text/csv`` (rows, no header, the features in training order) and ``text/libsvm`` /
``text/x-libsvm``; not JSON, which the container refuses with 415. Answers: one probability per
row, ``text/csv; charset=utf-8`` lines (the default) or ``application/json``
``{"predictions": [{"score": ..}]}``. Every refusal carries the container's own HTTP status,
which the server wraps in the runtime's 424 ModelError.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.core import model_archive, xgb

CSV = "text/csv"
JSON = "application/json"
LIBSVM = ("text/libsvm", "text/x-libsvm")
RECORDIO_PROTOBUF = "application/x-recordio-protobuf"
ACCEPTS = (JSON, "application/jsonlines", RECORDIO_PROTOBUF, CSV)  # the container's SUPPORTED_ACCEPTS


class ModelLoadError(Exception):
    """The model cannot be served; the message says why."""


class PayloadError(Exception):
    """A request the model cannot score; the message names the row and column."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def read_model_bytes(archive: Path) -> bytes:
    """The bytes of ``xgboost-model`` in ``archive`` (``model_archive.read_model``'s checks)."""
    try:
        return model_archive.read_model(archive)
    except model_archive.ArchiveError as exc:
        raise ModelLoadError(str(exc)) from exc


class Predictor:
    """One loaded booster and the shape of what it scores."""

    def __init__(self, booster: Any, source: str) -> None:
        self.booster = booster
        self.source = source
        self.features = booster.num_features()
        self.iterations = model_archive.served_iterations(booster)  # the container's rounds: up to the best one
        self._dense = DensePrediction(booster, self.iterations)

    @classmethod
    def load(cls, archive: Path, source: str | None = None) -> "Predictor":
        raw = read_model_bytes(archive)
        try:
            booster = model_archive.load_booster(raw, str(archive))
        except model_archive.ArchiveError as exc:
            raise ModelLoadError(str(exc)) from exc
        booster.set_param({"nthread": 1})
        return cls(booster, source or str(archive))

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """What ``booster.inplace_predict(rows, iteration_range=...)`` gives, bit for bit."""
        return self._dense(rows)

    # -- payloads: the algorithm-mode container's serve.py and serve_utils.py ----------------
    def parse(self, body: bytes, content_type: str) -> np.ndarray:
        """The rows to score. CSV and LIBSVM, as the container reads them; anything else is the
        container's 415 ("Content-type X is not supported."), JSON included."""
        kind, params = _media_type(content_type)
        if kind == CSV:
            if params.get("label_size", "1") != "1":
                raise PayloadError(f"{content_type} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1", status=415)
            return self._csv(body)
        if kind in LIBSVM:
            return self._libsvm(body)
        if kind == RECORDIO_PROTOBUF:
            raise PayloadError(f"Content-type {content_type} is served by SageMaker's XGBoost container but not by the local twin; send text/csv or text/libsvm", status=415)
        raise PayloadError(f"Content-type {content_type or '(none)'} is not supported.", status=415)

    def _csv(self, body: bytes) -> np.ndarray:
        """Rows of numbers; an empty value or ``nan`` is a missing value, as the container reads
        CSV (it turns "" into nan, and XGBoost treats nan as missing). A row that is not numbers
        is the container's 415; a row of the wrong width fails prediction, its 400."""
        text = _text(body).strip()
        lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
        if not lines:
            raise PayloadError("the body holds no rows", status=415)
        rows = np.empty((len(lines), self.features), dtype=np.float32)
        for index, line in enumerate(lines):
            values = line.split(",")
            if len(values) != self.features:
                raise PayloadError(f"row {index + 1}: {len(values)} values; the model takes {self.features} features (no header, no label)")
            try:
                with np.errstate(over="ignore"):  # too large for float32 becomes inf, refused below
                    rows[index] = [float(v) if v.strip() else np.nan for v in values]
            except ValueError:
                column = next(i for i, v in enumerate(values) if v.strip() and not _is_float(v))
                raise PayloadError(f"row {index + 1}, column {column + 1}: {values[column].strip()!r} is not a number", status=415) from None
        return _finite(rows, lambda row, column: lines[row].split(",")[column].strip())

    def _libsvm(self, body: bytes) -> np.ndarray:
        """``index:value`` pairs separated by spaces, one row per line; 1-based indices are shifted
        to 0-based when none is 0; what a row leaves out is missing (the container's sparse matrix)."""
        text = _text(body).strip()
        entries: list[tuple[int, int, float]] = []
        lines = text.split("\n") if text else []
        for row, line in enumerate(lines):
            for item in line.split(" "):
                if ":" not in item:
                    continue  # a label or a stray token: the container skips them too
                index, _, value = item.partition(":")
                try:
                    entry = (row, int(index), float(value))
                except ValueError:
                    raise PayloadError(f"row {row + 1}: {item!r} is not index:value", status=415) from None
                if entry[1] < 0:  # the container's csr_matrix refuses it ("negative column index found")
                    raise PayloadError(f"Loading libsvm data failed with Exception, please ensure data is in libsvm format: row {row + 1}: feature index {entry[1]} is negative", status=415)
                entries.append(entry)
        if not lines:
            raise PayloadError("the body holds no rows", status=415)
        shift = 1 if entries and min(column for _, column, _ in entries) >= 1 else 0
        width = max((column - shift for _, column, _ in entries), default=-1) + 1
        if width > self.features:
            raise PayloadError(f"Feature size of libsvm inference data {width} is larger than feature size of trained model {self.features}.")
        rows = np.full((len(lines), self.features), np.nan, dtype=np.float32)
        with np.errstate(over="ignore"):
            for row, column, value in entries:
                rows[row, column - shift] = value
        return _finite(rows, lambda row, column: repr(float(rows[row, column])))

    @staticmethod
    def render(scores: np.ndarray, accept: str) -> tuple[bytes, str]:
        """One score per row: CSV lines (the default) or ``{"predictions": [{"score": ..}]}``.
        The container takes the Accept header whole (up to a ``;``): one media type."""
        kind, _ = _media_type(accept)
        if kind in ("", "*/*", CSV):
            # As real captures of the 1.x containers show it: "0.5217539072036743", lines joined by \n
            return "\n".join(repr(float(s)) for s in scores).encode(), f"{CSV}; charset=utf-8"
        if kind == JSON:
            return json.dumps({"predictions": [{"score": float(s)} for s in scores]}).encode(), JSON
        if kind in ACCEPTS:  # accepted, then unsupported by its encoder: the container's 500
            raise PayloadError(f"Content type {kind} is not supported by this framework.", status=500)
        raise PayloadError(f"Accept type {accept} is not supported. Please use supported accept types: {list(ACCEPTS)}.", status=406)


class DensePrediction:
    """``Booster.inplace_predict`` on a C-ordered float32 matrix, as the C function it calls.

    ``inplace_predict`` spends about 60 us of Python a call (it dispatches on the data's type,
    builds its JSON arguments and a ctypes class, wraps the answer) around
    ``XGBoosterPredictFromDense``, XGBoost's C API, which takes about 45 us for one row of this
    model. A single-row request pays both, so this calls the C function itself with the same
    arguments (the configuration made once) and copies its answer: the same scores, bit for bit
    (a test holds the two equal). The booster is kept alive with its handle.
    """

    def __init__(self, booster: Any, iterations: tuple) -> None:
        import ctypes

        core = xgb.module().core
        self._ctypes = ctypes
        self._booster = booster
        self._function = core._LIB.XGBoosterPredictFromDense
        self._error = core._LIB.XGBGetLastError
        self._error.restype = ctypes.c_char_p
        self._failure = core.XGBoostError
        config = {"type": 0, "training": False, "iteration_begin": int(iterations[0]), "iteration_end": int(iterations[1]), "missing": float("nan"), "strict_shape": False, "cache_id": 0}
        self._config = json.dumps(config).encode()  # NaN as XGBoost's own Python writes it
        self._null = ctypes.c_void_p()

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        ctypes = self._ctypes
        if rows.dtype != np.float32 or not rows.flags.c_contiguous or rows.ndim != 2:
            rows = np.ascontiguousarray(rows, dtype=np.float32).reshape(len(rows), -1)
        interface = f'{{"data": [{rows.ctypes.data}, true], "shape": [{rows.shape[0]}, {rows.shape[1]}], "strides": null, "typestr": "<f4", "version": 3}}'
        shape, dims, scores = ctypes.POINTER(ctypes.c_uint64)(), ctypes.c_uint64(), ctypes.POINTER(ctypes.c_float)()
        status = self._function(self._booster.handle, interface.encode(), self._config, self._null, ctypes.byref(shape), ctypes.byref(dims), ctypes.byref(scores))
        if status != 0:
            raise self._failure(self._error().decode())
        answer_shape = tuple(int(shape[i]) for i in range(dims.value))
        count = math.prod(answer_shape)
        return np.frombuffer(ctypes.string_at(scores, 4 * count), dtype=np.float32).reshape(answer_shape)  # a copy: XGBoost reuses its buffer


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    """``cgi.parse_header`` as the container uses it: the value up to the first ``;``, lowercased, and its parameters."""
    kind, *rest = (header or "").split(";")
    params = {}
    for part in rest:
        key, _, value = part.partition("=")
        if key.strip():
            params[key.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}", status=415) from exc


def _finite(rows: np.ndarray, shown: Any) -> np.ndarray:
    """``rows``, unless a value is infinite (as XGBoost refuses it) or too large for a 32-bit float."""
    infinite = np.isinf(rows)
    if infinite.any():
        row, column = (int(i) for i in np.argwhere(infinite)[0])
        raise PayloadError(f"row {row + 1}, column {column + 1}: {shown(row, column)} is infinite or too large for a 32-bit float; send a finite number, or nothing for a missing value", status=415)
    return rows


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_loads(archive: Path) -> str | None:
    """None when the model at ``archive`` can be served, else why not."""
    try:
        Predictor.load(archive)
    except ModelLoadError as exc:
        return str(exc)
    return None
