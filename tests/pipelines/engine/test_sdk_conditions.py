"""Every condition type, as the SDK renders it, decides as SageMaker would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.runs import local_run


@pytest.fixture(scope="module")
def rendered() -> dict:
    document, _ = local_run.load_definition("tests.builders.conditions", {}, None, None)
    return document


def outcomes(home: Home, document: dict, overrides: dict) -> dict[str, bool]:
    result = Engine(home).run(document, "Conditions", overrides)
    assert result.status == "Succeeded", result.failure_reason
    with Records(home) as records:
        return {s.name[2:]: records.step_properties(result.execution_id, s.name)["Outcome"] for s in result.steps}


def expected(n: int, x: float, s: str) -> dict[str, bool]:
    return {
        "Equals": n == 3, "GreaterThan": x > 0.25, "GreaterThanOrEqualTo": n >= 3, "LessThan": x < 0.25, "LessThanOrEqualTo": n <= 2,
        "In": s in ("a", "b"), "Not": not n == 3, "NotIn": s not in ("x", "y"), "Or": n < 1 or x > 0.4,
    }  # fmt: skip


def test_the_sdk_writes_not_with_a_condition_key(rendered: dict) -> None:
    by_name = {step["Name"]: step["Arguments"]["Conditions"][0] for step in rendered["Steps"]}
    assert by_name["IfNot"] == {"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": {"Get": "Parameters.N"}, "RightValue": 3}}
    assert by_name["IfNotIn"]["Condition"]["Type"] == "In"


@pytest.mark.parametrize(("n", "x", "s"), [(3, 0.5, "a"), (2, 0.1, "x"), (0, 0.25, "b"), (7, 0.45, "z")])
def test_every_condition_type_rendered_by_the_sdk(tmp_path: Path, rendered: dict, n: int, x: float, s: str) -> None:
    home = Home.resolve(tmp_path / "home")
    assert outcomes(home, rendered, {"N": n, "X": x, "S": s}) == expected(n, x, s)
    assert json.dumps(rendered)  # the engine read the SDK's JSON as it is
