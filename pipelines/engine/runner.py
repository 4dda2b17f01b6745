"""The process that runs an execution: who it is, whether it is still alive, and SIGTERM.

An execution records its runner's identity (``host:pid:boot:start``). When the runner is gone
(kill -9, a crash, the machine stopped) without ending the execution, ``alive`` says so, and
the records mark the execution instead of leaving it ``Executing`` forever. The process start
time and the boot id tell a reused pid from the runner itself (Linux's /proc; elsewhere the
pid alone decides).

``stop_on_sigterm`` turns SIGTERM into ``Terminated`` in the main thread while an execution
runs, so that ``kill`` (systemd, CI runners, ``timeout``) ends it Stopped as Ctrl-C does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from pathlib import Path
from typing import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be."""

    def __str__(self) -> str:
        return "Stopped: the runner received SIGTERM"


def identity(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_boot_id()}:{_start_time(pid)}"


def alive(runner: str | None) -> bool:
    """Whether the process ``runner`` names still runs; True when this host cannot tell."""
    if not runner:
        return False  # recorded before runners were: nobody will ever end it
    try:
        host, pid_text, boot, start = runner.rsplit(":", 3)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # another machine's process (a shared MLOPS_HOME): not ours to judge
    if boot and boot != _boot_id():
        return False  # the machine restarted since
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    return not start or start == _start_time(pid)


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """While the block runs, SIGTERM raises ``Terminated`` in the main thread (elsewhere: no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]
