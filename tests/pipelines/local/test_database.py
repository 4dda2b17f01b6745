"""The stores' SQLite files when the environment is against them: a read-only home, a damaged file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from pipelines.core.errors import StateError
from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.registry.store import ModelRegistry
from tests.helpers.serving_helpers import register

ROOT = Path(__file__).resolve().parents[3]
FAIL = '{"Version": "2020-12-01", "Parameters": [], "Steps": [{"Name": "F", "Type": "Fail", "Arguments": {"ErrorMessage": "no"}}]}'


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    """A home with an execution and a registered package in it."""
    home = Home.resolve(tmp_path_factory.mktemp("filled") / "home")
    import json

    assert Engine(home).run(json.loads(FAIL), "Tiny").status == "Failed"
    register(home, model_dir / "model.tar.gz", "first")
    return home.root


def mlops(home: Path, *arguments: str, read_only: bool = False) -> subprocess.CompletedProcess[str]:
    """``mlops --home HOME ...`` in a process of its own; with ``read_only``, HOME is a read-only
    mount in the process's own mount namespace (as root, which permissions alone would not stop)."""
    command = [sys.executable, "-m", "pipelines.cli.main", "--home", str(home), *arguments]
    if read_only:
        command = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"', str(home), *command]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def can_mount() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not can_mount(), reason="needs unshare -m (root, as CI runs) for a read-only mount")
def test_a_read_only_home_is_read_and_a_write_is_one_line(filled: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(filled, home)
    before = sorted((p.relative_to(home), p.stat().st_size) for p in home.rglob("*") if p.is_file())
    for reading in (["executions", "list"], ["registry", "list"], ["registry", "describe", "CreditDefaultPackageGroup/1"], ["endpoint", "list"], ["monitor", "schedule", "list"]):
        done = mlops(home, *reading, read_only=True)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (reading, done.stderr)
    assert "Failed" in mlops(home, "executions", "list", read_only=True).stdout
    assert "CreditDefaultPackageGroup/1" in mlops(home, "registry", "list", read_only=True).stdout
    (tmp_path / "fail.json").write_text(FAIL)
    for writing, says in (
        (["run", "--file", str(tmp_path / "fail.json")], f"local state: MLOPS_HOME {home} is read-only: mlops.db cannot record this"),
        (["registry", "approve", "CreditDefaultPackageGroup/1", "--reason", "ok"], f"local state: MLOPS_HOME {home} is read-only: registry.db cannot record this"),
        (["definition", "render", "-o", str(home / "d.json")], f"cannot write {home}/.d.json."),
    ):
        done = mlops(home, *writing, read_only=True)
        assert done.returncode == 1 and done.stderr.startswith(says) and done.stderr.count("\n") == 1, (writing, done.stderr)
    assert sorted((p.relative_to(home), p.stat().st_size) for p in home.rglob("*") if p.is_file()) == before


def test_a_store_whose_file_is_missing_in_a_read_only_home_reads_as_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Home.resolve(tmp_path / "home")
    from pipelines.local import database

    monkeypatch.setattr(database, "_writable", lambda folder: False)
    with ModelRegistry(home) as registry:
        assert registry.list_packages() == []
        with pytest.raises(StateError, match="is read-only: registry.db cannot record this"):
            registry.ensure_group("g")
    assert not home.registry_db.exists()


def _checkpoint(path: Path) -> None:
    """Everything in the main file and no -wal or -shm beside it, as the last store to close leaves it."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert not path.with_name(path.name + "-wal").exists()


def _damage(path: Path, offset: int, size: int) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(os.urandom(size))


@pytest.mark.parametrize(("name", "offset", "says"), [("mlops.db", 4096, "database disk image is malformed"), ("registry.db", 0, "file is not a database")])
def test_a_damaged_database_is_one_line_naming_it_and_nothing_else_is_touched(filled: Path, tmp_path: Path, name: str, offset: int, says: str) -> None:
    home = tmp_path / "home"
    shutil.copytree(filled, home)
    path = home / name
    _checkpoint(path)
    _damage(path, offset, 8192)
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    command = ["executions", "list"] if name == "mlops.db" else ["registry", "list"]
    done = mlops(home, *command)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr == f"local state: {path} is damaged ({says}): move it aside (mv {path} {path}.damaged) and run again; a new empty one is made, and nothing else is touched\n"
    assert {p: p.read_bytes() for p in home.rglob("*") if p.is_file()} == before
    path.rename(path.with_name(name + ".damaged"))  # as the message says: then the command works
    assert mlops(home, *command).returncode == 0


def test_a_damaged_page_met_by_a_query_names_the_file(filled: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(filled, home)
    _checkpoint(home / "mlops.db")
    _damage(home / "mlops.db", 4096, 8192)
    with pytest.raises(StateError, match=r"mlops.db is damaged \(database disk image is malformed\)"):
        with Records(Home.resolve(home)) as records:
            records.list_executions()
