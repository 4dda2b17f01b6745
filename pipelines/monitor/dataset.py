"""Reading what the analyzer analyses: a CSV dataset, or an endpoint's captured traffic.

Both are read a file at a time and handed on as chunks of string columns (pyarrow), so memory
stays bounded by one file. Nothing here raises for bad data: malformed capture lines, payloads
that cannot be decoded and rows with the wrong number of values are counted, reported and left
out, and the violations they cause show up in the checks.

Captured records become rows with the endpoint's output first, then its input, matched to the
baseline's columns by position (``output_columns_position: START``). CSV, JSON and BASE64
payloads are understood; a request of several rows gives several rows.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

HOUR_FOLDER = re.compile(r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})$")
Chunk = list[pa.Array]  # one array of strings per column


@dataclass
class Counters:
    """What was read and what had to be left out, for the report."""

    files: int = 0
    records: int = 0
    rows: int = 0
    malformed_lines: int = 0
    undecodable_payloads: int = 0
    outside_window: int = 0
    widths: dict[int, int] = field(default_factory=dict)  # rows left out, by their number of values

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "rows": self.rows,
            "malformed_lines": self.malformed_lines,
            "undecodable_payloads": self.undecodable_payloads,
            "outside_window": self.outside_window,
            "rows_with_wrong_column_count": {str(k): v for k, v in sorted(self.widths.items())},
        }


def data_files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith("."))


def header_of(source: Path) -> list[str]:
    """Column names from the first line of the first CSV file under ``source``."""
    files = data_files(source, (".csv",))
    if not files:
        return []
    with files[0].open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    return [name.strip() for name in next(csv.reader([first]), [])]


def parse_rows(data: bytes, names: list[str], counters: Counters, header: bool = False) -> Chunk:
    """Rows of CSV ``data`` as string columns; rows of another width are counted and left out."""
    if not data.strip():
        return [pa.array([], pa.string()) for _ in names]

    def invalid(row: Any) -> str:
        counters.widths[row.actual_columns] = counters.widths.get(row.actual_columns, 0) + 1
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1 if header else 0, use_threads=True, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(invalid_row_handler=invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    columns = [table.column(i).combine_chunks() for i in range(table.num_columns)]
    counters.rows += table.num_rows
    return columns


def read_csv(source: Path, header: bool, names: list[str], counters: Counters) -> Iterator[Chunk]:
    """Each CSV file under ``source`` in turn (every file's header line skipped when ``header``)."""
    for file in data_files(source, (".csv",)):
        counters.files += 1
        before = counters.rows
        yield parse_rows(file.read_bytes(), names, counters, header=header)
        counters.records += counters.rows - before


def capture_files(root: Path, start: datetime | None, end: datetime | None) -> list[Path]:
    """Capture files whose hour folder (``yyyy/mm/dd/hh``, UTC) overlaps [start, end)."""
    files = data_files(root, (".jsonl", ".json"))
    if start is None and end is None:
        return files
    chosen = []
    for file in files:
        match = HOUR_FOLDER.search(file.parent.as_posix())
        if not match:
            chosen.append(file)  # not in SageMaker's layout: filtered on inferenceTime alone
            continue
        hour = datetime(int(match["y"]), int(match["m"]), int(match["d"]), int(match["h"]), tzinfo=timezone.utc)
        if (end is None or hour < end) and (start is None or hour + timedelta(hours=1) > start):
            chosen.append(file)
    return chosen


def read_capture(root: Path, names: list[str], counters: Counters, start: datetime | None = None, end: datetime | None = None) -> Iterator[Chunk]:
    """Captured records in [start, end) by inferenceTime, a capture file at a time: output, then input."""
    for file in capture_files(root, start, end):
        counters.files += 1
        lines = _capture_lines(file.read_bytes(), counters, start, end)
        if lines:
            yield parse_rows("\n".join(lines).encode(), names, counters)


def _capture_lines(data: bytes, counters: Counters, start: datetime | None, end: datetime | None) -> list[str]:
    try:
        table = pajson.read_json(io.BytesIO(data), read_options=pajson.ReadOptions(use_threads=True, block_size=max(1 << 20, len(data) + 1)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return _lines_one_by_one(data, counters, start, end)
    fast = _vectorised(table, counters, start, end)
    if fast is not None:
        return fast
    lines: list[str] = []
    for record in table.to_pylist():
        lines.extend(_record_lines(record, counters, start, end))
    return lines


def _vectorised(table: pa.Table, counters: Counters, start: datetime | None, end: datetime | None) -> list[str] | None:
    """The common case in a few array operations: CSV in and out, one row per record."""
    try:
        capture = table.column("captureData").combine_chunks()
        request, response = capture.field("endpointInput"), capture.field("endpointOutput")
        inputs, outputs = request.field("data"), response.field("data")
        encodings = pc.unique(pa.concat_arrays([request.field("encoding"), response.field("encoding")])).to_pylist()
        times = table.column("eventMetadata").combine_chunks().field("inferenceTime")
    except (KeyError, pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if encodings != ["CSV"] or inputs.null_count or outputs.null_count:
        return None
    if pc.any(pc.match_substring(inputs, "\n")).as_py() or pc.any(pc.match_substring(outputs, "\n")).as_py():
        return None
    keep = None
    if start is not None or end is not None:
        if pa.types.is_timestamp(times.type) and times.type.tz is None:
            moments = times.cast(pa.timestamp("s"), safe=False)  # pyarrow parsed the "...Z" times (UTC) already
        elif pa.types.is_string(times.type):
            moments = pc.strptime(times, format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
        else:
            return None
        if moments.null_count:
            return None  # another time format: the record-by-record path handles it
        if start is not None:
            keep = pc.greater_equal(moments, pa.scalar(_naive_utc(start), pa.timestamp("s")))
        if end is not None:
            before_end = pc.less(moments, pa.scalar(_naive_utc(end), pa.timestamp("s")))
            keep = before_end if keep is None else pc.and_(keep, before_end)
    rows = pc.binary_join_element_wise(outputs, inputs, ",")
    if keep is not None:
        kept = rows.filter(keep)
        counters.outside_window += len(rows) - len(kept)
        rows = kept
    counters.records += len(rows)
    return rows.to_pylist()


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _lines_one_by_one(data: bytes, counters: Counters, start: datetime | None, end: datetime | None) -> list[str]:
    lines: list[str] = []
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            counters.malformed_lines += 1
            continue
        if not isinstance(record, dict):
            counters.malformed_lines += 1
            continue
        lines.extend(_record_lines(record, counters, start, end))
    return lines


def _record_lines(record: dict[str, Any], counters: Counters, start: datetime | None, end: datetime | None) -> list[str]:
    if not _in_window((record.get("eventMetadata") or {}).get("inferenceTime"), start, end):
        counters.outside_window += 1
        return []
    counters.records += 1
    capture = record.get("captureData") or {}
    inputs = _payload_rows(capture.get("endpointInput"), counters, is_output=False)
    if inputs is None:
        return []
    if not capture.get("endpointOutput"):
        return inputs
    outputs = _payload_rows(capture.get("endpointOutput"), counters, is_output=True)
    if outputs is None:
        return []
    if len(outputs) != len(inputs):
        counters.undecodable_payloads += 1
        return []
    return [f"{o},{i}" for o, i in zip(outputs, inputs)]


def _in_window(value: Any, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    moment = parse_time(value)
    if moment is None:
        return False
    return (start is None or moment >= start) and (end is None or moment < end)


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _payload_rows(payload: Any, counters: Counters, is_output: bool) -> list[str] | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), str):
        counters.undecodable_payloads += 1
        return None
    data, encoding = payload["data"], str(payload.get("encoding", "CSV")).upper()
    content_type = str(payload.get("observedContentType", "")).split(";")[0].strip().lower()
    try:
        if encoding == "BASE64":
            data = base64.b64decode(data, validate=True).decode("utf-8")
            encoding = "JSON" if "json" in content_type else "CSV"
        if encoding == "JSON":
            return _json_rows(json.loads(data), is_output)
        return [line.strip() for line in data.strip().splitlines() if line.strip()]
    except (ValueError, UnicodeDecodeError, TypeError):
        counters.undecodable_payloads += 1
        return None


def _json_rows(document: Any, is_output: bool) -> list[str]:
    """JSON payloads the built-in containers take and give, as CSV lines."""
    if isinstance(document, dict):
        for key in ("instances", "predictions", "data", "features"):
            if key in document:
                document = document[key]
                break
        else:
            if is_output and "score" in document:
                return [_csv([document["score"]])]
            raise ValueError("unrecognised JSON payload")
    if isinstance(document, (int, float, str)):
        return [_csv([document])]
    if not isinstance(document, list):
        raise ValueError("unrecognised JSON payload")
    if all(isinstance(x, (int, float, str)) for x in document):
        return [_csv(document)] if not is_output else [_csv([x]) for x in document]
    rows = []
    for item in document:
        if isinstance(item, dict):
            item = item.get("features", item.get("score", item.get("values")))
        if isinstance(item, (int, float, str)):
            item = [item]
        if not isinstance(item, list):
            raise ValueError("unrecognised JSON row")
        rows.append(_csv(item))
    return rows


def _csv(values: list[Any]) -> str:
    return ",".join(json.dumps(v) if isinstance(v, str) and "," in v else str(v) for v in values)
