"""Where a running ``mlops serve`` answers: ``$MLOPS_HOME/serving/serve.{port}.json``.

``mlops serve`` writes it once it is about to listen (its URL, its pid, whether it asks for
signatures, its AWS proxy's URL) and removes it when it stops; ``mlops env`` reads it to print the exports that make
every AWS client in a shell talk to that server. A file whose process is gone (a server killed
with -9) is not a running server: it is removed when read.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path
from types import FrameType
from typing import Any, Iterator

from pipelines.core.errors import UsageError
from pipelines.core.fileio import write_text_atomic
from pipelines.local.home import Home


def path(home: Home, port: int) -> Path:
    return home.serving / f"serve.{port}.json"


def reachable_host(host: str) -> str:
    """The address a client on this machine reaches a server listening on ``host`` at."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host


def announce(home: Home, host: str, port: int, auth: str, proxy_port: int) -> Path:
    """Say that this process serves ``home`` on ``host:port``, with its AWS proxy on ``proxy_port``."""
    reachable = reachable_host(host)
    url = f"http://[{reachable}]:{port}" if ":" in reachable else f"http://{reachable}:{port}"
    target = path(home, port)
    write_text_atomic(target, json.dumps({"url": url, "pid": os.getpid(), "port": port, "auth": auth, "home": str(home.root), "proxy": f"http://127.0.0.1:{proxy_port}"}))
    return target


def withdraw(home: Home, port: int) -> None:
    """This process no longer serves on ``port``."""
    target = path(home, port)
    try:
        if json.loads(target.read_text()).get("pid") == os.getpid():
            target.unlink()
    except (OSError, ValueError):
        pass


@contextlib.contextmanager
def announced(home: Home, host: str, port: int, auth: str, proxy_port: int) -> Iterator[Path]:
    """``announce`` for the block's length. uvicorn ends a graceful SIGTERM by raising the signal
    again under the handler it found, which by default ends the process before any ``finally``:
    this handler withdraws the file first, then lets SIGTERM end the process as it would have."""

    def withdraw_then_end(signum: int, frame: FrameType | None) -> None:
        withdraw(home, port)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    previous = signal.signal(signal.SIGTERM, withdraw_then_end)
    try:
        yield announce(home, host, port, auth, proxy_port)
    finally:
        signal.signal(signal.SIGTERM, previous)
        withdraw(home, port)


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


# Variables that would send a client elsewhere, or sign with another identity.
UNSET = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


def exports(server: dict[str, str], region: str, access_key_id: str, secret_access_key: str, authority: Path) -> dict[str, str]:
    """What a shell needs: botocore reads AWS_ENDPOINT_URL for every service (boto3, the AWS CLI,
    the SageMaker SDKs), the region from either variable, and these credentials first. A client
    given AWS's own address in code (the SDKs' STS calls) goes through the server's proxy, whose
    certificates AWS_CA_BUNDLE's authority signs; loopback addresses never do (both spellings:
    Python's urllib lets the lower-case one win)."""
    loopback = "127.0.0.1,localhost,::1"
    if "proxy" not in server:
        raise UsageError(f"the mlops serve running for {server.get('home')} (pid {server.get('pid')}) is from an older version without the AWS proxy; stop it and start it again")
    return {
        "AWS_ENDPOINT_URL": server["url"], "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": access_key_id, "AWS_SECRET_ACCESS_KEY": secret_access_key,
        "AWS_CA_BUNDLE": str(authority),
        "HTTPS_PROXY": server["proxy"], "https_proxy": server["proxy"], "NO_PROXY": loopback, "no_proxy": loopback,
    }  # fmt: skip
