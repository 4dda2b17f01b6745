"""``mlops ui``: MLflow's server and its workers end with the command, and the port is free again."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers.serving_helpers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[3]


def group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


@pytest.mark.long  # run first (conftest.py)
def test_sigterm_stops_mlflow_and_every_worker(tmp_path: Path, guarded_env: dict[str, str]) -> None:
    port = free_port()
    command = [sys.executable, "-m", "pipelines.cli.main", "--home", str(tmp_path / "home"), "ui", "--port", str(port)]
    ui = subprocess.Popen(command, cwd=ROOT, env=guarded_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for_port(port, ui), "mlops ui ended before MLflow listened"
    guard = next(pid for pid in group_members_of_children(ui.pid))
    ui.send_signal(signal.SIGTERM)
    assert ui.wait() == 0
    while group_members(guard):  # MLflow, uvicorn and its workers, the job runner: all end
        threading.Event().wait(0.05)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # the port is free again


def group_members_of_children(pid: int) -> list[int]:
    """The process groups of ``pid``'s children (the guard leads its own)."""
    groups = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            groups.append(int(fields[2]))
    return groups


def test_a_taken_port_is_one_line_and_nothing_starts(tmp_path: Path, guarded_env: dict[str, str]) -> None:
    """MLflow logs its bind error and exits 0; mlops ui says so first, as mlops serve does."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "pipelines.cli.main", "--home", str(tmp_path / "home"), "ui", "--port", str(port)],
                              cwd=ROOT, env=guarded_env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"usage error: port {port} on 127.0.0.1 is taken (Address already in use): stop what listens there, or choose another with --port\n"
    assert not (tmp_path / "home" / "mlflow.db").exists()  # MLflow never started
