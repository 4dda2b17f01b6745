"""Callback steps, as the SDK renders them, wait for mlops callback send-success / send-failure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main as mlops
from pipelines.engine import callbacks
from pipelines.engine.handlers.callback import CallbackHandler
from pipelines.engine.orchestrator import Engine, ExecutionResult
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.runs import local_run


@pytest.fixture(scope="module")
def rendered() -> dict:
    document, _ = local_run.load_definition("tests.builders.callbacks", {}, None, None)
    return document


class Running:
    """An execution on a thread of its own, and the message its Callback step put on the queue."""

    def __init__(self, home: Home, document: dict, engine: Engine | None = None) -> None:
        self.home = home
        self.result: ExecutionResult | None = None
        self.engine = engine or Engine(home)
        self.thread = threading.Thread(target=self._run, args=(document,), daemon=True)
        self.thread.start()

    def _run(self, document: dict) -> None:
        self.result = self.engine.run(document, "Review")

    def message(self) -> dict[str, Any]:
        """Wait until the step's message is on the queue (an event: the file appears)."""
        while self.thread.is_alive():
            waiting = callbacks.pending(self.home)
            if waiting:
                return waiting[0]
            self.thread.join(0.05)
        raise AssertionError(f"the execution ended before its callback step waited: {self.result}")

    def finish(self) -> ExecutionResult:
        self.thread.join(120)
        assert self.result is not None
        return self.result


def test_a_success_answer_types_the_outputs_and_the_pipeline_goes_on(tmp_path: Path, rendered: dict, capsys: pytest.CaptureFixture[str]) -> None:
    home = Home.resolve(tmp_path / "home")
    running = Running(home, rendered)
    message = running.message()
    assert message["arguments"] == {"model_package": "CreditDefaultPackageGroup/7", "ask": "approve for production?"}
    assert message["status"] == "Executing" and message["pipelineExecutionArn"].startswith("arn:aws:sagemaker:")
    assert len(message["token"]) == 10 and message["token"].isalnum()
    assert mlops.main(["--home", str(home.root), "callback", "list"]) == 0
    assert message["token"] in capsys.readouterr().out
    # SendPipelineExecutionStepSuccess's own shape of outputs: a list of Name/Value strings.
    outputs = json.dumps([{"Name": "approved", "Value": "true"}, {"Name": "reviewer", "Value": "ada"}, {"Name": "confidence", "Value": "0.9"}])
    assert mlops.main(["--home", str(home.root), "callback", "send-success", message["token"], "--outputs", outputs]) == 0
    assert json.loads(capsys.readouterr().out) == {"PipelineExecutionArn": message["pipelineExecutionArn"]}
    result = running.finish()
    assert result.status == "Succeeded", result.failure_reason
    with Records(home) as records:
        properties = records.step_properties(result.execution_id, "HumanReview")
        (step,) = [s for s in records.list_steps(result.execution_id) if s["StepName"] == "HumanReview"]
    assert properties["OutputParameters"] == {"approved": True, "reviewer": "ada", "confidence": 0.9}
    assert step["Metadata"]["Callback"]["CallbackToken"] == message["token"] and step["Metadata"]["Callback"]["SqsQueueUrl"].endswith("/model-review")
    # Answered once: a second answer is refused.
    assert mlops.main(["--home", str(home.root), "callback", "send-failure", message["token"], "--reason", "late"]) == 1
    assert "already answered" in capsys.readouterr().err
    assert callbacks.pending(home) == []


def test_an_answer_that_says_no_takes_the_other_branch_and_a_failure_fails_the_step(tmp_path: Path, rendered: dict, capsys: pytest.CaptureFixture[str]) -> None:
    home = Home.resolve(tmp_path / "home")
    running = Running(home, rendered)
    token = running.message()["token"]
    assert mlops.main(["--home", str(home.root), "callback", "send-success", token, "--outputs", '{"approved": "false", "reviewer": "bob", "confidence": "0.4"}']) == 0
    assert running.finish().failure_reason == "the reviewer did not approve"
    running = Running(home, rendered)
    token = running.message()["token"]
    assert mlops.main(["--home", str(home.root), "callback", "send-failure", token, "--reason", "the model card is missing"]) == 0
    result = running.finish()
    assert result.status == "Failed"
    with Records(home) as records:
        (step,) = [s for s in records.list_steps(result.execution_id) if s["StepName"] == "HumanReview"]
    assert step["StepStatus"] == "Failed" and step["FailureReason"] == "the model card is missing"


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({"approved": "true"}, "the step declares output(s) reviewer, confidence, which the answer lacks (it gives approved)"),
        ({"approved": "yes", "reviewer": "ada", "confidence": "0.9"}, "output 'approved' is declared Boolean, and 'yes' is not one"),
        ({"approved": "true", "reviewer": "ada", "confidence": "high"}, "output 'confidence' is declared Float, and 'high' is not one"),
    ],
)
def test_an_answer_that_does_not_fit_the_declared_outputs_is_refused_and_the_token_still_answers(tmp_path: Path, rendered: dict, outputs: dict, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    home = Home.resolve(tmp_path / "home")
    running = Running(home, rendered)
    token = running.message()["token"]
    assert mlops.main(["--home", str(home.root), "callback", "send-success", token, "--outputs", json.dumps(outputs)]) == 1
    assert capsys.readouterr().err == f"usage error: --outputs: {message}; the callback {token} is still waiting\n"
    assert [m["token"] for m in callbacks.pending(home)] == [token]
    callbacks.answer(home, token, True, {"approved": "true", "reviewer": "ada", "confidence": "0.9"})
    assert running.finish().status == "Succeeded"


def test_a_token_of_an_execution_whose_runner_was_killed_answers_nothing(tmp_path: Path, rendered: dict, capsys: pytest.CaptureFixture[str]) -> None:
    home = Home.resolve(tmp_path / "home")
    (tmp_path / "review.json").write_text(json.dumps(rendered))
    root = Path(__file__).resolve().parents[3]
    runner = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli.main", "--home", str(home.root), "run", "--file", str(tmp_path / "review.json")],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        while not callbacks.pending(home):  # an event: the step's message appears on its queue
            assert runner.poll() is None, "the run ended before its callback step waited"
            time.sleep(0.05)
        token = callbacks.pending(home)[0]["token"]
    finally:
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
    assert callbacks.pending(home) == []  # the execution is settled Failed on reading
    assert mlops.main(["--home", str(home.root), "callback", "send-success", token, "--outputs", '{"approved": "true", "reviewer": "a", "confidence": "1"}']) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"conflict: callback {token} answers nothing now: its execution arn:aws:sagemaker:") and err.endswith(" is Failed\n")


def test_no_answer_within_the_timeout_fails_the_step(tmp_path: Path, rendered: dict) -> None:
    home = Home.resolve(tmp_path / "home")
    engine = Engine(home)
    handler = CallbackHandler()
    handler.timeout_seconds = 0.0  # nobody answers: the first look finds no answer and the time is up
    engine.handlers = {**engine.handlers, "Callback": handler}
    result = Running(home, rendered, engine).finish()
    with Records(home) as records:
        (step,) = [s for s in records.list_steps(result.execution_id) if s["StepName"] == "HumanReview"]
    assert result.status == "Failed" and "was not answered within 0 s" in step["FailureReason"]


@pytest.mark.parametrize(("token", "message"), [("nope", "ten letters and digits"), ("Ab3dE5gH7j", "no callback step is waiting for token Ab3dE5gH7j")])
def test_a_wrong_token_is_one_line(tmp_path: Path, token: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["--home", str(tmp_path / "home"), "callback", "send-success", token]) == 1
    assert message in capsys.readouterr().err
