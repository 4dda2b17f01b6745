"""Data capture in SageMaker's format, written off the request path.

``{destination}/{endpoint}/{variant}/yyyy/mm/dd/hh/{MM}-{SS}-{mmm}-{uuid}.jsonl``, one JSON
object per line: ``captureData.endpointInput``/``endpointOutput`` (observedContentType, mode,
data, encoding: CSV or JSON for the configured content types, else BASE64) and
``eventMetadata`` (eventId, inferenceId when the caller gave one, inferenceTime), ``eventVersion``.

A request only appends a small tuple to a bounded buffer; a writer thread turns batches into
lines and appends each batch to the hour's file. ``close()`` (on SIGTERM or Ctrl-C) writes
everything still buffered: every answered request that was sampled is on disk. Files are
readable by their owner only: captured rows hold personal data.

Counters: ``captured`` records were taken into the buffer, ``written`` are on disk, ``dropped``
are lost: the buffer was full, or the disk refused them. A write the disk refuses (full,
quota, I/O error) or cuts short is undone back to the file's previous end, so a file never
ends in half a line; its records are counted as dropped, the failure is logged once, and the
next batch tries again, so capture resumes by itself once there is room. The writer thread
never dies: an unexpected error in a batch drops that batch, counted, with its traceback in
the log.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

logger = logging.getLogger("pipelines.serving.capture")
DEFAULT_CSV_TYPES = ("text/csv",)
DEFAULT_JSON_TYPES = ("application/json",)
BUFFER_LIMIT = 100_000
FLUSH_SECONDS = 0.01  # small batches: short GIL holds on the writer thread


@dataclass(frozen=True)
class CaptureSettings:
    enabled: bool
    percentage: float
    capture_input: bool
    capture_output: bool
    csv_types: tuple[str, ...]
    json_types: tuple[str, ...]

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> "CaptureSettings":
        config = config or {}
        modes = {o.get("CaptureMode") for o in config.get("CaptureOptions") or [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}
        header = config.get("CaptureContentTypeHeader") or {}
        return cls(
            enabled=bool(config.get("EnableCapture", False)),
            percentage=float(config.get("InitialSamplingPercentage", 100)),
            capture_input="Input" in modes,
            capture_output="Output" in modes,
            csv_types=tuple(t.lower() for t in header.get("CsvContentTypes") or DEFAULT_CSV_TYPES),
            json_types=tuple(t.lower() for t in header.get("JsonContentTypes") or DEFAULT_JSON_TYPES),
        )

    def sampled(self) -> bool:
        return self.enabled and (self.percentage >= 100 or random.random() * 100 < self.percentage)


class CaptureWriter:
    def __init__(
        self, root: Path, endpoint: str, variant: str, settings: CaptureSettings, stats_path: Path | None = None,
        limit: int = BUFFER_LIMIT, clock: Callable[[], float] = time.time, write: Callable[[int, bytes], int] = os.write,
    ) -> None:  # fmt: skip
        self.folder = root / endpoint / variant
        self._write = write  # os.write; a seam for tests of a full disk
        self.clock = clock
        self.settings = settings
        self.stats_path = stats_path
        self.limit = limit
        self.captured = 0
        self.dropped = 0
        self.written = 0
        self._buffer: deque[tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._stop = False
        self._files: dict[str, int] = {}  # hour folder -> fd
        self._failing: str | None = None  # why writes fail, while they do
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"capture-{endpoint}", daemon=True)
        self._thread.start()

    # -- the request path -------------------------------------------------------------------
    def record(self, request: bytes, request_type: str, response: bytes, response_type: str, inference_id: str | None) -> None:
        """Buffer one request and its response (cheap; formatting happens on the writer thread)."""
        if len(self._buffer) >= self.limit:
            self.dropped += 1
            return
        self._buffer.append((self.clock(), request, request_type, response, response_type, inference_id))
        self.captured += 1

    # -- the writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        last_stats = 0.0
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self._drain()
                if time.monotonic() - last_stats > 1.0:
                    self._write_stats()
                    last_stats = time.monotonic()
            except Exception:  # noqa: BLE001 - the thread outlives any one failure
                logger.exception("capture of %s: the writer failed; it goes on with the next batch", self.folder)
            if self._stop and not self._buffer:
                return

    def _drain(self) -> None:
        batch = []
        while self._buffer:
            batch.append(self._buffer.popleft())
        if not batch:
            return
        try:
            lines: dict[str, list[str]] = {}
            for moment, request, request_type, response, response_type, inference_id in batch:
                stamp = datetime.fromtimestamp(moment, timezone.utc)
                lines.setdefault(stamp.strftime("%Y/%m/%d/%H"), []).append(self._line(stamp, request, request_type, response, response_type, inference_id))
        except Exception:  # noqa: BLE001 - a bug in one batch must not end capture for good
            logger.exception("capture of %s: %d record(s) could not be formatted and were dropped", self.folder, len(batch))
            self.dropped += len(batch)
            return
        with self._lock:
            for hour, items in lines.items():
                try:
                    self._append(hour, ("\n".join(items) + "\n").encode())
                except OSError as exc:
                    self.dropped += len(items)
                    self._failed(exc)
                    continue
                self.written += len(items)
                self._resumed()

    def _append(self, hour: str, data: bytes) -> None:
        """Append whole lines to the hour's file, or nothing: a refused or short write is undone."""
        fd = self._file(hour, data)
        end = os.fstat(fd).st_size
        view = memoryview(data)
        try:
            while view:
                done = self._write(fd, view)
                if done <= 0:
                    raise OSError(28, "No space left on device (a write of 0 bytes)")
                view = view[done:]
        except OSError:
            try:
                os.ftruncate(fd, end)
            except OSError:
                logger.exception("capture file of %s could not be cut back to its last whole line; the monitor skips a malformed last line", hour)
            raise

    def _failed(self, exc: OSError) -> None:
        reason = f"{exc.strerror or exc}"
        if self._failing != reason:
            logger.error("capture of %s: %s; records are dropped (and counted) until writes succeed again", self.folder, reason)
            self._failing = reason

    def _resumed(self) -> None:
        if self._failing is not None:
            logger.warning("capture of %s: writing again (%d record(s) dropped so far)", self.folder, self.dropped)
            self._failing = None

    def _line(self, stamp: datetime, request: bytes, request_type: str, response: bytes, response_type: str, inference_id: str | None) -> str:
        # Templated rather than json.dumps of a nested dict: the writer holds the GIL for less
        # time per batch, which is what the request path's tail latency sees.
        parts = []
        if self.settings.capture_input:
            parts.append('"endpointInput":' + self._payload(request, request_type, "INPUT"))
        if self.settings.capture_output:
            parts.append('"endpointOutput":' + self._payload(response, response_type, "OUTPUT"))
        metadata = f'"eventId":"{uuid.uuid4()}"'
        if inference_id:
            metadata += f',"inferenceId":{json.dumps(inference_id)}'
        metadata += f',"inferenceTime":"{stamp:%Y-%m-%dT%H:%M:%SZ}"'
        return '{"captureData":{' + ",".join(parts) + '},"eventMetadata":{' + metadata + '},"eventVersion":"0"}'

    def _payload(self, body: bytes, content_type: str, mode: str) -> str:
        kind = content_type.split(";")[0].strip().lower()
        encoding, data = "BASE64", None
        if kind in self.settings.csv_types or kind in self.settings.json_types:
            try:
                data = body.decode("utf-8")
                encoding = "CSV" if kind in self.settings.csv_types else "JSON"
            except UnicodeDecodeError:
                data = None
        if data is None:
            data = base64.b64encode(body).decode()
        return f'{{"observedContentType":{json.dumps(content_type)},"mode":"{mode}","data":{json.dumps(data)},"encoding":"{encoding}"}}'

    def _file(self, hour: str, data: bytes) -> int:
        if hour not in self._files:
            for old in list(self._files):
                os.close(self._files.pop(old))  # a new hour: the previous file is finished
            folder = self.folder / hour
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            first = json.loads(data[: data.index(b"\n")])["eventMetadata"]["inferenceTime"]
            name = f"{first[14:16]}-{first[17:19]}-{int(time.time() * 1000) % 1000:03d}-{uuid.uuid4()}.jsonl"
            self._files[hour] = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return self._files[hour]

    def _write_stats(self) -> None:
        if self.stats_path is None:
            return
        stats = {"captured": self.captured, "dropped": self.dropped, "written": self.written, "pid": os.getpid(), "time": time.time()}
        partial = self.stats_path.with_suffix(".partial")
        try:
            partial.write_text(json.dumps(stats))
            os.replace(partial, self.stats_path)
        except OSError as exc:  # a full disk: the counts are written at the next chance
            partial.unlink(missing_ok=True)
            logger.debug("capture counts not written: %s", exc)

    def close(self) -> None:
        """Write everything buffered, close the files, leave the final counts."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=30)
        self._drain()
        with self._lock:
            for fd in self._files.values():
                os.close(fd)
            self._files.clear()
        self._write_stats()
