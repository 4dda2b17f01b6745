"""Retraining on the local twin: the monitor's alarms start ``mlops run`` on the same home.

``LocalRetrainer`` is the monitor's ``Retrainer`` here (``monitor/scheduler.py``): it starts
the pipeline in a process of its own and answers whether a run it started, or one the records
hold, is still in progress.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from pipelines.engine.records import Records
from pipelines.errors import MlopsError
from pipelines.guard import Guarded
from pipelines.local.home import Home

RETRAIN_MARKER = "retrain:alarm="  # in the execution's description: which alarm started it


class LocalRetrainer:
    """Starts ``mlops run`` on this MLOPS_HOME in the background and returns a handle to it.

    With ``wait``, it waits for the run to end and returns the pipeline execution's ARN. The
    run's description carries the alarm (``retrain:alarm=<name>: <reason>``), so the execution
    says why it ran.
    """

    def __init__(self, home: Home, wait: bool = False) -> None:
        self.home = home
        self.wait = wait
        self._pids: dict[str, int] = {}

    def start(self, alarm: str, reason: str) -> str:
        log_dir = self.home.retraining
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / f"{alarm}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.log"
        description = f"{RETRAIN_MARKER}{alarm}: {reason}"
        command = [sys.executable, "-m", "pipelines.cli.main", "--home", str(self.home.root), "run", "--json", "--description", description]
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if self.wait:  # under the guard: the run ends with whoever waits for it (the demo)
                guarded = Guarded(command, stdout=fd, stderr=fd)
            else:  # on its own: it outlives the scheduler that started it, as a pipeline on AWS would
                pid = os.posix_spawnp(command[0], command, dict(os.environ), file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)], setsid=True)
        finally:
            os.close(fd)
        if self.wait:
            try:
                guarded.process.wait()
            finally:
                guarded.release()
            return _arn_from(log) or f"pending:{guarded.process.pid}:{log}"
        handle = f"pending:{pid}:{log}"
        self._pids[handle] = pid
        return handle

    def resolve(self, handle: str) -> str:
        """The pipeline execution's ARN for a ``pending:<pid>:<log>`` handle once its run has
        said it (at its end); the handle itself until then, and for anything else."""
        if not handle.startswith("pending:"):
            return handle
        _, _, log = handle.split(":", 2)
        try:
            return _arn_from(Path(log)) or handle
        except OSError:
            return handle

    def running(self, handle: str) -> bool:
        """A run this retrainer started and has not reaped, or a recorded execution still Executing
        (the records settle one whose runner died)."""
        pid = self._pids.get(handle)
        if pid is not None:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return False
            return done == 0
        if not handle.startswith("arn:") or not self.home.database.exists():
            return False
        with Records(self.home) as records:
            try:
                return records.describe_execution(handle)["PipelineExecutionStatus"] == "Executing"
            except MlopsError:
                return False


def _arn_from(log: Path) -> str | None:
    text = log.read_text(errors="replace")
    start = text.find("{\n")
    try:
        return json.loads(text[start:])["PipelineExecutionArn"] if start >= 0 else None
    except (ValueError, KeyError):
        return None
