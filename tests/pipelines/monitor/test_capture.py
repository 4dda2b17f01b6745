"""Captured traffic in SageMaker's layout, read as the analyzer reads it."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from pipelines.monitor.job.capture import dataset
from pipelines.monitor.job.common.result import JobFailed
from pipelines.monitor.job.data_quality import analyzer
from tests.helpers.capture_helpers import record, write_capture

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "monitor"
START = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def as_text(column: object) -> list[str]:
    """A chunk's column as text: parsed numbers are written back as the JSON number they were."""
    if isinstance(column, dataset.NumericColumn):
        return [str(int(v)) if column.fractional == 0 else repr(float(v)) for v in column.values]
    return column.to_pylist()  # type: ignore[attr-defined]


def rows(root: Path, names: list[str], start: datetime | None = None, end: datetime | None = None) -> tuple[list[list[str]], dataset.Counters]:
    counters = dataset.Counters()
    columns: list[list[str]] = [[] for _ in names]
    for chunk in dataset.read_capture(root, names, counters, start, end):
        for values, column in zip(columns, chunk, strict=True):
            values.extend(as_text(column))
    return [list(r) for r in zip(*columns, strict=True)], counters


def test_real_sagemaker_capture_lines_csv_and_json(tmp_path: Path) -> None:
    churn = GOLDEN / "capture_csv_xgb_churn_2022-04-18.jsonl"
    first = json.loads(churn.read_text().splitlines()[0])["captureData"]
    width = 1 + len(first["endpointInput"]["data"].split(","))
    got, counters = rows(churn, [f"c{i}" for i in range(width)])
    assert len(got) == 3 and counters.records == 3 and counters.malformed_lines == 0
    assert got[0][0] == "0.036397725343704224" and got[0][1] == "132"
    linear = GOLDEN / "capture_json_linear_learner_2024-01-19.jsonl"
    got, counters = rows(linear, [f"c{i}" for i in range(15)])
    assert counters.undecodable_payloads == 0 and len(got) >= counters.records > 0  # a request may hold several rows
    assert got[0][:3] == ["0.9899773597717285", "28", "2"]


def test_base64_multi_row_and_window(tmp_path: Path) -> None:
    payload = base64.b64encode(b"1,2\n3,4").decode()
    records = [
        record(payload, "0.1\n0.2", START + timedelta(minutes=5), encoding="BASE64", content_type="application/x-custom+csv"),
        record("5,6", "0.3", START + timedelta(hours=1, minutes=1)),
        record(json.dumps([7, 8]), "0.4", START + timedelta(minutes=30), content_type="application/json", encoding="JSON"),
    ]
    write_capture(tmp_path, records)
    got, counters = rows(tmp_path, ["out", "a", "b"], START, START + timedelta(hours=1))
    assert sorted(got) == [["0.1", "1", "2"], ["0.2", "3", "4"], ["0.4", "7", "8"]]
    assert counters.records == 2 and counters.files == 1  # the 11:00 folder is not read


def test_bad_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "ep" / "AllTraffic" / START.strftime("%Y/%m/%d/%H")
    folder.mkdir(parents=True)
    good = json.dumps(record("1,2", "0.5", START))
    undecodable = json.dumps(record("!!not base64!!", "0.5", START, encoding="BASE64"))
    short = json.dumps(record("1", "0.5", START))
    (folder / "a.jsonl").write_text("\n".join([good, "{broken json", undecodable, short, good]) + "\n")
    got, counters = rows(tmp_path, ["out", "a", "b"])
    assert got == [["0.5", "1", "2"], ["0.5", "1", "2"]]
    assert counters.malformed_lines == 1 and counters.undecodable_payloads == 1 and counters.widths == {2: 1}


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # nothing printed as "Exception ignored"
def test_the_files_read_as_csv_give_what_the_json_reader_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The common file (one CSV row in, one value out, every line alike) is split at commas
    (dataset._tokenized); anything else goes to the JSON reader. The analyzer's files and counters
    are the same byte for byte either way, with exponents, empty values, integers and fractions,
    and a window."""
    taken: list[bool] = []
    tokenized = dataset._tokenized

    def spy(*args: object) -> object:
        result = tokenized(*args)  # type: ignore[arg-type]
        taken.append(result is not False)
        return result

    values = ["20000,2,0.5", "1.5e-05,3,7", "30000.0,,2", "4,5,6.25", "-1,0,1E3"]
    alike = [record(values[i % 5], f"0.{i + 1}", START + timedelta(minutes=7 * i)) for i in range(20)]
    (tmp_path / "baseline.csv").write_text("out,a,b,c\n" + "".join(f"0.{i + 1},{values[i % 5]}\n" for i in range(20)))
    analyzer.baseline(tmp_path / "baseline.csv", tmp_path / "baseline")
    write_capture(tmp_path / "alike", alike)
    odd = [dict(r, eventMetadata=dict(r["eventMetadata"], inferenceId=f"id,{i}")) for i, r in enumerate(alike[:5])]  # a comma in an id
    write_capture(tmp_path / "comma", odd)
    escaped = [record("1,2,3", "0.5", START), record("4,5,6", '0.5"', START + timedelta(minutes=1))]  # a quote, escaped in JSON
    write_capture(tmp_path / "escaped", escaped)
    reordered = [record("1,2,3", "0.5", START), {"eventVersion": "0", **record("4,5,6", "0.6", START + timedelta(minutes=1))}]  # keys in another order
    write_capture(tmp_path / "reordered", reordered)
    huge = [record("1,2,3", "0.5", START), record("1," + "2" * (25 << 20) + ",3", "0.6", START + timedelta(minutes=1))]  # the right shape, too long to capture
    write_capture(tmp_path / "huge", huge)
    texts = [record(f"1,{word},3", "0.5", START + timedelta(minutes=i)) for i, word in enumerate(["café", "2", "naïve"])]
    hour_folder = tmp_path / "{}" / "ep" / "AllTraffic" / START.strftime("%Y/%m/%d/%H")
    for case, lines in {
        "unicode": [json.dumps(r, ensure_ascii=False).encode() for r in texts],  # UTF-8 as it is, no escapes: read as CSV
        "invalid": [json.dumps(texts[1]).encode(), json.dumps(texts[0]).encode().replace(b"caf\\u00e9", b"caf\xe9")],  # not UTF-8
        "cut": [json.dumps(texts[1]).encode(), json.dumps(texts[0]).encode()[:60] + b"\xff"],  # a line cut short, not UTF-8 where it ends
        "invalid-id": [json.dumps(texts[1]).encode(), json.dumps(texts[1]).encode().replace(b'"eventId": "', b'"eventId": "\xff')],  # not read, either way
    }.items():
        Path(str(hour_folder).format(case)).mkdir(parents=True)
        (Path(str(hour_folder).format(case)) / "00-00-000-a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    window = (START + timedelta(minutes=30), START + timedelta(minutes=100))
    hour = (START, START + timedelta(hours=1))
    for case, (start, end) in {"alike": (START, START + timedelta(hours=3)), "alike-window": window, "comma": hour, "escaped": hour, "reordered": hour, "huge": hour, "unicode": hour, "invalid": hour, "cut": hour, "invalid-id": hour}.items():
        outputs = []
        for reader in (spy, lambda *args: False):
            monkeypatch.setattr(dataset, "_tokenized", reader)
            taken.clear()
            out = tmp_path / "out" / case / str(len(outputs))
            result = analyzer.monitor(tmp_path / case.removesuffix("-window") / "ep" / "AllTraffic", out, tmp_path / "baseline" / "statistics.json", tmp_path / "baseline" / "constraints.json", start=start, end=end)
            outputs.append((result.counters, [json.loads((out / name).read_text()) for name in ("statistics.json", "constraint_violations.json")]))
            if reader is spy:
                assert taken and taken == [case in ("alike", "alike-window", "unicode", "invalid-id")] * len(taken), case  # the fast path only where every line is alike
        assert outputs[0] == outputs[1], case
        if case == "huge":
            assert outputs[0][0]["records"] == 1 and outputs[0][0]["malformed_lines"] == 1  # one record read, one line too long
        if case in ("invalid", "cut"):
            assert outputs[0][0]["records"] == 1 and outputs[0][0]["malformed_lines"] == 1  # the line that is not UTF-8 left out


@pytest.fixture(scope="module")
def base(evaluated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("capture-baseline")
    analyzer.baseline(evaluated / "baseline" / "baseline.csv", out)
    return out


def capture_from(scored: Path, root: Path, start: datetime, spread: timedelta) -> int:
    frame = pd.read_csv(scored, dtype=str)
    step = spread / len(frame)
    records = [record(",".join(row[1:]), row[0], start + step * i) for i, row in enumerate(frame.itertuples(index=False))]
    write_capture(root, records)
    return len(records)


def test_a_window_of_captured_traffic_against_the_baseline(base: Path, scored_test: Path, tmp_path: Path) -> None:
    total = capture_from(scored_test, tmp_path / "capture", START, timedelta(hours=3))
    result = analyzer.monitor(tmp_path / "capture" / "ep" / "AllTraffic", tmp_path / "out", base / "statistics.json", base / "constraints.json", start=START + timedelta(hours=1), end=START + timedelta(hours=2), publish_metrics=True)
    assert result.violations == []
    assert abs(result.counters["records"] - total / 3) <= 1
    metrics = json.loads((tmp_path / "out" / "cloudwatch_metrics.json").read_text())["metrics"]
    assert "feature_baseline_drift_LIMIT_BAL" in metrics and metrics["feature_non_null_AGE"] == 1.0


def test_an_empty_window_fails_with_a_reason(base: Path, tmp_path: Path) -> None:
    (tmp_path / "capture").mkdir()
    with pytest.raises(JobFailed, match="No data to analyze in .* between 2026-11-20T10:00:00\\+00:00 and 2026-11-20T11:00:00\\+00:00"):
        analyzer.monitor(tmp_path / "capture", tmp_path / "out", base / "statistics.json", base / "constraints.json", start=START, end=START + timedelta(hours=1))
    assert not (tmp_path / "out").exists()


def test_a_record_no_endpoint_could_capture_is_malformed_and_the_rest_is_read(tmp_path: Path) -> None:
    """A 40 MB line (InvokeEndpoint carries at most 6 MiB each way) is counted as malformed by
    each capture reader, and the hour's other records are analysed, not the hour failed."""
    from pipelines.monitor.job.capture import merge
    from pipelines.monitor.job.common import capture_rows, layout

    folder = tmp_path / "ep" / "AllTraffic" / START.strftime("%Y/%m/%d/%H")
    folder.mkdir(parents=True)
    good = [json.dumps(record("1,2", "0.5", START + timedelta(minutes=m))) for m in range(3)]
    huge = json.dumps(record("1," * (20 << 20) + "2", "0.5", START))
    assert len(huge) > 40_000_000 > layout.MAX_LINE_BYTES
    (folder / "a.jsonl").write_text("\n".join([good[0], huge, *good[1:]]) + "\n")
    got, counters = rows(tmp_path, ["out", "a", "b"])
    assert got == [["0.5", "1", "2"]] * 3 and counters.malformed_lines == 1 and counters.records == 3
    read = capture_rows.read(tmp_path, None, None, width=2)
    assert len(read.ids) == 3 and read.counters.malformed_lines == 1
    merged = merge.MergeCounters()
    assert merge.predictions(tmp_path, None, None, 0, merged).num_rows == 3 and merged.unreadable_predictions == 1


def test_the_payloads_bytes_are_the_values_of_the_array_however_it_is_sliced() -> None:
    """What the quick look for quotes, newlines and exponents reads: exactly the array's values."""
    import pyarrow as pa

    values = pa.array(["1,2", 'a"b', "3e5", "", "x\ny"])
    assert dataset._text_bytes(values) == b'1,2a"b3e5x\ny'
    assert dataset._text_bytes(values.slice(1, 1)) == b'a"b'
    assert dataset._text_bytes(values.slice(2, 2)) == b"3e5"
    assert dataset._text_bytes(values.slice(3, 1)) == b""
    assert dataset._text_bytes(pa.array(["", ""])) == b""
    assert dataset._text_bytes(pa.array([], pa.string())) == b""
    record = pa.StructArray.from_arrays([pa.array(["0.1", "0.2", '"9"']), values.slice(0, 3)], ["output", "input"])
    assert dataset._text_bytes(record.slice(2, 1).field("input")) == b"3e5"  # a struct's field keeps the slice


def test_a_constant_token_is_every_value_byte_for_byte_however_the_array_is_sliced() -> None:
    """How the CSV path checks the tokens every line must share: the values' lengths and their
    bytes back to back, so that values split elsewhere ("a", "bab") are not the token twice."""
    import pyarrow as pa

    def tokens(*values: bytes) -> pa.Array:
        return pa.array(list(values), pa.binary())

    assert dataset._all_equal(tokens(b"ab", b"ab"), b"ab")
    assert not dataset._all_equal(tokens(b"a", b"bab"), b"ab")  # the same bytes back to back, split otherwise
    assert not dataset._all_equal(tokens(b"ab", b"ac"), b"ab")
    assert dataset._all_equal(tokens(b"ac", b"ab", b"ab").slice(1), b"ab")
    assert not dataset._all_equal(tokens(b"ab", b"ac", b"ab").slice(0, 2), b"ab")
    assert dataset._all_equal(tokens(b"", b""), b"") and dataset._all_equal(tokens(), b"x")
    assert not dataset._all_equal(pa.array([b"ab", None], pa.binary()), b"ab")
