"""A child that dies with the process that started it (kill -9 included).

``Guarded(command)`` runs ``command`` under a small guard process, ``python -I -S guard.py FD --
COMMAND...`` (no package imports: it starts in a few milliseconds), in a session of its own.
The starter keeps the write end of a pipe whose read end is ``FD``. When the starter's process
ends for any reason the kernel closes that end; the guard reads end-of-file, sends SIGTERM to
the child's process group, and SIGKILL if it is still there ``GRACE_SECONDS`` later. Otherwise
the guard waits for the child and exits as it did (its code, or the same signal), so the starter
sees the child's own status. SIGTERM and SIGINT sent to the whole group are for the child: the
guard waits for the child to end, then exits as it did. ``detach()`` lets the child go: from
then on the guard only waits for it.

The engine runs every job this way; ``mlops ui`` runs MLflow, the demo its endpoint server
(``serving/process.py``) and its retraining runs.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CANNOT_START = 127  # the shell's code for a command that cannot be run
CANNOT_START_MARK = "guard: "
GRACE_SECONDS = 10.0
DETACH = b"d"  # written on the lifeline: the starter lets the child go


class Guarded:
    """``subprocess.Popen`` of ``command`` under the guard; ``process`` is the guard's Popen."""

    def __init__(self, command: list[str], **popen: Any) -> None:
        watch, self._lifeline = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(Path(__file__)), str(watch), "--", *command], start_new_session=True, pass_fds=(watch,), **popen
            )
        except BaseException:
            os.close(self._lifeline)
            raise
        finally:
            os.close(watch)

    def release(self) -> None:
        """Close the lifeline (the child is told to end, if it has not): call once the child is done."""
        if self._lifeline >= 0:
            os.close(self._lifeline)
            self._lifeline = -1

    def detach(self) -> None:
        """Let the child outlive the starter from now on (``mlops demo --keep-serving``)."""
        if self._lifeline >= 0:
            os.write(self._lifeline, DETACH)
            self.release()


def main(argv: list[str]) -> int:
    fd, command = int(argv[0]), argv[2:]
    child = os.fork()
    if child == 0:
        os.close(fd)
        try:
            os.execvp(command[0], command)
        except OSError as exc:
            os.write(2, f"{CANNOT_START_MARK}cannot start {command[0]}: {exc.strerror}\n".encode())
            os._exit(CANNOT_START)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # after the fork: the child keeps the default
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pidfd = os.pidfd_open(child) if hasattr(os, "pidfd_open") else None
    watched = [fd] + ([pidfd] if pidfd is not None else [])
    deadline: float | None = None  # once the starter is gone: when SIGKILL follows SIGTERM
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if pidfd is None:  # no pidfd (not Linux): look at the child ten times a second
            wait = 0.1 if wait is None else min(wait, 0.1)
        readable, _, _ = select.select(watched, [], [], wait)
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            break
        if deadline is not None and time.monotonic() >= deadline:
            os.killpg(os.getpgid(0), signal.SIGKILL)  # the grace is over
        if fd in readable:
            said = os.read(fd, 1)
            watched.remove(fd)
            if not said:  # the starter is gone: so is its child
                deadline = time.monotonic() + GRACE_SECONDS
                os.killpg(os.getpgid(0), signal.SIGTERM)
            # else DETACH: the child is on its own; the guard only waits for it
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
