"""A moto_server on 127.0.0.1 for tests that talk to 'AWS' over the wire (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.helpers.serving_helpers import free_port, wait_for_port


class MotoServer:
    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        handle = log.open("w")
        self.process = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(self.port)], stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        if not wait_for_port(self.port, self.process):
            self.stop()
            raise RuntimeError(f"moto_server did not start:\n{log.read_text()}")

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10).close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
