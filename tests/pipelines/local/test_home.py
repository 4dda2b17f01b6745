"""MLOPS_HOME is owner-only whoever created it, and jobs leave no copies of their data behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.local.home import Home
from tests.helpers.engine_defs import WRITE, definition, processing


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


def test_home_is_created_owner_only(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "nested" / "home")
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o700
    assert Home.resolve(home.root) == home  # resolving again keeps it
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o700


def test_the_home_is_the_region_and_account_of_every_arn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    home = Home.resolve(tmp_path / "h")
    assert (home.region, home.account) == ("ap-south-1", "000000000000")
    assert home.arn("endpoint", "e") == "arn:aws:sagemaker:ap-south-1:000000000000:endpoint/e"
    assert Home.resolve(tmp_path / "h", region="eu-west-1").region == "eu-west-1"
