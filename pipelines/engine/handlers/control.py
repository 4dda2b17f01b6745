"""``Condition`` and ``Fail``: steps that decide, run no job and write nothing."""

from __future__ import annotations

from typing import Any

from pipelines.core.graph import Node
from pipelines.engine.expressions import CONDITION_TYPES
from pipelines.engine.handlers.base import FAILED, SUCCEEDED, Handler, Problem, StepOutcome, StepRun
from pipelines.engine.runtimes import Runtimes


class ConditionHandler(Handler):
    """All conditions true -> the IfSteps run, otherwise the ElseSteps; the others never run."""

    type = "Condition"
    properties = frozenset({"Outcome"})

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        conditions = (node.step.get("Arguments") or {}).get("Conditions")
        here = f"{node.pointer}/Arguments/Conditions"
        if not isinstance(conditions, list) or not conditions:
            return [Problem(here, "a Condition step needs a non-empty list of Conditions")]
        return [p for i, c in enumerate(conditions) for p in _check_condition(c, f"{here}/{i}")]

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"Condition": {"Outcome": str(outcome.branch)}} if outcome.branch is not None else {}

    def run(self, job: StepRun) -> StepOutcome:
        conditions = job.node.step["Arguments"]["Conditions"]
        here = f"{job.node.pointer}/Arguments/Conditions"
        trace: list[str] = []
        outcome = all(job.scope.condition(c, f"{here}/{i}", trace) for i, c in enumerate(conditions))
        job.log.write("\n".join(trace) + f"\nconditions evaluated to {str(outcome).lower()}: running the {'IfSteps' if outcome else 'ElseSteps'}\n")
        return StepOutcome(SUCCEEDED, properties={"Outcome": outcome}, branch=outcome, detail="; ".join(trace))


def _check_condition(condition: object, pointer: str) -> list[Problem]:
    if not isinstance(condition, dict) or condition.get("Type") not in CONDITION_TYPES:
        kind = condition.get("Type") if isinstance(condition, dict) else condition
        return [Problem(f"{pointer}/Type", f"unknown condition type {kind!r}; known: {', '.join(CONDITION_TYPES)}")]
    if condition["Type"] == "Not":
        return _check_condition(condition.get("Condition"), f"{pointer}/Condition")
    if condition["Type"] == "Or":
        if not isinstance(condition.get("Conditions"), list) or not condition["Conditions"]:
            return [Problem(f"{pointer}/Conditions", "Or needs a non-empty list of Conditions")]
        return [p for i, c in enumerate(condition["Conditions"]) for p in _check_condition(c, f"{pointer}/Conditions/{i}")]
    if condition["Type"] == "In":
        return [] if "QueryValue" in condition and isinstance(condition.get("Values"), list) else [Problem(pointer, "In needs QueryValue and Values")]
    return [] if "LeftValue" in condition and "RightValue" in condition else [Problem(pointer, f"{condition['Type']} needs LeftValue and RightValue")]


class FailHandler(Handler):
    """Ends the execution Failed with the resolved ErrorMessage."""

    type = "Fail"

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"Fail": {"ErrorMessage": outcome.failure_reason}}

    def run(self, job: StepRun) -> StepOutcome:
        message = job.arguments.get("ErrorMessage")
        text = str(message) if message not in (None, "") else "The pipeline reached a Fail step"
        job.log.write(f"{text}\n")
        return StepOutcome(FAILED, failure_reason=text, execution_failure=text)
