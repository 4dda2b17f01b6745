"""Captured requests as rows: each record's id, its input values and the model's score.

What the bias-drift and feature-attribution monitors analyse: a window's captured records
(``layout``), one row per record, read record by record (JSON Lines), the input's CSV (or JSON,
or BASE64 of either) values as numbers and the output's ``probability_index``-th value as the
score. A record is identified by its ``inferenceId`` (the caller's ``InferenceId``), else its
``eventId``, as the model-quality merge matches ground truth. Nothing here raises for bad
records: malformed lines, payloads that cannot be decoded, requests of several rows (one id,
several predictions) and inputs of the wrong width are counted and left out.

Standard library and numpy, Python 3.8: it runs on the scikit-learn image (bias drift) and on
the built-in XGBoost image, which has no pyarrow (feature attribution drift).
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from pipelines.monitor.job.common import layout


@dataclass
class RowCounters:
    """What was read and what had to be left out, for analysis_report.json."""

    capture_files: int = 0
    records: int = 0
    outside_window: int = 0
    malformed_lines: int = 0
    undecodable_payloads: int = 0
    several_rows: int = 0
    wrong_width: int = 0
    rows: int = 0

    def as_dict(self) -> Dict[str, int]:
        return asdict(self)


@dataclass
class Rows:
    ids: List[str]
    features: np.ndarray
    scores: np.ndarray
    counters: RowCounters = field(default_factory=RowCounters)


def decoded(payload: Dict[str, Any]) -> Optional[List[Any]]:
    """The payload's rows: CSV lines, or JSON values (one, or a list of predictions)."""
    data, encoding = payload.get("data"), (payload.get("encoding") or "CSV").upper()
    if not isinstance(data, str):
        return None
    try:
        if encoding == "BASE64":
            data, encoding = base64.b64decode(data).decode("utf-8"), "CSV" if "json" not in str(payload.get("observedContentType")) else "JSON"
        if encoding == "JSON":
            value = json.loads(data)
            if isinstance(value, dict) and isinstance(value.get("predictions"), list):
                return value["predictions"]
            return value if isinstance(value, list) and value and isinstance(value[0], (dict, list)) else [value]
    except (ValueError, UnicodeDecodeError):
        return None
    return [line for line in data.strip().splitlines() if line.strip()]


def pick(value: Any, index: int) -> Any:
    """The ``index``-th value of one output row (a CSV line, a list, a dict with a score)."""
    if isinstance(value, str):
        parts = value.split(",")
        return parts[index] if index < len(parts) else None
    if isinstance(value, list):
        return value[index] if index < len(value) else None
    if isinstance(value, dict):
        for key in ("score", "probability", "predicted_probability"):
            if key in value:
                return value[key]
        return None
    return value if index == 0 else None  # one number: the first and only value


def _numbers(row: Any, width: int) -> Optional[List[float]]:
    values = row.split(",") if isinstance(row, str) else row if isinstance(row, list) else None
    if values is None or len(values) != width:
        return None
    try:
        return [float(v) if v not in ("", None) else float("nan") for v in values]
    except (TypeError, ValueError):
        return None


def read(root: Path, start: Optional[datetime], end: Optional[datetime], width: int, probability_index: int = 0) -> Rows:
    """Every captured request in [start, end) as (id, ``width`` input values, score)."""
    counters = RowCounters()
    ids: List[str] = []
    features: List[List[float]] = []
    scores: List[float] = []
    files = layout.capture_files(root, start, end)
    counters.capture_files = len(files)
    for file in files:
        for raw in file.read_bytes().splitlines():
            if not raw.strip():
                continue
            try:
                if len(raw) > layout.MAX_LINE_BYTES:
                    raise ValueError("longer than any capture line")
                record = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                counters.malformed_lines += 1
                continue
            if not isinstance(record, dict):
                counters.malformed_lines += 1
                continue
            metadata = record.get("eventMetadata") or {}
            if not layout.in_window(metadata.get("inferenceTime"), start, end):
                counters.outside_window += 1
                continue
            counters.records += 1
            capture = record.get("captureData") or {}
            inputs, outputs = decoded(capture.get("endpointInput") or {}), decoded(capture.get("endpointOutput") or {})
            if not inputs or not outputs:
                counters.undecodable_payloads += 1
                continue
            if len(inputs) > 1 or len(outputs) > 1:
                counters.several_rows += 1
                continue
            values = _numbers(inputs[0], width)
            if values is None:
                counters.wrong_width += 1
                continue
            try:
                score = float(pick(outputs[0], probability_index))
            except (TypeError, ValueError):
                counters.undecodable_payloads += 1
                continue
            identifier = metadata.get("inferenceId") or metadata.get("eventId")
            ids.append(str(identifier) if identifier else "")
            features.append(values)
            scores.append(score)
    counters.rows = len(ids)
    matrix = np.asarray(features, dtype=np.float64).reshape(len(features), width)
    return Rows(ids, matrix, np.asarray(scores, dtype=np.float64), counters)
