"""A running ``mlops serve`` says where it answers (what ``mlops env`` reads), and stops saying so
when it stops: on SIGTERM too, which uvicorn ends by raising the signal again."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.local.home import Home
from pipelines.serving import address

from serving_helpers import RunningServer


def test_the_address_file_lives_exactly_as_long_as_the_server(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    server = RunningServer(home, workers=1)  # one worker: uvicorn serves in this process and re-raises SIGTERM
    try:
        said = json.loads(address.path(home, server.port).read_text())
        assert said["url"] == server.url and address.running(home)["port"] == server.port
    finally:
        server.stop()  # SIGTERM to the server's process group
    assert not address.path(home, server.port).exists()
