"""The SQLite files under ``MLOPS_HOME`` (records, registry, endpoints, monitoring, lineage).

Each is shared by threads and by processes (the engine, the endpoint server's workers, the
scheduler): WAL, a busy timeout, and writes serialised in ``BEGIN IMMEDIATE`` transactions.

Two states of the environment are errors that name the file, never tracebacks:
- a home that cannot be written (a read-only mount, a folder without write permission): the
  file is opened read-only, so every command that only reads works; the first write raises
  ``StateError`` saying the home is read-only. A store whose file does not exist there reads as
  empty.
- a damaged file (``file is not a database``, ``database disk image is malformed``), found when
  it is opened or when a statement reaches the damaged page: ``StateError`` naming the file and
  saying to move it aside. Nothing is written to it, and no other file is touched.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Self

from pipelines.core.errors import StateError

_DAMAGED = ("file is not a database", "database disk image is malformed", "malformed database schema")


def now() -> str:
    """The current UTC time as the stores write it (ISO-8601, milliseconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def damaged(path: Path, exc: sqlite3.DatabaseError) -> StateError | None:
    """The error to raise for ``exc`` when it says the file is damaged, else None."""
    if not any(words in str(exc) for words in _DAMAGED):
        return None
    return StateError(f"{path} is damaged ({exc}): move it aside (mv {path} {path}.damaged) and run again; a new empty one is made, and nothing else is touched")


class _Cursor(sqlite3.Cursor):
    """Reads that reach a damaged page say which file it is."""

    path: Path

    def _checked(self, read: Any) -> Any:
        try:
            return read()
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, exc) or exc from None

    def fetchone(self) -> Any:
        return self._checked(super().fetchone)

    def fetchall(self) -> list[Any]:
        return self._checked(super().fetchall)

    def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._checked(lambda: super(_Cursor, self).fetchmany(size if size is not None else self.arraysize))

    def __next__(self) -> Any:
        return self._checked(super().__next__)


class _Connection(sqlite3.Connection):
    """``execute`` through a cursor that names the file when it is damaged."""

    path: Path

    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:  # type: ignore[override]
        cursor = self.cursor(_Cursor)
        cursor.path = self.path
        try:
            cursor.execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, exc) or exc from None
        return cursor


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


class Database:
    """One SQLite file with ``schema`` applied; subclasses are the stores."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.read_only = not _writable(Path(path).parent)
        try:
            self._db = self._open_read_only(schema) if self.read_only else self._open(schema)
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, exc) or exc from None

    def _connect(self, target: str, uri: bool = False) -> _Connection:
        db = sqlite3.connect(target, timeout=30, check_same_thread=False, isolation_level=None, uri=uri, factory=_Connection)
        db.path = self.path
        db.row_factory = sqlite3.Row
        return db

    def _open(self, schema: str) -> _Connection:
        db = self._connect(str(self.path))
        if Path(self.path).stat().st_mode & 0o077:
            os.chmod(self.path, 0o600)  # owner-only; SQLite gives its -wal and -shm files the same mode
        db.execute("PRAGMA busy_timeout=30000")
        # Switching to WAL and creating the schema do not wait on the busy handler when another
        # process is doing the same at that moment: retry them for a while.
        deadline = time.monotonic() + 30
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                with self._lock:
                    db.executescript(schema)  # executescript manages its own transaction
                return db
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _open_read_only(self, schema: str) -> _Connection:
        """The file as it is, read-only; an empty store (in memory) where there is none yet.

        A WAL file needs its -shm beside it, which a read-only folder cannot give: then the file
        is opened as immutable (what was committed to it; nothing writes there meanwhile).
        """
        if not Path(self.path).is_file():
            db = self._connect(":memory:")
            db.executescript(schema)
            db.execute("PRAGMA query_only=1")
            return db
        address = Path(self.path).resolve().as_uri()
        for mode in ("?mode=ro", "?mode=ro&immutable=1"):
            db = self._connect(address + mode, uri=True)
            try:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return db
            except sqlite3.OperationalError:
                db.close()
                if mode.endswith("immutable=1"):
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StateError(f"MLOPS_HOME {Path(self.path).parent} is read-only: {Path(self.path).name} cannot record this; run with a home you can write (mlops --home or MLOPS_HOME)")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
