"""Captured predictions joined with ground truth by inference id, as Model Monitor merged them."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines.monitor.job.capture import merge
from tests.helpers.capture_helpers import captured, hour_file, label

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "monitor"
T0 = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)


def run(capture: Path, truth: Path, start: datetime, end: datetime, until: datetime, index: int = 0) -> tuple[list[str], list[float], list[str], merge.MergeCounters]:
    counters = merge.MergeCounters()
    labels, scores, ids = merge.join(merge.predictions(capture, start, end, index, counters), merge.ground_truth(truth, start, until, counters), counters)
    return labels.to_pylist(), scores.tolist(), ids.to_pylist(), counters


def test_the_sdks_own_capture_and_ground_truth_pair_joins_record_for_record(tmp_path: Path) -> None:
    moment = "2026-11-20T10:15:00Z"
    hour_file(tmp_path / "capture", T0, (GOLDEN / "capture_csv_sdk_testdata_template.jsonl").read_text().replace("{%s}", moment).splitlines())
    hour_file(tmp_path / "truth", T0, (GOLDEN / "ground_truth_sdk_testdata_template.jsonl").read_text().replace("{%s}", moment).splitlines())
    labels, scores, ids, counters = run(tmp_path / "capture", tmp_path / "truth", T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1))
    truth = {json.loads(line)["eventMetadata"]["eventId"]: json.loads(line)["groundTruthData"]["data"] for line in (GOLDEN / "ground_truth_sdk_testdata_template.jsonl").read_text().splitlines()}
    assert counters.matched == len(truth) == 44 and counters.predictions_without_label == counters.labels_without_prediction == 0
    assert labels == [truth[i] for i in ids] and scores[0] == 0.302709460258


def test_a_real_capture_with_inference_ids_is_matched_by_them(tmp_path: Path) -> None:
    lines = (GOLDEN / "capture_csv_with_inferenceId_2021-10-27.jsonl").read_text().splitlines()
    moment = datetime(2021, 10, 27, 21, tzinfo=timezone.utc)
    hour_file(tmp_path / "capture", moment, lines)
    hour_file(tmp_path / "truth", moment + timedelta(hours=1), [label("57", "1"), label("58", "0")] + [label(json.loads(lines[0])["eventMetadata"]["eventId"], "0")])
    labels, scores, ids, counters = run(tmp_path / "capture", tmp_path / "truth", moment, moment + timedelta(hours=1), moment + timedelta(hours=2))
    assert ids == ["57", "58"] and labels == ["1", "0"] and scores == [0.5217539072036743, 0.01216088142246008]
    assert counters.labels_without_prediction == 1  # the eventId of a record that has an inferenceId does not match


def test_unmatched_repeated_and_unreadable_records_are_counted_both_ways(tmp_path: Path) -> None:
    capture, truth = tmp_path / "capture", tmp_path / "truth"
    hour_file(capture, T0, [
        captured("e1", "0.9", T0), captured("e2", "0.2", T0, inference_id="i2"), captured("e3", "0.4", T0), captured("e4", "high", T0),
        captured("e5", "0.1\n0.7", T0), captured("e6", "0.3", T0 - timedelta(minutes=1)), "{not json", captured("e1", "0.8", T0 + timedelta(minutes=5)),
    ])  # fmt: skip
    hour_file(truth, T0 + timedelta(minutes=30), [label("e1", "1"), label("i2", "0"), label("i2", "1"), label("nobody", "1"), json.dumps({"eventMetadata": {"eventId": "x"}})])
    labels, scores, ids, counters = run(capture, truth, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1))
    assert dict(zip(ids, zip(labels, scores, strict=True), strict=True)) == {"i2": ("1", 0.2), "e1": ("1", 0.8)}  # the last label and the last prediction of an id win
    assert counters.as_dict() == {
        "capture_files": 1, "predictions": 6, "outside_window": 1, "unreadable_predictions": 2, "several_rows": 1, "repeated_prediction_ids": 1,
        "ground_truth_files": 1, "labels": 4, "unreadable_labels": 1, "repeated_label_ids": 1,
        "matched": 2, "predictions_without_label": 1, "labels_without_prediction": 1,
    }  # fmt: skip


def test_json_and_base64_outputs_and_a_probability_by_index(tmp_path: Path) -> None:
    capture, truth = tmp_path / "capture", tmp_path / "truth"
    hour_file(capture, T0, [
        captured("a", "0.7", T0, encoding="JSON", content="application/json"),
        captured("b", base64.b64encode(b"1,0.35").decode(), T0, encoding="BASE64"),
        captured("c", "0,0.6", T0),
    ])  # fmt: skip
    hour_file(truth, T0, [label("a", "1"), label("b", "0"), label("c", "1")])
    _, scores, ids, counters = run(capture, truth, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1), index=1)
    assert dict(zip(ids, scores, strict=True)) == {"b": 0.35, "c": 0.6} and counters.unreadable_predictions == 1  # "0.7" has no second value
    _, scores, ids, _ = run(capture, truth, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1), index=0)
    assert dict(zip(ids, scores, strict=True)) == {"a": 0.7, "b": 1.0, "c": 0.0}


def test_labels_collected_later_are_found_by_a_later_run_of_the_window(tmp_path: Path) -> None:
    capture, truth = tmp_path / "capture", tmp_path / "truth"
    hour_file(capture, T0, [captured(f"e{i}", "0.6", T0 + timedelta(minutes=i)) for i in range(10)])
    hour_file(truth, T0 + timedelta(hours=1), [label(f"e{i}", "1") for i in range(6)], "first.jsonl")
    hour_file(truth, T0 + timedelta(hours=3), [label(f"e{i}", "0") for i in range(6, 10)], "late.jsonl")
    window = (T0, T0 + timedelta(hours=1))
    *_, on_time = run(capture, truth, *window, until=T0 + timedelta(hours=2))
    assert (on_time.matched, on_time.predictions_without_label) == (6, 4)
    *_, later = run(capture, truth, *window, until=T0 + timedelta(hours=4))
    assert (later.matched, later.predictions_without_label) == (10, 0)
    # Labels collected before the window's start are not read (the hour they were collected in).
    *_, before = run(capture, truth, T0 + timedelta(hours=2), T0 + timedelta(hours=3), until=T0 + timedelta(hours=3))
    assert before.labels == 0


@pytest.mark.parametrize("empty", ["capture", "truth"])
def test_nothing_to_merge_is_counted_not_raised(tmp_path: Path, empty: str) -> None:
    if empty != "capture":
        hour_file(tmp_path / "capture", T0, [captured("e1", "0.5", T0)])
    else:
        hour_file(tmp_path / "truth", T0, [label("e1", "1")])
    *_, counters = run(tmp_path / "capture", tmp_path / "truth", T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1))
    assert counters.matched == 0
