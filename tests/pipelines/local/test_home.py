"""MLOPS_HOME is owner-only whoever created it, and jobs leave no copies of their data behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from engine_defs import WRITE, definition, processing
from pipelines.local.home import Home
from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_existing_folder_open_to_others_is_made_owner_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    home = Home.resolve(folder)
    assert mode(home.root) == 0o700
    assert "was open to others (mode 0755); it is now owner-only" in caplog.text
    records = Records(home)
    records.close()
    assert mode(home.database) == 0o600


def test_job_sandboxes_are_removed_when_their_job_ends(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    script = tmp_path / "write.py"
    script.write_text(WRITE)
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.csv").write_text("personal,data\n" * 1000)
    ok = processing("Ok", script, ["--out", "/opt/ml/processing/out"], inputs=[("data", str(data))])
    failing = processing("Failing", script, ["--out", "/opt/ml/processing/out", "--fail"], inputs=[("data", str(data))], depends_on=["Ok"])
    result = Engine(home).run(definition([ok, failing]), "Sandboxes", {})
    assert [s.status for s in result.steps] == ["Succeeded", "Failed"]
    assert not home.jobs.exists() or list(home.jobs.iterdir()) == []
    assert "something went wrong in the job" in Path(result.steps[1].log_path or "").read_text()  # the log stays
