"""LocalRetrainer: the monitor's retraining seam on the local twin."""

from __future__ import annotations

from pathlib import Path

from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.retraining import LocalRetrainer

ARN = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/abc123"


def test_a_recorded_execution_runs_while_it_is_executing_and_its_runner_lives(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    retrainer = LocalRetrainer(home)
    assert not retrainer.running(ARN)  # nothing recorded
    with Records(home) as records:
        records.create_execution("abc123", ARN, "p", None, "retraining", {}, {"Steps": []})  # run by this process
    assert retrainer.running(ARN)
    with Records(home) as records:
        records.end_execution("abc123", "Succeeded", None)
    assert not retrainer.running(ARN)
    assert not retrainer.running("pending:999999:/nowhere.log")  # started by another retrainer


def test_a_pending_handle_resolves_to_the_execution_its_run_reported(tmp_path: Path) -> None:
    retrainer = LocalRetrainer(Home.resolve(tmp_path / "home"))
    log = tmp_path / "drift.log"
    handle = f"pending:4242:{log}"
    assert retrainer.resolve(handle) == handle  # no log yet
    log.write_text("[ ok ] Preprocess ...\n")
    assert retrainer.resolve(handle) == handle  # still running: no ARN printed yet
    log.write_text('[ ok ] Register ...\n{\n  "PipelineExecutionArn": "' + ARN + '",\n  "PipelineExecutionStatus": "Succeeded"\n}\n')
    assert retrainer.resolve(handle) == ARN
    assert retrainer.resolve(ARN) == ARN
