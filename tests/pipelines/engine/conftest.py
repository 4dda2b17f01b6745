"""Fixtures for engine tests: a home, an engine that records progress, job scripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.engine.orchestrator import Engine
from pipelines.local.home import Home
from tests.helpers.engine_defs import COPY, WRITE


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "write.py").write_text(WRITE)
    (folder / "copy.py").write_text(COPY)
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home")


@pytest.fixture
def events() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def engine(home: Home, events: list[tuple[str, str]]) -> Engine:
    return Engine(home, max_parallel=2, progress=lambda name, status, info: events.append((name, status)))


