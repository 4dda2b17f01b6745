"""CPU-bound load beside a test: what a busy CI runner or a laptop in a video call looks like."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from typing import Iterator

BUSY = "while True:\n    pass\n"


@contextlib.contextmanager
def cpu_load(processes: int = 2) -> Iterator[list[subprocess.Popen]]:
    """``processes`` Python processes that spin on a core each until the block ends."""
    spinners = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(processes)]
    try:
        yield spinners
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()
        assert all(s.returncode == -9 for s in spinners), "a load process ended before the test did: the test ran without its load"
