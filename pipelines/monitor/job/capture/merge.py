"""Captured predictions joined with ground truth, as Model Monitor's model-quality merge did.

Ground truth is JSON Lines in SageMaker's layout (``groundTruthData`` with ``data`` and
``encoding``, ``eventMetadata.eventId``, ``eventVersion``) under ``<prefix>/yyyy/mm/dd/hh/``,
the hour being when the label was collected, not when the prediction was made. A captured
record is matched by its ``inferenceId`` (the caller's ``InferenceId``) when it has one, else by
its ``eventId``, against the label's ``eventMetadata.eventId``, as AWS documents the merge.

A window ``[start, end)`` takes the predictions made in it (by ``inferenceTime``) and the labels
collected from ``start`` until the job's scheduled time, so labels that arrive later than the
predictions (a late-label offset such as ``-PT2H``/``-PT1H``) are found, and a label that
arrives after its run is found by running the window again (a backfill).

Nothing here raises for bad records: unreadable lines, probabilities that are not numbers,
requests that held several rows (one id, several predictions) and repeated ids are counted
for the report; the last label written for an id wins (a correction). Unmatched predictions
and unmatched labels are counted both ways.

Part of the analyzer bundle (``bundle.py``): numpy and pyarrow, Python 3.9.
"""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from pipelines.monitor.job.common import capture_rows, layout

_OUTPUT = pa.struct([("data", pa.string()), ("encoding", pa.string())])
_CAPTURE = pa.schema(
    [
        ("captureData", pa.struct([("endpointOutput", _OUTPUT)])),
        ("eventMetadata", pa.struct([("eventId", pa.string()), ("inferenceId", pa.string()), ("inferenceTime", pa.string())])),
    ]
)
_GROUND_TRUTH = pa.schema([("groundTruthData", _OUTPUT), ("eventMetadata", pa.struct([("eventId", pa.string())]))])


@dataclass
class MergeCounters:
    """What the merge read, matched and left out, for analysis_report.json."""

    capture_files: int = 0
    predictions: int = 0
    outside_window: int = 0
    unreadable_predictions: int = 0
    several_rows: int = 0
    repeated_prediction_ids: int = 0
    ground_truth_files: int = 0
    labels: int = 0
    unreadable_labels: int = 0
    repeated_label_ids: int = 0
    matched: int = 0
    predictions_without_label: int = 0
    labels_without_prediction: int = 0

    def as_dict(self) -> Dict[str, int]:
        return asdict(self)

    def add(self, other: "MergeCounters") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


def predictions(root: Path, start: Optional[datetime], end: Optional[datetime], probability_index: int, counters: MergeCounters) -> pa.Table:
    """Every captured prediction in [start, end): its id and the positive class's probability."""
    files = layout.capture_files(root, start, end)
    counters.capture_files += len(files)

    def read(file: Path) -> Tuple[pa.Table, MergeCounters]:
        own = MergeCounters()  # per file, added up in order: no counters shared across threads
        return _predictions_of(file.read_bytes(), start, end, probability_index, own), own

    parts = _in_order(read, files, counters)
    table = pa.concat_tables(parts) if parts else pa.table({"id": pa.array([], pa.string()), "score": pa.array([], pa.float64())})
    return _last_per_id(table, counters, "repeated_prediction_ids")


def _predictions_of(data: bytes, start: Optional[datetime], end: Optional[datetime], index: int, counters: MergeCounters) -> pa.Table:
    try:
        table = pajson.read_json(
            io.BytesIO(data),
            read_options=pajson.ReadOptions(use_threads=True, block_size=4 << 20),
            parse_options=pajson.ParseOptions(explicit_schema=_CAPTURE, unexpected_field_behavior="ignore"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return _predictions_from_records(_records(data, counters, "unreadable_predictions"), start, end, index, counters)
    metadata = table.column("eventMetadata").combine_chunks()
    text = table.column("captureData").combine_chunks().field("endpointOutput").field("data")
    values = _csv_value(text, index) if not _needs_records(table) else None
    if values is None:  # JSON or BASE64 output, quoted values, or fewer values than the index
        return _predictions_from_records(table.to_pylist(), start, end, index, counters)
    keep = _in_window(metadata.field("inferenceTime"), start, end)
    counters.outside_window += len(keep) - int(np.count_nonzero(keep))
    counters.predictions += int(np.count_nonzero(keep))
    several = pc.match_substring(text, "\n").to_numpy(zero_copy_only=False) & keep
    counters.several_rows += int(np.count_nonzero(several))
    ids = pc.coalesce(metadata.field("inferenceId"), metadata.field("eventId"))
    scores = _floats(values)
    good = keep & ~several & ~np.isnan(scores) & ~pc.is_null(ids).to_numpy(zero_copy_only=False)
    counters.unreadable_predictions += int(np.count_nonzero(keep & ~several & ~good))
    return pa.table({"id": ids.filter(pa.array(good)), "score": pa.array(scores[good])})


def _csv_value(text: pa.Array, index: int) -> Optional[pa.Array]:
    """The ``index``-th value of each CSV output, or None when some output has fewer."""
    trimmed = pc.utf8_trim_whitespace(text)
    if not index:
        return trimmed
    parts = pc.split_pattern(trimmed, ",")
    if pc.any(pc.less_equal(pc.list_value_length(parts), index)).as_py():
        return None
    return pc.list_element(parts, index)


def _needs_records(table: pa.Table) -> bool:
    """Anything but CSV output with inferenceTime in ISO-8601 takes the record-by-record path."""
    output = table.column("captureData").combine_chunks().field("endpointOutput")
    encodings = pc.unique(output.field("encoding")).to_pylist()
    return encodings != ["CSV"] or output.field("data").null_count > 0 or pc.any(pc.match_substring(output.field("data"), '"')).as_py() is True


def _floats(values: pa.Array) -> np.ndarray:
    """Numbers as float64; anything else (and nulls) NaN, value by value only when needed."""
    try:
        return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.array([_float(v) for v in values.to_pylist()], dtype=np.float64)


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return number if np.isfinite(number) else float("nan")


def _in_window(times: pa.Array, start: Optional[datetime], end: Optional[datetime]) -> np.ndarray:
    if start is None and end is None:
        return np.ones(len(times), dtype=bool)
    try:
        moments = times.cast(pa.timestamp("ms", tz="UTC")).cast(pa.timestamp("ms"))
        keep = np.ones(len(times), dtype=bool) & ~pc.is_null(moments).to_numpy(zero_copy_only=False)
        if start is not None:
            keep &= pc.fill_null(pc.greater_equal(moments, pa.scalar(layout.naive_utc(start), pa.timestamp("ms"))), False).to_numpy(zero_copy_only=False)
        if end is not None:
            keep &= pc.fill_null(pc.less(moments, pa.scalar(layout.naive_utc(end), pa.timestamp("ms"))), False).to_numpy(zero_copy_only=False)
        return keep
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.array([layout.in_window(t, start, end) for t in times.to_pylist()], dtype=bool)


def _records(data: bytes, counters: MergeCounters, unreadable: str) -> List[Dict[str, Any]]:
    records = []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line) if len(line) <= layout.MAX_LINE_BYTES else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            setattr(counters, unreadable, getattr(counters, unreadable) + 1)
    return records


def _predictions_from_records(records: List[Dict[str, Any]], start: Optional[datetime], end: Optional[datetime], index: int, counters: MergeCounters) -> pa.Table:
    ids, scores = [], []
    for record in records:
        metadata = record.get("eventMetadata") or {}
        if not layout.in_window(metadata.get("inferenceTime"), start, end):
            counters.outside_window += 1
            continue
        counters.predictions += 1
        output = (record.get("captureData") or {}).get("endpointOutput") or {}
        values = capture_rows.decoded(output)
        identifier = metadata.get("inferenceId") or metadata.get("eventId")
        if values is not None and len(values) > 1:
            counters.several_rows += 1
            continue
        score = _float(capture_rows.pick(values[0], index)) if values else float("nan")
        if not identifier or np.isnan(score):
            counters.unreadable_predictions += 1
            continue
        ids.append(str(identifier))
        scores.append(score)
    return pa.table({"id": pa.array(ids, pa.string()), "score": pa.array(scores, pa.float64())})


def ground_truth(root: Path, start: Optional[datetime], until: Optional[datetime], counters: MergeCounters) -> pa.Table:
    """Labels collected in the hours from ``start`` until ``until``: id and label text."""
    files = layout.capture_files(root, start, until)
    counters.ground_truth_files += len(files)

    def read(file: Path) -> Tuple[pa.Table, MergeCounters]:
        own = MergeCounters()
        return _labels_of(file.read_bytes(), own), own

    parts = _in_order(read, files, counters)
    table = pa.concat_tables(parts) if parts else pa.table({"id": pa.array([], pa.string()), "label": pa.array([], pa.string())})
    return _last_per_id(table, counters, "repeated_label_ids")


def _labels_of(data: bytes, counters: MergeCounters) -> pa.Table:
    try:
        table = pajson.read_json(io.BytesIO(data), parse_options=pajson.ParseOptions(explicit_schema=_GROUND_TRUTH, unexpected_field_behavior="ignore"))
        ids = table.column("eventMetadata").combine_chunks().field("eventId")
        truth = table.column("groundTruthData").combine_chunks()
        labels = truth.field("data")
        if pc.unique(truth.field("encoding")).to_pylist() not in (["CSV"], [None]):
            raise pa.ArrowInvalid("not CSV")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        records = _records(data, counters, "unreadable_labels")
        pairs = [(((r.get("eventMetadata") or {}).get("eventId")), _label_text(r.get("groundTruthData") or {})) for r in records]
        bad = sum(1 for i, label in pairs if not i or label is None)
        counters.unreadable_labels += bad
        counters.labels += len(pairs) - bad
        pairs = [(str(i), label) for i, label in pairs if i and label is not None]
        return pa.table({"id": pa.array([i for i, _ in pairs], pa.string()), "label": pa.array([label for _, label in pairs], pa.string())})
    good = pc.and_(pc.invert(pc.is_null(ids)), pc.invert(pc.is_null(labels)))
    kept = int(pc.sum(good).as_py() or 0)
    counters.unreadable_labels += len(ids) - kept
    counters.labels += kept
    return pa.table({"id": ids.filter(good), "label": pc.utf8_trim_whitespace(labels.filter(good))})


def _label_text(truth: Dict[str, Any]) -> Optional[str]:
    values = capture_rows.decoded(truth)
    if not values or len(values) != 1:
        return None
    value = values[0]
    return str(value).strip() if not isinstance(value, (dict, list)) else None


def _in_order(read: Callable[[Path], Tuple[pa.Table, MergeCounters]], files: List[Path], counters: MergeCounters) -> List[pa.Table]:
    """Each file read on two threads (pyarrow parses without the GIL), the results in order."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="merge") as pool:
        parts = []
        for table, own in pool.map(read, files):
            counters.add(own)
            parts.append(table)
    return parts


def _last_per_id(table: pa.Table, counters: MergeCounters, field: str) -> pa.Table:
    """One row per id, the last one read winning."""
    if not table.num_rows:
        return table
    ids = table.column("id").combine_chunks()
    codes = pc.dictionary_encode(ids).indices.to_numpy(zero_copy_only=False)
    reversed_first = np.unique(codes[::-1], return_index=True)[1]
    last = np.sort(len(codes) - 1 - reversed_first)
    setattr(counters, field, getattr(counters, field) + table.num_rows - len(last))
    return table.take(pa.array(last)) if len(last) != table.num_rows else table


def join(scored: pa.Table, labelled: pa.Table, counters: MergeCounters) -> Tuple[pa.Array, np.ndarray, pa.Array]:
    """The matched rows: their label texts, scores and ids, in the predictions' order."""
    joined = scored.append_column("order", pa.array(np.arange(scored.num_rows))).join(labelled, keys="id", join_type="inner")
    joined = joined.sort_by("order")
    counters.matched = joined.num_rows
    counters.predictions_without_label = scored.num_rows - joined.num_rows
    counters.labels_without_prediction = labelled.num_rows - joined.num_rows
    return joined.column("label").combine_chunks(), joined.column("score").to_numpy().astype(np.float64), joined.column("id").combine_chunks()
