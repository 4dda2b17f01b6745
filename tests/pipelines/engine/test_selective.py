"""Selective execution: run some steps again, the others' results taken from an earlier
execution, as SageMaker's SelectiveExecutionConfig does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main as mlops
from pipelines.core.errors import UsageError
from pipelines.engine.orchestrator import Engine, Selective
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.runs import local_run
from tests.helpers.aws_shapes import problems

ROOT = Path(__file__).resolve().parents[3]
FUNCTIONS = {"score-applicant": "tests.builders.functions:score_applicant", "notify-team": "tests.builders.functions:notify_team"}


@pytest.fixture(scope="module")
def rendered() -> dict:
    document, _ = local_run.load_definition("tests.builders.lambdas", {}, None, None)
    return document


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # tests.builders.functions
    home = Home.resolve(tmp_path / "home")
    home.root.mkdir(parents=True, exist_ok=True)
    return home


def functions(home: Home, **changed: str) -> None:
    (home.root / "lambdas.json").write_text(json.dumps({**FUNCTIONS, **changed}))


def test_only_the_selected_step_runs_and_reads_the_others_results_from_the_source(home: Home, rendered: dict) -> None:
    functions(home)
    source = Engine(home).run(rendered, "Lambdas", {"LimitBal": 50000})
    assert source.status == "Succeeded"
    # Were ScoreApplicant run again, it would fail now: its function raises.
    functions(home, **{"score-applicant": "tests.builders.functions:raises"})
    again = Engine(home).run(rendered, "Lambdas", {"LimitBal": 50000}, selective=Selective(source.execution_id, ("NotifyTeam",)))
    assert again.status == "Succeeded", again.failure_reason
    with Records(home) as records:
        steps = {s["StepName"]: s for s in records.list_steps(again.execution_id)}
        described = records.describe_execution(again.execution_id)
        told = records.step_properties(again.execution_id, "NotifyTeam")["OutputParameters"]
    assert steps["ScoreApplicant"]["SelectiveExecutionResult"] == {"SourcePipelineExecutionArn": source.arn}
    assert steps["GoodEnough"]["SelectiveExecutionResult"] == {"SourcePipelineExecutionArn": source.arn}
    assert "SelectiveExecutionResult" not in steps["NotifyTeam"] and steps["NotifyTeam"]["StepStatus"] == "Succeeded"
    assert told == {"message": "score 0.7 (score-applicant: limit 50000)"}  # the source's outputs fed it
    assert described["SelectiveExecutionConfig"] == {"SourcePipelineExecutionArn": source.arn, "SelectedSteps": [{"StepName": "NotifyTeam"}]}
    # Both in botocore's shapes: DescribePipelineExecution's config and ListPipelineExecutionSteps' result.
    assert problems(described["SelectiveExecutionConfig"], "SelectiveExecutionConfig") == []
    assert problems(steps["ScoreApplicant"]["SelectiveExecutionResult"], "SelectiveExecutionResult") == []


def test_a_selected_step_that_needs_a_failed_one_is_refused_naming_it(home: Home, rendered: dict) -> None:
    functions(home, **{"score-applicant": "tests.builders.functions:raises"})
    failed = Engine(home).run(rendered, "Lambdas")
    assert failed.status == "Failed"
    with pytest.raises(UsageError, match=r"--steps: NotifyTeam needs GoodEnough, ScoreApplicant, which did not succeed in .*: select it too"):
        Engine(home).run(rendered, "Lambdas", selective=Selective(failed.execution_id, ("NotifyTeam",)))
    with pytest.raises(UsageError, match=r"--steps: Nope: the definition's steps are GoodEnough, NotifyTeam, ScoreApplicant, TooRisky"):
        Engine(home).run(rendered, "Lambdas", selective=Selective(failed.execution_id, ("Nope",)))
    with pytest.raises(UsageError, match="is an execution of Lambdas, not of Other"):
        Engine(home).run(rendered, "Other", selective=Selective(failed.execution_id, ("ScoreApplicant",)))


def test_the_cli_takes_both_options_or_neither(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["--home", str(home.root), "run", "--module-name", "tests.builders.lambdas", "--steps", "NotifyTeam"]) == 1
    assert "--from-execution and --steps go together" in capsys.readouterr().err
