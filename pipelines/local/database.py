"""The SQLite files under ``MLOPS_HOME`` (records, registry, endpoints, monitoring, lineage).

Each is shared by threads and by processes (the engine, the endpoint server's workers, the
scheduler): WAL, a busy timeout, and writes serialised in ``BEGIN IMMEDIATE`` transactions.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Self


def now() -> str:
    """The current UTC time as the stores write it (ISO-8601, milliseconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Database:
    """One SQLite file with ``schema`` applied; subclasses are the stores."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        if Path(path).stat().st_mode & 0o077:
            os.chmod(path, 0o600)  # owner-only; SQLite gives its -wal and -shm files the same mode
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA busy_timeout=30000")
        # Switching to WAL and creating the schema do not wait on the busy handler when another
        # process is doing the same at that moment: retry them for a while.
        deadline = time.monotonic() + 30
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                with self._lock:
                    self._db.executescript(schema)  # executescript manages its own transaction
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
