"""The step graph of a definition JSON: steps, where they sit, and what each waits for.

Reads JSON only (no SDK). A step waits for the steps it names in ``DependsOn``, for every
step whose properties it reads (``{"Get": "Steps.X..."}``, property files in
``Std:JsonGet``), and, when it sits in a condition's ``IfSteps``/``ElseSteps``, for that
condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

_STEP_REFERENCE = re.compile(r"^Steps\.(?P<step>[^.\[]+)")


@dataclass(frozen=True)
class Reference:
    """One ``{"Get": ...}`` in the definition and the JSON pointer where it sits."""

    pointer: str
    target: str

    @property
    def kind(self) -> str:
        return self.target.split(".", 1)[0]

    @property
    def step(self) -> str | None:
        match = _STEP_REFERENCE.match(self.target)
        return match["step"] if match else None


@dataclass
class Node:
    name: str
    type: str
    pointer: str
    step: dict[str, Any] = field(repr=False)
    condition: str | None = None  # the ConditionStep this step is a branch of
    branch: str | None = None  # "CheckAuc.if" / "CheckAuc.else"
    depends_on: list[str] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)

    @property
    def upstream(self) -> list[str]:
        """Every step this one waits for, in a stable order."""
        names = list(self.depends_on)
        names += [r.step for r in self.references if r.step]
        if self.condition:
            names.append(self.condition)
        return sorted(set(names) - {self.name})

    def as_dict(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Type": self.type,
            "Pointer": self.pointer,
            "Branch": self.branch,
            "Upstream": self.upstream,
        }


def steps(definition: dict[str, Any]) -> list[Node]:
    """Every step, nested condition branches included, in definition order."""
    return list(_walk(definition.get("Steps") or [], "/Steps", None, None))


def _walk(items: list[Any], pointer: str, condition: str | None, branch: str | None) -> Iterator[Node]:
    for index, step in enumerate(items):
        here = f"{pointer}/{index}"
        if not isinstance(step, dict):
            continue
        name = str(step.get("Name"))
        arguments = step.get("Arguments") or {}
        nested = {"IfSteps", "ElseSteps"} if step.get("Type") == "Condition" else set()
        own = {k: v for k, v in arguments.items() if k not in nested} if isinstance(arguments, dict) else arguments
        yield Node(
            name=name,
            type=str(step.get("Type")),
            pointer=here,
            step=step,
            condition=condition,
            branch=branch,
            depends_on=list(step.get("DependsOn") or []),
            references=list(references({"Arguments": own, **_step_level(step)}, here)),
        )
        for key in sorted(nested):
            children = arguments.get(key) or []
            yield from _walk(children, f"{here}/Arguments/{key}", name, f"{name}.{'if' if key == 'IfSteps' else 'else'}")


def _step_level(step: dict[str, Any]) -> dict[str, Any]:
    # Step-level fields that can hold expressions (a QualityCheck's supplied baselines, ...).
    skip = {"Name", "Type", "Arguments", "DependsOn", "CacheConfig", "PropertyFiles", "RetryPolicies", "DisplayName", "Description"}
    return {k: v for k, v in step.items() if k not in skip}


def references(node: Any, pointer: str) -> Iterator[Reference]:
    """Every ``Get`` under ``node``, with its JSON pointer."""
    if isinstance(node, dict):
        if set(node) == {"Get"} and isinstance(node["Get"], str):
            yield Reference(pointer=pointer, target=node["Get"])
            return
        for key, value in node.items():
            yield from references(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from references(value, f"{pointer}/{index}")
