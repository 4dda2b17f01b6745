"""The second example pipeline end to end: `mlops run --module-name pipelines.breast_cancer.pipeline`,
a FrameworkProcessor, a script-mode baseline, tuning, batch transform, a Lambda and a human's callback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from pipelines.build import definition
from pipelines.core import graph
from pipelines.engine import callbacks
from pipelines.engine.runtimes import Runtimes
from pipelines.engine.validation import validate
from pipelines.local.home import Home

pytestmark = pytest.mark.long  # run first (conftest.py)

ROOT = Path(__file__).resolve().parents[3]
MODULE = "pipelines.breast_cancer.pipeline"


def test_it_renders_offline_with_every_step_type_the_example_is_for() -> None:
    document = definition.render(definition.build(MODULE, {}))
    types = {node.name: node.type for node in graph.steps(document)}
    assert types == {
        "Prepare": "Processing", "Baseline": "Training", "Tune": "Tuning", "CreateModel": "Model", "ScoreTest": "Transform",
        "Summarize": "Lambda", "Review": "Callback", "Approved": "Condition", "NotApproved": "Fail",
    }  # fmt: skip
    functions = Runtimes(mapped={}, functions={"summarize-tuning": "pipelines.breast_cancer.functions:summarize"})
    validate(document, functions)  # every reference resolves, every step runs locally


def run(home: Path, env: dict[str, str], answer: dict[str, Any]) -> dict[str, Any]:
    """The pipeline in a process of its own; its review answered when its message arrives. The
    process's pipes are closed however this ends (a failed assertion left them to the garbage
    collector, whose ResourceWarning then failed a later test on the same worker)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "lambdas.json").write_text(json.dumps({"summarize-tuning": "pipelines.breast_cancer.functions:summarize"}))
    command = [sys.executable, "-m", "pipelines.cli.main", "--home", str(home), "run", "--module-name", MODULE, "--json"]
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        local = Home.resolve(home)
        message = None
        while process.poll() is None and message is None:  # an event: the message appears, or the run ends
            waiting = callbacks.pending(local)
            message = waiting[0] if waiting else None
            if message is None:
                try:
                    process.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
        assert message is not None, process.stderr.read() if process.stderr else ""
        callbacks.answer(local, message["token"], True, answer)
        out, err = process.communicate(timeout=600)
    result = json.loads(out) if out.strip() else {"stderr": err}
    result["message"] = message
    return result


def test_mlops_run_takes_it_from_raw_data_to_a_reviewed_model(tmp_path: Path, guarded_env: dict[str, str]) -> None:
    result = run(tmp_path / "home", guarded_env, {"approved": "true", "reviewer": "ada"})
    assert result["PipelineExecutionStatus"] == "Succeeded", result
    steps = {s["StepName"]: s for s in result["Steps"]}
    assert all(s["StepStatus"] == "Succeeded" for s in steps.values()) and "NotApproved" not in steps
    summary = result["message"]["arguments"]["summary"]  # what the Lambda said, in the reviewer's message
    assert "scored validation AUC" in summary and "(baseline " in summary and result["message"]["arguments"]["auc_ok"] is True
    # The transform scored the 85 test rows: label, then the tuned model's probability.
    scores = (tmp_path / "home" / "s3" / "sagemaker-us-east-1-mlops" / "breast-cancer" / "scores" / "test.csv.out").read_text().splitlines()
    labels = np.array([float(line.split(",")[0]) for line in scores])
    probabilities = np.array([float(line.split(",")[1]) for line in scores])
    assert len(scores) == 85 and roc_auc_score(labels, probabilities) > 0.95
    log = Path(tmp_path / "netguard.log")
    assert not log.exists() or log.read_text() == ""


def test_a_reviewer_who_says_no_ends_it_at_the_fail_step(tmp_path: Path, guarded_env: dict[str, str]) -> None:
    result = run(tmp_path / "home", guarded_env, {"approved": "false", "reviewer": "bob"})
    assert result["PipelineExecutionStatus"] == "Failed" and result["FailureReason"] == "the reviewer did not approve the model"


@pytest.fixture(autouse=True)
def _data_is_in_the_repository() -> None:
    assert (ROOT / "data" / "breast-cancer" / "breast_cancer.csv").is_file()
