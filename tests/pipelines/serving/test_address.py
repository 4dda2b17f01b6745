"""A running ``mlops serve`` says where it answers (what ``mlops env`` reads), and stops saying so
when it stops: on SIGTERM too, which uvicorn ends by raising the signal again."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.local.home import Home
from pipelines.serving import address
from tests.helpers.serving_helpers import RunningServer


def test_the_address_file_lives_exactly_as_long_as_the_server(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    server = RunningServer(home, workers=1)  # one worker: uvicorn serves in this process and re-raises SIGTERM
    try:
        said = json.loads(address.path(home, server.port).read_text())
        assert said["url"] == server.url and address.running(home)["port"] == server.port
    finally:
        server.stop()  # SIGTERM to the server's process group
    assert not address.path(home, server.port).exists()


def test_a_server_from_before_the_proxy_is_named_not_a_traceback(tmp_path: Path) -> None:
    import pytest

    from pipelines.core.errors import UsageError

    older = {"url": "http://127.0.0.1:8080", "pid": 4242, "port": 8080, "auth": "none", "home": "/h"}
    with pytest.raises(UsageError, match=r"mlops serve running for /h \(pid 4242\) is from an older version without the AWS proxy; stop it and start it again"):
        address.exports(older, "us-east-1", "AKIA", "secret", tmp_path / "ca.pem")
