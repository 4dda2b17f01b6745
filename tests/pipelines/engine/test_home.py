"""MLOPS_HOME is created readable by its owner only: captured rows hold personal data."""

from __future__ import annotations

import stat
from pathlib import Path

from pipelines.local.home import Home


def test_home_is_created_owner_only(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "nested" / "home")
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o700
    assert Home.resolve(home.root) == home  # resolving again keeps it
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o700
