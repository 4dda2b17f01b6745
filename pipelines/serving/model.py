"""The served model: ``model.tar.gz`` read safely, scoring as the built-in XGBoost container does.

The archive is read in memory, never extracted, within limits (``model_archive.py``). ``xgboost-model``
is loaded with XGBoost's own loader (JSON or UBJSON, or the legacy binary format where the
installed XGBoost still reads it), never unpickled.

Payloads: ``text/csv`` (one or many rows, no header, the features in training order) and
``application/json`` (``{"instances": [[..], ..]}``, ``{"instances": [{"features": [..]}]}``,
a list of rows or one row). Answers: one probability per row, ``text/csv`` lines or
``application/json`` ``{"predictions": [{"score": ..}]}``, as the container answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import model_archive
from pipelines.model_archive import MODEL_FILE

CSV = "text/csv"
JSON = "application/json"


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

    @classmethod
    def load(cls, archive: Path, source: str | None = None) -> "Predictor":
        import xgboost

        raw = read_model_bytes(archive)
        booster = xgboost.Booster()
        try:
            booster.load_model(bytearray(raw))
        except xgboost.core.XGBoostError as exc:
            raise ModelLoadError(f"{archive}: {MODEL_FILE} is not an XGBoost model: {str(exc).splitlines()[0]}") from exc
        booster.set_param({"nthread": 1})
        return cls(booster, source or str(archive))

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return self.booster.inplace_predict(rows)

    # -- payloads ---------------------------------------------------------------------------
    def parse(self, body: bytes, content_type: str) -> np.ndarray:
        kind = content_type.split(";")[0].strip().lower()
        if kind == CSV:
            return self._csv(body)
        if kind == JSON:
            return self._json(body)
        raise PayloadError(f"Content type {content_type or '(none)'} is not supported; use {CSV} or {JSON}", status=415)

    def _csv(self, body: bytes) -> np.ndarray:
        """Rows of numbers; an empty value or ``nan`` is a missing value, as the built-in
        container reads CSV (it turns "" into nan, and XGBoost treats nan as missing)."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
        lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
        if not lines:
            raise PayloadError("the body holds no rows")
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
                raise PayloadError(f"row {index + 1}, column {column + 1}: {values[column].strip()!r} is not a number") from None
        return _finite(rows, lambda row, column: lines[row].split(",")[column].strip())

    def _json(self, body: bytes) -> np.ndarray:
        """``{"instances": [[..], ..]}`` and its variants; null is a missing value. NaN and
        Infinity are not JSON (RFC 8259) and are refused, as numbers too large for a float are."""
        try:
            document = json.loads(body, parse_constant=_not_json)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PayloadError(f"the body is not JSON: {exc}") from exc
        except RecursionError:
            raise PayloadError("the body nests JSON too deeply; rows are lists of numbers") from None
        if isinstance(document, dict):
            document = document.get("instances", document.get("data"))
        if isinstance(document, list) and document and not isinstance(document[0], (list, dict)):
            document = [document]
        if not isinstance(document, list) or not document:
            raise PayloadError('expected {"instances": [[...], ...]}, a list of rows, or one row')
        rows = np.empty((len(document), self.features), dtype=np.float32)
        for index, row in enumerate(document):
            if isinstance(row, dict):
                row = row.get("features")
            if not isinstance(row, list):
                raise PayloadError(f"row {index + 1}: expected a list of {self.features} numbers")
            if len(row) != self.features:
                raise PayloadError(f"row {index + 1}: {len(row)} values; the model takes {self.features} features")
            for column, value in enumerate(row):
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise PayloadError(f"row {index + 1}, column {column + 1}: {value!r} is not a number")
            with np.errstate(over="ignore"):
                rows[index] = [np.nan if value is None else value for value in row]
        return _finite(rows, lambda row, column: repr(_row_values(document[row])[column]))

    @staticmethod
    def render(scores: np.ndarray, accept: str) -> tuple[bytes, str]:
        kind = (accept or CSV).split(",")[0].split(";")[0].strip().lower()
        if kind in ("", "*/*", CSV):
            return ("\n".join(repr(float(s)) for s in scores)).encode(), CSV
        if kind == JSON:
            return json.dumps({"predictions": [{"score": float(s)} for s in scores]}).encode(), JSON
        raise PayloadError(f"Accept {accept} is not supported; use {CSV} or {JSON}", status=406)


def _not_json(constant: str) -> float:
    raise PayloadError(f"the body holds {constant}, which is not JSON (RFC 8259); send null for a missing value")


def _row_values(row: Any) -> list[Any]:
    return row.get("features") if isinstance(row, dict) else row


def _finite(rows: np.ndarray, shown: Any) -> np.ndarray:
    """``rows``, unless a value is infinite (as XGBoost refuses it) or too large for a 32-bit float."""
    infinite = np.isinf(rows)
    if infinite.any():
        row, column = (int(i) for i in np.argwhere(infinite)[0])
        raise PayloadError(f"row {row + 1}, column {column + 1}: {shown(row, column)} is infinite or too large for a 32-bit float; send a finite number, or nothing for a missing value")
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
