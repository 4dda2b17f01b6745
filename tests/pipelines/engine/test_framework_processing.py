"""FrameworkProcessor jobs, as the SDK renders them: runproc.sh's steps without bash or pip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.runs import local_run

SOURCE = Path(__file__).resolve().parents[2] / "builders" / "scripts" / "framework_src"


def run(home: Home, **kwargs: str) -> object:
    document, name = local_run.load_definition("tests.builders.framework_processing", kwargs, None, None)
    return Engine(home).run(document, name, {"Rows": 5})


def reason(home: Home, execution_id: str) -> str:
    with Records(home) as records:
        (step,) = records.list_steps(execution_id)
    return str(step.get("FailureReason"))


def test_the_source_dir_is_unpacked_its_requirements_checked_and_the_script_run(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    result = run(home)
    assert result.status == "Succeeded", result.failure_reason
    written = home.objects().path("s3://bucket/framework/out/squares.csv").read_text().splitlines()
    assert written == ["n,square", "0,0", "1,1", "2,4", "3,9", "4,16"]  # the helper module ran, --rows 5 arrived


def test_a_requirement_this_machine_lacks_fails_the_job_by_name(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source)
    (source / "requirements.txt").write_text("pandas>=2\nno-such-package-here>=1\n")
    home = Home.resolve(tmp_path / "home")
    result = run(home, source_dir=str(source))
    assert result.status == "Failed"
    assert "requirements.txt needs what this machine lacks, and nothing is installed from the network: no-such-package-here>=1 (not installed)" in reason(home, result.execution_id)


def test_a_failing_script_fails_the_job_with_its_stderr(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source)
    (source / "helpers.py").write_text("def squares(rows):\n    raise ValueError('no squares today')\n")
    home = Home.resolve(tmp_path / "home")
    result = run(home, source_dir=str(source))
    assert result.status == "Failed" and "ValueError: no squares today" in reason(home, result.execution_id)


@pytest.mark.parametrize("entrypoint", [["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"]])
def test_the_sdk_still_renders_the_entrypoint_this_reads(tmp_path: Path, entrypoint: list[str]) -> None:
    document, _ = local_run.load_definition("tests.builders.framework_processing", {}, None, None)
    assert document["Steps"][0]["Arguments"]["AppSpecification"]["ContainerEntrypoint"] == entrypoint
