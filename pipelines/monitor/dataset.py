"""Reading what the analyzer analyses: a CSV dataset, or an endpoint's captured traffic.

Both become columns of strings (pyarrow), the analyzer's raw material, plus counts of what
could not be used. Nothing here raises for bad data: malformed capture lines, payloads that
cannot be decoded and rows with the wrong number of values are counted, reported, and left
out, and the violations they cause show up in the checks.

Captured records become rows with the endpoint's output first, then its input, matched to the
baseline's columns by position (``output_columns_position: START``).
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
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson

HOUR_FOLDER = re.compile(r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})$")


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


@dataclass
class Dataset:
    names: list[str]
    columns: list[pa.Array]  # one array of strings per column
    counters: Counters

    @property
    def rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0


def data_files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith("."))


def parse_csv_rows(data: bytes, width: int | None, counters: Counters, names: list[str] | None = None, header: bool = False) -> tuple[list[str], list[pa.Array]]:
    """Rows of ``data`` as string columns; rows of another width are counted and left out."""
    if not data.strip():
        return (names or [f"_c{i}" for i in range(width or 0)]), [pa.array([], pa.string()) for _ in range(len(names or []) or width or 0)]
    if width is None:
        first = data.split(b"\n", 1)[0].decode("utf-8", "replace")
        width = len(next(csv.reader([first]), []))
    column_names = names or [f"_c{i}" for i in range(width)]

    def invalid(row: Any) -> str:
        counters.widths[row.actual_columns] = counters.widths.get(row.actual_columns, 0) + 1
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=column_names, skip_rows=1 if header else 0, use_threads=True),
        parse_options=pacsv.ParseOptions(invalid_row_handler=invalid, newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in column_names}, strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    return column_names, [table.column(i).combine_chunks() for i in range(table.num_columns)]


def read_csv(source: Path, header: bool, names: list[str] | None = None) -> Dataset:
    """A CSV dataset: one file or every ``.csv`` under a directory (headers of later files skipped)."""
    counters = Counters()
    files = data_files(source, (".csv",))
    if header and files and names is None:
        first = files[0].read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
        names = [n.strip() for n in next(csv.reader([first]), [])]
    parts: list[list[pa.Array]] = []
    for file in files:
        counters.files += 1
        _, columns = parse_csv_rows(file.read_bytes(), len(names) if names else None, counters, names, header=header)
        names = names or [f"_c{i}" for i in range(len(columns))]
        parts.append(columns)
    names = names or []
    columns = [pa.concat_arrays([p[i] for p in parts]) if parts else pa.array([], pa.string()) for i in range(len(names))]
    counters.rows = counters.records = len(columns[0]) if columns else 0
    return Dataset(names, columns, counters)


def capture_files(root: Path, start: datetime | None, end: datetime | None) -> list[Path]:
    """Capture files whose hour folder (``yyyy/mm/dd/hh``, UTC) overlaps [start, end)."""
    files = data_files(root, (".jsonl", ".json"))
    if start is None and end is None:
        return files
    chosen = []
    for file in files:
        match = HOUR_FOLDER.search(file.parent.as_posix())
        if not match:
            chosen.append(file)  # not in SageMaker's layout: filter on inferenceTime alone
            continue
        hour = datetime(int(match["y"]), int(match["m"]), int(match["d"]), int(match["h"]), tzinfo=timezone.utc)
        if (end is None or hour < end) and (start is None or hour + timedelta(hours=1) > start):
            chosen.append(file)
    return chosen


def read_capture(root: Path, start: datetime | None = None, end: datetime | None = None, width: int | None = None) -> Dataset:
    """Captured records between ``start`` and ``end`` (by inferenceTime) as rows: output, then input."""
    counters = Counters()
    lines: list[str] = []
    for file in capture_files(root, start, end):
        counters.files += 1
        for record in _records(file, counters):
            if not _in_window(record.get("eventMetadata", {}).get("inferenceTime"), start, end):
                counters.outside_window += 1
                continue
            counters.records += 1
            rows = _rows(record.get("captureData") or {}, counters)
            lines.extend(rows)
    counters.rows = len(lines)
    names, columns = parse_csv_rows("\n".join(lines).encode(), width, counters)
    counters.rows = len(columns[0]) if columns else 0
    return Dataset(names, columns, counters)


def _records(file: Path, counters: Counters) -> Iterable[dict[str, Any]]:
    """Every JSON object of a capture file: pyarrow's reader first, line by line when a line is bad."""
    data = file.read_bytes()
    try:
        table = pajson.read_json(io.BytesIO(data), read_options=pajson.ReadOptions(use_threads=True, block_size=1 << 24))
        yield from table.to_pylist()
        return
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            counters.malformed_lines += 1
            continue
        if not isinstance(record, dict):
            counters.malformed_lines += 1
            continue
        yield record


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


def _rows(capture: dict[str, Any], counters: Counters) -> list[str]:
    """CSV lines for one record: each output row, a comma, the matching input row."""
    inputs = _payload_rows(capture.get("endpointInput"), counters, is_output=False)
    outputs = _payload_rows(capture.get("endpointOutput"), counters, is_output=True) if capture.get("endpointOutput") else None
    if inputs is None:
        return []
    if outputs is None:
        return inputs
    if len(outputs) != len(inputs):
        counters.undecodable_payloads += 1
        return []
    return [f"{o},{i}" for o, i in zip(outputs, inputs)]


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
