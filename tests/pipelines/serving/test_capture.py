"""Capture records in SageMaker's shape and layout, read back by the monitor."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from pipelines.monitor.job.capture import dataset
from pipelines.serving.capture import CaptureSettings, CaptureWriter

CONFIG = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": "s3://b/capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
}


def lines(root: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(root.rglob("*.jsonl")) for line in path.read_text().splitlines()]


def test_records_have_sagemakers_shape_and_layout(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "ep", "AllTraffic", CaptureSettings.from_config(CONFIG), tmp_path / "stats.json")
    writer.record(b"1,2,3", "text/csv", b"0.25", "text/csv", "id-1")
    writer.record(b'{"instances": [[1, 2, 3]]}', "application/json", b'{"predictions": [{"score": 0.5}]}', "application/json", None)
    writer.record(b"\x00\x01binary", "application/x-npy", b"0.75", "text/csv", None)
    writer.close()
    files = list((tmp_path / "ep" / "AllTraffic").rglob("*.jsonl"))
    assert len(files) == 1
    assert files[0].parent.relative_to(tmp_path / "ep" / "AllTraffic").as_posix().count("/") == 3  # yyyy/mm/dd/hh
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    first, second, third = lines(tmp_path)
    assert set(first) == {"captureData", "eventMetadata", "eventVersion"} and first["eventVersion"] == "0"
    assert first["captureData"]["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,2,3", "encoding": "CSV"}
    assert first["captureData"]["endpointOutput"]["data"] == "0.25"
    assert first["eventMetadata"]["inferenceId"] == "id-1" and first["eventMetadata"]["inferenceTime"].endswith("Z")
    assert second["captureData"]["endpointInput"]["encoding"] == "JSON" and "inferenceId" not in second["eventMetadata"]
    assert third["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert json.loads((tmp_path / "stats.json").read_text())["written"] == 3


def test_sampling_and_capture_options(tmp_path: Path) -> None:
    never = CaptureSettings.from_config({**CONFIG, "InitialSamplingPercentage": 0})
    half = CaptureSettings.from_config({**CONFIG, "InitialSamplingPercentage": 50})
    assert not any(never.sampled() for _ in range(1000))
    assert 400 < sum(half.sampled() for _ in range(1000)) < 600
    input_only = CaptureSettings.from_config({**CONFIG, "CaptureOptions": [{"CaptureMode": "Input"}]})
    writer = CaptureWriter(tmp_path, "ep", "AllTraffic", input_only)
    writer.record(b"1,2", "text/csv", b"0.1", "text/csv", None)
    writer.close()
    assert set(lines(tmp_path)[0]["captureData"]) == {"endpointInput"}


def test_a_full_buffer_drops_and_counts(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "ep", "AllTraffic", CaptureSettings.from_config(CONFIG), limit=0)
    writer.record(b"1", "text/csv", b"0.1", "text/csv", None)
    writer.close()
    assert (writer.captured, writer.dropped) == (0, 1)


def test_the_monitor_reads_what_the_endpoint_writes(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "ep", "AllTraffic", CaptureSettings.from_config(CONFIG))
    for i in range(100):
        writer.record(f"{i},{i * 2}".encode(), "text/csv", f"0.{i:02d}".encode(), "text/csv", None)
    writer.close()
    counters = dataset.Counters()
    chunks = list(dataset.read_capture(tmp_path / "ep", ["out", "a", "b"], counters))
    assert counters.rows == 100 and counters.malformed_lines == 0
    assert sum(len(chunk[0]) for chunk in chunks) == 100


class FullDisk:
    """os.write as a disk that fills up: after ``room`` bytes a write is cut short, then refused
    with ENOSPC until ``free()``; what it accepts reaches the real file."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.refused = 0

    def __call__(self, fd: int, data: bytes) -> int:
        import errno
        import os

        if self.room <= 0:
            self.refused += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        accepted = os.write(fd, bytes(data[: self.room]))
        self.room -= accepted
        return accepted

    def free(self) -> None:
        self.room = 10**9


def test_a_full_disk_drops_whole_batches_counts_them_and_capture_resumes(tmp_path: Path) -> None:
    import threading

    disk = FullDisk(room=1500)  # a few records fit; the batch that crosses the edge is cut short
    writer = CaptureWriter(tmp_path, "ep", "AllTraffic", CaptureSettings.from_config(CONFIG), tmp_path / "stats.json", write=disk)
    drained = threading.Event()

    def send(first: int, count: int) -> None:
        for i in range(first, first + count):
            writer.record(f"{i},{i}".encode(), "text/csv", b"0.5", "text/csv", f"r{i}")
        while writer.written + writer.dropped < first + count:  # the writer has handled all of them
            drained.wait(0.005)

    send(0, 3)
    send(3, 40)
    assert disk.refused > 0 or disk.room == 0
    assert writer.dropped > 0 and writer.written + writer.dropped == 43
    on_disk = [line for path in (tmp_path / "ep").rglob("*.jsonl") for line in path.read_text().split("\n")[:-1]]
    assert all(json.loads(line) for line in on_disk)  # whole lines only: the cut-short write was undone
    assert len(on_disk) == writer.written
    disk.free()
    send(43, 10)  # room again: the same writer captures again
    writer.close()
    records = lines(tmp_path)
    assert len(records) == writer.written and {f"r{i}" for i in range(43, 53)} <= {r["eventMetadata"]["inferenceId"] for r in records}
    assert all(path.read_bytes().endswith(b"\n") for path in (tmp_path / "ep").rglob("*.jsonl"))
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert (stats["captured"], stats["written"], stats["dropped"]) == (53, writer.written, writer.dropped) and stats["written"] + stats["dropped"] == 53


def test_a_failing_batch_does_not_end_the_writer_thread(tmp_path: Path) -> None:
    import threading

    writer = CaptureWriter(tmp_path, "ep", "AllTraffic", CaptureSettings.from_config(CONFIG))
    writer.record(b"1,2", "text/csv", b"0.1", "text/csv", object())  # type: ignore[arg-type] - a record the formatter chokes on
    while writer.dropped == 0:
        threading.Event().wait(0.005)
    assert writer._thread.is_alive()
    writer.record(b"3,4", "text/csv", b"0.2", "text/csv", "after")
    while writer.written == 0:
        threading.Event().wait(0.005)
    writer.close()
    assert (writer.written, writer.dropped) == (1, 1) and lines(tmp_path)[0]["eventMetadata"]["inferenceId"] == "after"
