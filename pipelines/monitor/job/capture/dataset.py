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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from pipelines.monitor.job.common.layout import MAX_LINE_BYTES, capture_files, data_files, in_window, naive_utc

Chunk = list[Any]  # per column: an array of strings, or a NumericColumn
# Only the fields the analysis reads (``mode``, ``eventId`` and ``inferenceId`` are not: a
# schema without them parses a capture file 12% faster, measured on 1M records).
_PAYLOAD = pa.struct([("observedContentType", pa.string()), ("data", pa.string()), ("encoding", pa.string())])
_CAPTURE_SCHEMA = pa.schema(
    [
        ("captureData", pa.struct([("endpointInput", _PAYLOAD), ("endpointOutput", _PAYLOAD)])),
        ("eventMetadata", pa.struct([("inferenceTime", pa.string())])),
    ]
)


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

    def add(self, other: "Counters") -> None:
        self.files += other.files
        self.records += other.records
        self.rows += other.rows
        self.malformed_lines += other.malformed_lines
        self.undecodable_payloads += other.undecodable_payloads
        self.outside_window += other.outside_window
        for width, count in other.widths.items():
            self.widths[width] = self.widths.get(width, 0) + count

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


def header_of(source: Path) -> list[str]:
    """Column names from the first line of the first CSV file under ``source``."""
    files = data_files(source, (".csv",))
    if not files:
        return []
    with files[0].open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    return [name.strip() for name in next(csv.reader([first]), [])]


def parse_rows(data: bytes, names: list[str], counters: Counters, header: bool = False) -> Chunk:
    # Empty fields become nulls: missing values, told apart from text in one pass.
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
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=False),
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


def read_capture(root: Path, names: list[str], counters: Counters, start: datetime | None = None, end: datetime | None = None) -> Iterator[Chunk]:
    """Captured records in [start, end) by inferenceTime, a capture file at a time: output, then input."""
    files = capture_files(root, start, end)
    counters.files += len(files)

    def load(file: Path) -> tuple[Chunk | None, Counters]:
        own = Counters()  # per file, added up in order below: no shared counters across threads
        return _capture_chunk(file, names, own, start, end), own

    # Two files in flight: pyarrow releases the GIL, so both cores parse.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="capture") as pool:
        pending = [pool.submit(load, file) for file in files[:2]]
        for index in range(len(files)):
            chunk, own = pending[index].result()
            if index + 2 < len(files):
                pending.append(pool.submit(load, files[index + 2]))
            pending[index] = None  # type: ignore[call-overload]
            counters.add(own)
            if chunk is not None:
                yield chunk


def _capture_chunk(file: Path, names: list[str], counters: Counters, start: datetime | None, end: datetime | None) -> Chunk | None:
    """One capture file as columns: output, then input."""
    tokenized = _tokenized(file, names, counters, start, end)
    if tokenized is not False:
        return tokenized
    try:
        # Only the fields the analysis reads, in blocks of a few MB so every core parses, read
        # from the file as they are parsed (the whole file is read into memory only if it has to
        # be taken line by line).
        table = pajson.read_json(
            str(file),
            read_options=pajson.ReadOptions(use_threads=True, block_size=4 << 20),
            parse_options=pajson.ParseOptions(explicit_schema=_CAPTURE_SCHEMA, unexpected_field_behavior="ignore"),
        )
        table.validate(full=True)  # the reader lets a string that is not UTF-8 through: line by line, that line is malformed
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        lines = _lines_one_by_one(file.read_bytes(), counters, start, end)
    else:
        fast = _columnar(table, names, counters, start, end)
        if fast is not None:
            return fast
        lines = [line for record in table.to_pylist() for line in _record_lines(record, counters, start, end)]
    return parse_rows(_joined(lines), names, counters) if lines else None


def _tokenized(file: Path, names: list[str], counters: Counters, start: datetime | None, end: datetime | None) -> Chunk | None | bool:
    """The commonest file read as CSV: every line the same JSON text around one CSV row in and one
    value out, so that splitting the lines at commas puts each value in a column of its own.

    The first line is the template, read as JSON: the tokens that hold the input's values, the
    output's, the event's ids and its inferenceTime are known by position, and every other token
    must equal the template's on every line. Anything else is False, for the JSON reader, which
    handles every case: a line of another shape, an escape (a backslash) in a value, a line no
    endpoint could capture, other encodings, several rows in one request. Reading 1M records
    takes two thirds of the time (1.74 -> 1.18 s), with the same columns and the same files.
    """
    with file.open("rb") as handle:
        first = handle.readline(MAX_LINE_BYTES + 1).rstrip(b"\n")
    try:
        record = json.loads(first)
        request, response = record["captureData"]["endpointInput"], record["captureData"]["endpointOutput"]
        values, output, moment = request["data"], response["data"], record["eventMetadata"]["inferenceTime"]
        text = first.decode("utf-8")
    except (ValueError, KeyError, TypeError):
        return False
    width = len(names) - 1
    if "\\" in text or (request.get("encoding"), response.get("encoding")) != ("CSV", "CSV") or not all(isinstance(v, str) for v in (values, output, moment)):
        return False
    if "," in output or values.count(",") + 1 != width:
        return False
    # Where each variable part sits: its token's index (commas before it) and the text around it in that token.
    spans = {}
    for key, value in (("input", values), ("output", output), ("time", moment)):
        quoted = f'"{value}"'
        if text.count(quoted) != 1:
            return False
        at = text.index(quoted) + 1
        begin = text.rfind(",", 0, at) + 1
        finish = text.find(",", at + len(value))
        spans[key] = (text.count(",", 0, at), text[begin:at], text[at + len(value) : len(text) if finish < 0 else finish])
    tokens = text.split(",")
    ids = {i for i, t in enumerate(tokens) if '"eventId"' in t or '"inferenceId"' in t}
    variable = set(range(spans["input"][0], spans["input"][0] + width)) | {spans["output"][0], spans["time"][0]} | ids
    try:
        table = pacsv.read_csv(
            str(file),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False, block_size=4 << 20),
            parse_options=pacsv.ParseOptions(delimiter=",", quote_char=False, escape_char=False),
            # Bytes, not strings: the reader skips checking UTF-8 (a sixth of its work). Constant
            # tokens are compared byte for byte, numbers parsed from the bytes, and only text that
            # is kept is checked (_strings).
            convert_options=pacsv.ConvertOptions(column_types={f"f{i}": pa.binary() for i in range(len(tokens))}),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # A line of another number of tokens, or one longer than a block (4 MB): the JSON
        # reader's, which knows a line no endpoint could capture. (No invalid-row handler:
        # pyarrow decodes the row for it and prints a traceback for one that is not UTF-8.)
        return False
    if table.num_columns != len(tokens):
        return False
    columns = table.columns
    del table
    for i, token in enumerate(tokens):
        if i not in variable and not all(_all_equal(chunk, token.encode()) for chunk in columns[i].chunks):
            return False

    def value_of(key: str, column: Any, first_token: bool, last_token: bool) -> pa.Array | None:
        column = column.combine_chunks()
        _, before, after = spans[key]
        if not (first_token and before or last_token and after):
            return column  # bytes: _block makes numbers or strings of them
        column = _strings(column)
        if column is None:
            return None
        if first_token and before:
            if not pc.all(pc.starts_with(column, before)).as_py():
                return None
            column = pc.utf8_slice_codeunits(column, len(before))
        if last_token and after:
            if not pc.all(pc.ends_with(column, after)).as_py():
                return None
            column = pc.utf8_slice_codeunits(column, 0, -len(after))
        return column

    first_input = spans["input"][0]
    inputs = [value_of("input", columns[first_input + j], j == 0, j == width - 1) for j in range(width)]
    outputs = value_of("output", columns[spans["output"][0]], True, True)
    times = value_of("time", columns[spans["time"][0]], True, True)
    del columns
    if outputs is None or times is None or any(column is None for column in inputs):
        return False
    if b"\\" in _text_bytes(times):
        return False  # an escape in a JSON string: the values' own are checked in _block
    outside = 0
    if start is not None or end is not None:
        keep = _in_window(times, start, end)
        if keep is None:
            return False
        outside = len(keep) - int(pc.sum(keep).as_py() or 0)
        outputs, inputs = outputs.filter(keep), [column.filter(keep) for column in inputs]
    rows = len(outputs)
    output_block, input_block = _block(rows, [outputs]), _block(rows, inputs)
    if output_block is None or input_block is None:
        return False
    counters.outside_window += outside
    counters.records += rows
    counters.rows += rows
    return [*output_block, *input_block] if rows else None


def _block(rows: int, columns: list[pa.Array]) -> list[Any] | None:
    """What ``_columns`` makes of a row-major block, from its columns (strings or bytes): numbers
    where every value of the block is a plain decimal number, all of them strings where one is
    not, and a column with an exponent as strings. None where a value holds a backslash (an
    escape in the JSON the CSV reader did not decode) or is not UTF-8."""
    parsed = []
    for column in columns:
        try:
            values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = None
        if values is None or not np.isfinite(values).all():
            if any(b"\\" in _text_bytes(c) for c in columns):
                return None
            strings = [_strings(c) for c in columns]
            return None if any(c is None for c in strings) else strings
        parsed.append(values)
    block: list[Any] = []
    for column, values in zip(columns, parsed):
        text = _text_bytes(column)  # a number has at most one point: counting bytes counts values
        if b"e" in text or b"E" in text:
            block.append(column.cast(pa.string()))  # a number: ASCII
        else:
            points = text.count(b".")
            block.append(NumericColumn(values, rows - points, points))
    return block


def _joined(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _columnar(table: pa.Table, names: list[str], counters: Counters, start: datetime | None, end: datetime | None) -> Chunk | None:
    """The common case in array operations: CSV in and out, one row per record, no quoting.

    Returns None when the file needs the record-by-record path (other encodings, several rows in
    one request, quoted values, another time format).
    """
    capture = table.column("captureData").combine_chunks()
    request, response = capture.field("endpointInput"), capture.field("endpointOutput")
    inputs, outputs = request.field("data"), response.field("data")
    encodings = pc.unique(pa.concat_arrays([request.field("encoding"), response.field("encoding")])).to_pylist()
    if encodings != ["CSV"] or inputs.null_count or outputs.null_count:
        return None
    # One look for anything unusual in the payloads' bytes; the narrower question only when something was found.
    texts = [_text_bytes(inputs), _text_bytes(outputs)]
    unusual = any(character in text for text in texts for character in (b"\n", b'"', b"e", b"E"))
    if unusual and any(character in text for text in texts for character in (b"\n", b'"')):
        return None  # several rows in one request, or quoted values: the record-by-record path
    if start is not None or end is not None:
        keep = _in_window(table.column("eventMetadata").combine_chunks().field("inferenceTime"), start, end)
        if keep is None:
            return None
        counters.outside_window += len(keep) - int(pc.sum(keep).as_py() or 0)
        inputs, outputs = inputs.filter(keep), outputs.filter(keep)
    counters.records += len(inputs)
    if not len(inputs):
        return None
    width = len(names) - 1  # input values per row; the output is the first column
    parts = pc.split_pattern(inputs, ",")
    lengths = np.diff(parts.offsets.to_numpy())
    wrong = lengths != width
    if wrong.any():
        for count, rows in zip(*np.unique(lengths[wrong] + 1, return_counts=True)):
            counters.widths[int(count)] = counters.widths.get(int(count), 0) + int(rows)
        good = pa.array(~wrong)
        parts, outputs = parts.filter(good), outputs.filter(good)
    rows = len(outputs)
    counters.rows += rows
    if not rows:
        return None
    flat = pc.list_flatten(parts)
    return [*_columns(outputs, rows, 1, unusual), *_columns(flat, rows, width, unusual)]


def _in_window(times: pa.Array, start: datetime | None, end: datetime | None) -> pa.Array | None:
    """Which records' inferenceTime is in [start, end): ISO-8601 with "Z" (fractions of a second
    allowed), UTC, compared as naive UTC. None when one is missing or in another format (the
    record-by-record path)."""
    try:
        moments = times.cast(pa.timestamp("ms", tz="UTC")).cast(pa.timestamp("ms"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if moments.null_count:
        return None
    keep = pc.is_valid(moments)
    if start is not None:
        keep = pc.and_(keep, pc.greater_equal(moments, pa.scalar(naive_utc(start), pa.timestamp("ms"))))
    if end is not None:
        keep = pc.and_(keep, pc.less(moments, pa.scalar(naive_utc(end), pa.timestamp("ms"))))
    return keep


def _strings(values: pa.Array) -> pa.Array | None:
    """Bytes as strings, None where they are not UTF-8 (ASCII, the common case, is known at once)."""
    if pa.types.is_string(values.type):
        return values
    if _text_bytes(values).isascii():
        return values.view(pa.string())
    try:
        return values.cast(pa.string())
    except pa.ArrowInvalid:
        return None


def _all_equal(strings: pa.Array, token: bytes) -> bool:
    """Whether every value of a string or binary array (no nulls) is ``token``: every value that
    long, and the values back to back the token repeated (a hundred times faster than comparing
    value by value)."""
    if strings.null_count:
        return False
    if not len(strings):
        return True
    _, offsets, _ = strings.buffers()
    lengths = np.diff(np.frombuffer(offsets, dtype=np.int32, count=len(strings) + 1, offset=strings.offset * 4))
    return bool((lengths == len(token)).all()) and _text_bytes(strings) == token * len(strings)


def _text_bytes(strings: pa.Array) -> bytes:
    """Every value of a string array, back to back, as one bytes object (what ``in`` searches at
    memory speed: ten times faster than a regular expression over the values)."""
    _, offsets, data = strings.buffers()
    if not len(strings) or data is None:
        return b""
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(strings) + 1, offset=strings.offset * 4)
    return bytes(memoryview(data)[int(bounds[0]) : int(bounds[-1])])


def _columns(flat: pa.Array, rows: int, width: int, exponents: bool = True) -> list[Any]:
    """Row-major values as ``width`` columns: numbers already parsed where every value is a plain
    decimal number, strings (typed value by value later) where not."""
    try:
        values = pc.cast(flat, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = None
    if values is not None and not np.isfinite(values).all():
        values = None  # "nan", "inf": text to Deequ
    if values is None:
        return [flat.take(pa.array(np.arange(j, rows * width, width))) for j in range(width)]
    # Deequ's types are textual: "20000.0" is Fractional, "6.7e-05" is a String.
    points = pc.match_substring(flat, ".").to_numpy(zero_copy_only=False).reshape(rows, width).sum(axis=0)
    exponent = (
        pc.or_(pc.match_substring(flat, "e"), pc.match_substring(flat, "E")).to_numpy(zero_copy_only=False).reshape(rows, width).any(axis=0)
        if exponents
        else np.zeros(width, dtype=bool)
    )
    matrix = values.reshape(rows, width)
    columns: list[Any] = []
    for j in range(width):
        if exponent[j]:
            columns.append(flat.take(pa.array(np.arange(j, rows * width, width))))
        else:
            columns.append(NumericColumn(np.ascontiguousarray(matrix[:, j]), rows - int(points[j]), int(points[j])))
    return columns


@dataclass
class NumericColumn:
    """A column chunk known to hold only numbers: the values and how many were written as integers."""

    values: np.ndarray
    integral: int
    fractional: int

    def __len__(self) -> int:
        return len(self.values)


def _lines_one_by_one(data: bytes, counters: Counters, start: datetime | None, end: datetime | None) -> list[str]:
    lines: list[str] = []
    for raw in data.splitlines():
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE_BYTES:
            counters.malformed_lines += 1
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
    if not in_window((record.get("eventMetadata") or {}).get("inferenceTime"), start, end):
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
