"""Refuse every network connection that does not stay on this machine.

Installed by ``tests/conftest.py`` for the test process. A test that reaches for AWS (or any
other host) fails with ``NetworkBlocked`` naming the address, instead of hanging or, worse,
succeeding against a real account.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class NetworkBlocked(OSError):
    pass


def is_local(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host)
    if host in _LOCAL_NAMES or host == "":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


_log_path: str | None = None


def _refuse(what: str) -> NetworkBlocked:
    message = f"test tried to {what}: only loopback is allowed in tests"
    if _log_path:
        with open(_log_path, "a", encoding="utf-8") as log:
            log.write(message + "\n")
    return NetworkBlocked(message)


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not is_local(host):
        raise _refuse(f"connect to {address!r}")


def _connect(self: socket.socket, address: Any) -> Any:
    _check(self, address)
    return _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> Any:
    _check(self, address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not is_local(host):
        raise _refuse(f"resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def install(log_path: str | None = None) -> None:
    """Patch the socket module; ``log_path`` also records every refusal (for subprocesses)."""
    global _log_path
    _log_path = log_path
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo  # type: ignore[assignment]


def uninstall() -> None:
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _real_getaddrinfo  # type: ignore[assignment]
