"""The capture clock: the time the endpoint stamps on what it captures (``inferenceTime``, and the
``yyyy/mm/dd/hh`` folder a record lands in).

In production it is the real time. For demos and replays it is a **clock file** that whoever
drives the traffic sets, and every server process reads it before stamping a record::

    {"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T11:00:00Z", "speed": 720}

Capture time is ``start + (now - set_at) * speed``, held below ``end`` when there is one, where
``set_at`` is the real time the file was written (``set_clock`` writes it). A driver that
sets the window of one simulated hour, sends that hour's requests and waits for their answers
before it sets the next hour gets every request stamped inside its hour, however slow the
machine is: a record is stamped before its answer is sent, and the file is read at every stamp.
``speed`` only spreads the stamps inside the window.

The file is replaced atomically (``write_text_atomic``) and re-read only when it changed (one
``stat`` per stamp, about a microsecond), so a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from pipelines.core.errors import UsageError
from pipelines.core.fileio import write_text_atomic

Clock = Callable[[], float]
END_MARGIN = 0.001  # a stamp held below `end` lands 1 ms before it: inside the window


@dataclass(frozen=True)
class Setting:
    start: float  # simulated epoch seconds at `set_at`
    set_at: float  # real epoch seconds when the file was written
    speed: float = 1.0
    end: float | None = None  # simulated epoch seconds; stamps stay below it

    def at(self, now: float) -> float:
        moment = self.start + (now - self.set_at) * self.speed
        if self.end is not None:
            moment = min(moment, self.end - END_MARGIN)
        return max(moment, self.start)


def set_clock(path: Path, start: datetime, end: datetime | None = None, speed: float = 1.0) -> None:
    """Point the clock file at ``start`` now (and hold it below ``end``), for every server reading it."""
    if speed <= 0:
        raise UsageError(f"clock speed must be positive, got {speed}")
    if end is not None and end <= start:
        raise UsageError(f"clock window {_iso(start)} - {_iso(end)}: the end must come after the start")
    document = {"start": _iso(start), "speed": speed, "set_at": time.time()}
    if end is not None:
        document["end"] = _iso(end)
    write_text_atomic(path, json.dumps(document))


def read_setting(path: Path) -> Setting:
    """The clock file's setting; a clear error naming the file and the field when it is wrong."""
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise UsageError(f"clock file {path}: does not exist") from exc
    except (OSError, ValueError) as exc:
        raise UsageError(f"clock file {path}: not readable JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise UsageError(f"clock file {path}: a JSON object with start, end and speed is expected")
    start = _epoch(path, document, "start")
    if start is None:
        raise UsageError(f"clock file {path}: start is required (an ISO-8601 time)")
    end = _epoch(path, document, "end")
    speed = document.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or speed <= 0:
        raise UsageError(f"clock file {path}: speed must be a positive number, got {speed!r}")
    set_at = document.get("set_at")
    if set_at is None:
        set_at = os.stat(path).st_mtime  # written by hand: it was set when it was saved
    elif isinstance(set_at, bool) or not isinstance(set_at, (int, float)):
        raise UsageError(f"clock file {path}: set_at must be epoch seconds, got {set_at!r}")
    if end is not None and end <= start:
        raise UsageError(f"clock file {path}: end must come after start")
    return Setting(start=start, set_at=float(set_at), speed=float(speed), end=end)


class FileClock:
    """A clock that follows its file: re-read whenever the file was replaced or changed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._key: tuple[int, int, int] | None = None
        self._setting = self._load()  # a wrong file fails the server's start, not a request

    def _load(self) -> Setting:
        status = os.stat(self.path)
        setting = read_setting(self.path)
        self._key = (status.st_ino, status.st_mtime_ns, status.st_size)
        return setting

    def __call__(self) -> float:
        try:
            status = os.stat(self.path)
            if (status.st_ino, status.st_mtime_ns, status.st_size) != self._key:
                self._setting = self._load()
        except (OSError, UsageError):
            pass  # removed or broken while serving: keep the last good setting
        return self._setting.at(time.time())


def clock_from(setting: str | None) -> Clock:
    """The server's capture clock: real time, or the clock file at ``setting``."""
    return FileClock(Path(setting)) if setting else time.time


def _epoch(path: Path, document: dict, key: str) -> float | None:
    value = document.get(key)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise UsageError(f"clock file {path}: {key} must be an ISO-8601 time, got {value!r}")
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
