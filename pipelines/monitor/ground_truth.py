"""Ground truth in SageMaker's layout: the labels that arrive after the predictions.

A record per label, as AWS documents it for model-quality monitoring::

    {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "<id>"}, "eventVersion": "0"}

where ``eventId`` is the prediction's inference id (the caller's ``InferenceId``, else the
capture's ``eventId``), in JSON Lines files under ``<prefix>/<endpoint>/yyyy/mm/dd/hh/``, the
hour being when the labels were collected. ``mlops monitor ground-truth upload`` writes such a
file from a CSV (inference id, label) or from JSON Lines already in that shape, into the local
store or, on AWS, to S3 with the same keys; the model-quality job reads it unchanged either way.

Every row is checked before anything is written, and a file is written whole or not at all.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipelines.core import shapes
from pipelines.core.errors import UsageError
from pipelines.monitor.job.model_quality import quality

ID_COLUMNS = ("inference_id", "inferenceid", "eventid", "event_id", "id")
LABEL_COLUMNS = ("label", "ground_truth", "groundtruth", "actual")


@dataclass(frozen=True)
class Label:
    inference_id: str
    label: str  # "0" or "1"

    def record(self) -> dict:
        return {"groundTruthData": {"data": self.label, "encoding": "CSV"}, "eventMetadata": {"eventId": self.inference_id}, "eventVersion": "0"}


def read(path: Path) -> list[Label]:
    """Labels from a CSV (``inference_id,label``, the header optional) or from ground-truth JSON
    Lines; the first wrong row is an error naming the file, the row and what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text") from exc
    stripped = text.lstrip()
    labels = _from_jsonl(path, text) if stripped.startswith("{") else _from_csv(path, text)
    if not labels:
        raise UsageError(f"{path}: no labels in it")
    return labels


def _label(path: Path, row: int, value: object) -> str:
    parsed = quality.binary_label(value)
    if parsed is None:
        raise UsageError(f"{path}: row {row}: label {value!r} is not 0 or 1")
    return str(parsed)


def _identifier(path: Path, where: str, value: object) -> str:
    """The inference id as written: it must be one the endpoint takes, or no capture carries it."""
    text = value if isinstance(value, str) else ""
    problem = shapes.inference_id_problem(text)
    if problem:
        raise UsageError(f"{path}: {where}: inference id {text[:80]!r} is not one the endpoint takes (InferenceId: {problem})")
    return text


def _rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """The CSV's rows that hold anything, each with its number (blank rows counted)."""
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple[int, list[str]]] = []
    number = 0
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            # The csv module's own limit (a field over 128 KB), or a broken quote: no label file has such a row.
            what = f"a value of more than {csv.field_size_limit()} characters" if "field larger" in str(exc) else str(exc)
            raise UsageError(f"{path}: row {number}: {what}; a row is an inference id and a label") from None
        if row and any(v.strip() for v in row):
            rows.append((number, row))


def _from_csv(path: Path, text: str) -> list[Label]:
    numbered = _rows(path, text)
    if not numbered:
        return []
    rows = [row for _, row in numbered]
    header = [v.strip().lower() for v in rows[0]]
    id_at, label_at, first = 0, 1, 0
    if any(h in ID_COLUMNS for h in header) or any(h in LABEL_COLUMNS for h in header):
        missing = [what for what, names in (("an inference id", ID_COLUMNS), ("a label", LABEL_COLUMNS)) if not any(h in names for h in header)]
        if missing:
            raise UsageError(f"{path}: the header has no column for {' or '.join(missing)} (id: {'/'.join(ID_COLUMNS)}; label: {'/'.join(LABEL_COLUMNS)})")
        id_at = next(i for i, h in enumerate(header) if h in ID_COLUMNS)
        label_at = next(i for i, h in enumerate(header) if h in LABEL_COLUMNS)
        first = 1
    width = len(rows[0]) if first else 2
    labels = []
    for number, row in numbered[first:]:
        if len(row) != width:
            expected = f"the header names {width}" if first else "expected an inference id and a label"
            raise UsageError(f"{path}: row {number} has {len(row)} value(s); {expected}")
        labels.append(Label(_identifier(path, f"row {number}", row[id_at]), _label(path, number, row[label_at])))
    return labels


def _from_jsonl(path: Path, text: str) -> list[Label]:
    labels = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: line {number} is not JSON ({exc.msg})") from exc
        truth = record.get("groundTruthData") if isinstance(record, dict) else None
        metadata = record.get("eventMetadata") if isinstance(record, dict) else None
        if not isinstance(truth, dict) or not isinstance(metadata, dict):
            raise UsageError(f"{path}: line {number} lacks groundTruthData or eventMetadata (SageMaker's ground-truth record)")
        if (truth.get("encoding") or "CSV").upper() != "CSV":
            raise UsageError(f"{path}: line {number}: groundTruthData.encoding {truth.get('encoding')!r} is not CSV")
        labels.append(Label(_identifier(path, f"line {number}", metadata.get("eventId")), _label(path, number, truth.get("data"))))
    return labels


def key(prefix: str, endpoint: str, collected: datetime) -> str:
    """Where a new file of labels collected at ``collected`` goes."""
    moment = collected.astimezone(timezone.utc)
    return f"{prefix.rstrip('/')}/{endpoint}/{moment:%Y/%m/%d/%H}/{moment:%M-%S}-{uuid.uuid4().hex[:12]}.jsonl"


def body(labels: list[Label]) -> bytes:
    return "".join(json.dumps(label.record(), separators=(",", ":")) + "\n" for label in labels).encode()
