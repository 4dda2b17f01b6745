"""Data capture in SageMaker's format, written off the request path.

``{destination}/{endpoint}/{variant}/yyyy/mm/dd/hh/{MM}-{SS}-{mmm}-{uuid}.jsonl``, one JSON
object per line: ``captureData.endpointInput``/``endpointOutput`` (observedContentType, mode,
data, encoding: CSV or JSON for the configured content types, else BASE64) and
``eventMetadata`` (eventId, inferenceId when the caller gave one, inferenceTime), ``eventVersion``.

A request only appends a small tuple to a bounded buffer; a writer thread turns batches into
lines and appends each batch to the hour's file in one write, so a line is never half-written.
A full buffer drops the record and counts it. ``close()`` (on SIGTERM or Ctrl-C) writes
everything still buffered: every answered request that was sampled is on disk. Files are
readable by their owner only: captured rows hold personal data.
"""

from __future__ import annotations

import base64
import json
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
    def __init__(self, root: Path, endpoint: str, variant: str, settings: CaptureSettings, stats_path: Path | None = None, limit: int = BUFFER_LIMIT, clock: Callable[[], float] = time.time) -> None:
        self.folder = root / endpoint / variant
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
            self._drain()
            if time.monotonic() - last_stats > 1.0:
                self._write_stats()
                last_stats = time.monotonic()
            if self._stop and not self._buffer:
                return

    def _drain(self) -> None:
        batch = []
        while self._buffer:
            batch.append(self._buffer.popleft())
        if not batch:
            return
        lines: dict[str, list[str]] = {}
        for moment, request, request_type, response, response_type, inference_id in batch:
            stamp = datetime.fromtimestamp(moment, timezone.utc)
            lines.setdefault(stamp.strftime("%Y/%m/%d/%H"), []).append(self._line(stamp, request, request_type, response, response_type, inference_id))
        with self._lock:
            for hour, items in lines.items():
                os.write(self._file(hour, items), ("\n".join(items) + "\n").encode())
            self.written += len(batch)

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

    def _file(self, hour: str, items: list[str]) -> int:
        if hour not in self._files:
            for old in list(self._files):
                os.close(self._files.pop(old))  # a new hour: the previous file is finished
            folder = self.folder / hour
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            first = json.loads(items[0])["eventMetadata"]["inferenceTime"]
            name = f"{first[14:16]}-{first[17:19]}-{int(time.time() * 1000) % 1000:03d}-{uuid.uuid4()}.jsonl"
            self._files[hour] = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return self._files[hour]

    def _write_stats(self) -> None:
        if self.stats_path is None:
            return
        stats = {"captured": self.captured, "dropped": self.dropped, "written": self.written, "pid": os.getpid(), "time": time.time()}
        partial = self.stats_path.with_suffix(".partial")
        partial.write_text(json.dumps(stats))
        os.replace(partial, self.stats_path)

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
