"""Where a running ``mlops serve`` answers: ``$MLOPS_HOME/serving/serve.{port}.json``.

``mlops serve`` writes it once it is about to listen (its URL, its pid, whether it asks for
signatures) and removes it when it stops; ``mlops env`` reads it to print the exports that make
every AWS client in a shell talk to that server. A file whose process is gone (a server killed
with -9) is not a running server: it is removed when read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipelines.core.errors import UsageError
from pipelines.core.fileio import write_text_atomic
from pipelines.local.home import Home


def path(home: Home, port: int) -> Path:
    return home.serving / f"serve.{port}.json"


def announce(home: Home, host: str, port: int, auth: str) -> Path:
    """Say that this process serves ``home`` on ``host:port``."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host
    url = f"http://[{reachable}]:{port}" if ":" in reachable else f"http://{reachable}:{port}"
    target = path(home, port)
    write_text_atomic(target, json.dumps({"url": url, "pid": os.getpid(), "port": port, "auth": auth, "home": str(home.root)}))
    return target


def withdraw(home: Home, port: int) -> None:
    """This process no longer serves on ``port``."""
    target = path(home, port)
    try:
        if json.loads(target.read_text()).get("pid") == os.getpid():
            target.unlink()
    except (OSError, ValueError):
        pass


def running(home: Home, port: int | None = None) -> dict[str, Any]:
    """The running server of ``home`` (on ``port``, when several are); UsageError when there is none."""
    found = []
    for candidate in sorted(home.serving.glob("serve.*.json")) if home.serving.is_dir() else []:
        try:
            said = json.loads(candidate.read_text())
            os.kill(int(said["pid"]), 0)
        except ProcessLookupError:
            candidate.unlink(missing_ok=True)
            continue
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if port is None or said["port"] == port:
            found.append(said)
    if not found:
        where = f" on port {port}" if port is not None else ""
        raise UsageError(f"no mlops serve is running for {home.root}{where}; start one (mlops serve &) and ask again")
    if len(found) > 1:
        ports = ", ".join(str(s["port"]) for s in found)
        raise UsageError(f"{len(found)} servers run for {home.root} (ports {ports}); choose one with --port")
    return found[0]
