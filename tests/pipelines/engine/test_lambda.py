"""Lambda steps, as the SDK renders them, call local functions in the Lambdas' place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.core.errors import DefinitionError
from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.runs import local_run

ROOT = Path(__file__).resolve().parents[3]
MAPPED = {"score-applicant": "tests.builders.functions:score_applicant", "arn:aws:lambda:us-east-1:000000000000:function:notify-team:live": "tests.builders.functions:notify_team"}


@pytest.fixture(scope="module")
def rendered() -> dict:
    document, _ = local_run.load_definition("tests.builders.lambdas", {}, None, None)
    return document


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.chdir(ROOT)  # the functions are imported from where `mlops run` starts, and PYTHONPATH
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # tests.builders.functions
    return Home.resolve(tmp_path / "home")


def mapped(home: Home, functions: dict[str, str]) -> Home:
    home.root.mkdir(parents=True, exist_ok=True)
    (home.root / "lambdas.json").write_text(json.dumps(functions))
    return home


def test_an_unmapped_function_is_refused_before_anything_runs_with_the_line_to_add(home: Home, rendered: dict) -> None:
    with pytest.raises(DefinitionError) as refused:
        Engine(home).run(rendered, "Lambdas")
    assert "/Steps/0/FunctionArn: no local function for arn:aws:lambda:us-east-1:000000000000:function:score-applicant" in str(refused.value)
    assert '"score-applicant": "my_package.handlers:score_applicant"' in str(refused.value) and "lambdas.json" in str(refused.value)
    assert not home.executions.exists() or not any(home.executions.iterdir())


def test_outputs_are_typed_as_declared_and_read_by_later_steps(home: Home, rendered: dict) -> None:
    result = Engine(mapped(home, MAPPED)).run(rendered, "Lambdas", {"LimitBal": 50000})
    assert result.status == "Succeeded", result.failure_reason
    with Records(home) as records:
        scored = records.step_properties(result.execution_id, "ScoreApplicant")["OutputParameters"]
        told = records.step_properties(result.execution_id, "NotifyTeam")["OutputParameters"]
    assert scored == {"score": 0.7, "approved": True, "tier": 2, "reason": "score-applicant: limit 50000"}
    assert isinstance(scored["tier"], int) and isinstance(scored["approved"], bool)
    assert told == {"message": "score 0.7 (score-applicant: limit 50000)"}  # the event held the first step's outputs


def test_a_condition_on_an_output_takes_the_other_branch(home: Home, rendered: dict) -> None:
    result = Engine(mapped(home, MAPPED)).run(rendered, "Lambdas", {"LimitBal": 1000, "Education": "high school"})
    assert result.status == "Failed" and result.failure_reason == "the applicant scored below the bar"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("tests.builders.functions:forgets_an_output", "returned no output 'approved' (it returned score)"),
        ("tests.builders.functions:raises", "RuntimeError: the credit bureau is down"),
        ("tests.builders.functions:nowhere", "has no attribute 'nowhere'"),
    ],
)
def test_a_function_that_fails_fails_its_step_with_the_reason(home: Home, rendered: dict, target: str, reason: str) -> None:
    result = Engine(mapped(home, {**MAPPED, "score-applicant": target})).run(rendered, "Lambdas")
    assert result.status == "Failed"
    with Records(home) as records:
        (step,) = [s for s in records.list_steps(result.execution_id) if s["StepName"] == "ScoreApplicant"]
    assert step["StepStatus"] == "Failed" and reason in step["FailureReason"]


def test_a_reference_to_an_output_the_step_does_not_declare_is_refused(home: Home, rendered: dict) -> None:
    document = json.loads(json.dumps(rendered).replace("OutputParameters['reason']", "OutputParameters['why']"))
    with pytest.raises(DefinitionError, match=r"ScoreApplicant declares no output 'why'; its OutputParameters are score, approved, tier, reason"):
        Engine(mapped(home, MAPPED)).run(document, "Lambdas")


def test_a_wrong_lambdas_file_is_named(home: Home, rendered: dict) -> None:
    mapped(home, {"score-applicant": "not a callable"})
    with pytest.raises(DefinitionError, match=r"lambdas.json: expected .*'score-applicant' is not"):
        Engine(home).run(rendered, "Lambdas")
