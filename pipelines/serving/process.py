"""``mlops serve`` as a process of its own: started under the guard, waited for, stopped.

What a program that needs the endpoint server for a while does (the demo; ``mlops serve``
itself checks its port the same way): ``port_problem`` says, before anything starts, that a
port is taken; ``ServingProcess.start`` runs the server under ``guard.py``, so it ends with its
starter however that ends (SIGTERM, kill -9), and returns once ``/ping`` answers; ``stop``
sends SIGTERM and waits, and the server writes every answered request's capture before it
exits. ``detach`` lets it outlive its starter (``mlops demo --keep-serving``).

Waiting is on events (an answer, the process's end), never on a duration: a busy machine only
makes it take longer. The bounds are guards against a hung server, not a pace.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pipelines.core.errors import MlopsError, UsageError
from pipelines.core.guard import Guarded
from pipelines.local.home import Home

GIVE_UP_SECONDS = 3600.0  # a server that neither answers nor ends in an hour is hung
STOP_SECONDS = 600.0


def port_problem(host: str, port: int) -> str | None:
    """None when ``host:port`` can be listened on now; else why not, in one line."""
    try:
        with socket.create_server((host, port)):  # SO_REUSEADDR, as uvicorn binds
            return None
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        return f"port {port} on {host} is taken ({why}): stop what listens there, or choose another with --port"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServingProcess:
    """A running ``mlops serve`` on 127.0.0.1, under the guard."""

    def __init__(self, guarded: Guarded, url: str, log: Path) -> None:
        self.guarded = guarded
        self.url = url
        self.log = log

    @property
    def pid(self) -> int:
        """The guard's pid: its process group holds the server and its workers."""
        return self.guarded.process.pid

    @classmethod
    def start(cls, home: Home, log: Path, port: int | None = None, arguments: tuple[str, ...] = ()) -> "ServingProcess":
        """``mlops --home HOME serve --port PORT ARGUMENTS...``, once it answers ``/ping``.

        ``port`` None: a free one, chosen again if another program takes it between the choice
        and the bind. A port given is checked first: a taken one is a UsageError, nothing started.
        """
        if port is not None:
            problem = port_problem("127.0.0.1", port)
            if problem:
                raise UsageError(problem)
        for _ in range(3):
            chosen = port or free_port()
            command = [sys.executable, "-m", "pipelines.cli.main", "--home", str(home.root), "serve", "--port", str(chosen), *arguments]
            with log.open("w") as handle:
                guarded = Guarded(command, stdout=handle, stderr=subprocess.STDOUT)
            server = cls(guarded, f"http://127.0.0.1:{chosen}", log)
            if server._wait_until_serving():
                return server
            server.stop()
            if port is not None or "is taken" not in log.read_text():
                break
        raise MlopsError(f"the endpoint server did not start (exit code {guarded.process.returncode}); see {log}")

    def _wait_until_serving(self) -> bool:
        """True once the server answers /ping (200, or 503 when it has no endpoint it can serve:
        a worker answers only once it has loaded what is deployed); False if it ended first."""
        give_up = time.monotonic() + GIVE_UP_SECONDS
        while self.guarded.process.poll() is None and time.monotonic() < give_up:
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=60):
                    return True
            except urllib.error.HTTPError:
                return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> int:
        """SIGTERM, and wait: every answered request's capture is written before it exits."""
        process = self.guarded.process
        try:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise MlopsError(f"the endpoint server did not stop within {STOP_SECONDS:.0f} s of SIGTERM; it was killed, and capture may be incomplete") from None
        finally:
            self.guarded.release()
        return int(process.returncode)

    def detach(self) -> None:
        """Let the server outlive this process."""
        self.guarded.detach()
