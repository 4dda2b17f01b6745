"""``OutputParameters``: the typed outputs a Lambda or Callback step declares and later steps read.

Both step types declare a list of ``{OutputName, OutputType}`` (String, Integer, Boolean or
Float); a later step reads one as ``Steps.<name>.OutputParameters['<name>']``. This module
holds what the two share: the declaration's validation, the property check and the one-line
detail; the conversion of a value to its declared type is ``output_types.convert``.
"""

from __future__ import annotations

from typing import Any

from pipelines.core.graph import Node
from pipelines.engine.handlers.base import Handler, Problem
from pipelines.engine.output_types import TYPES


def output_problems(node: Node) -> list[Problem]:
    """What is wrong with the step's ``OutputParameters`` declaration (none when it is absent)."""
    here = node.pointer
    outputs = node.step.get("OutputParameters", [])
    if not isinstance(outputs, list):
        return [Problem(f"{here}/OutputParameters", "a list of {OutputName, OutputType}")]
    problems = []
    for index, output in enumerate(outputs):
        if not isinstance(output, dict) or not isinstance(output.get("OutputName"), str):
            problems.append(Problem(f"{here}/OutputParameters/{index}", "each output needs an OutputName"))
        elif output.get("OutputType", "String") not in TYPES:
            problems.append(Problem(f"{here}/OutputParameters/{index}/OutputType", f"{output.get('OutputType')!r} is not one of {', '.join(TYPES)}"))
    return problems


class OutputParametersHandler(Handler):
    """A step type whose properties are the ``OutputParameters`` it declares."""

    properties = frozenset({"OutputParameters"})

    def check_property(self, node: Node, tokens: list[str | int]) -> str | None:
        if not tokens or tokens[0] != "OutputParameters":
            return f"{self.type} steps have OutputParameters['<name>'], not {tokens[0] if tokens else ''!r}"
        declared = [o.get("OutputName") for o in node.step.get("OutputParameters", []) if isinstance(o, dict)]
        if len(tokens) > 1 and tokens[1] not in declared:
            return f"{node.name} declares no output {tokens[1]!r}; its OutputParameters are {', '.join(map(str, declared)) or 'none'}"
        return None

    def detail(self, properties: dict[str, Any]) -> str | None:
        outputs = properties.get("OutputParameters") or {}
        return ", ".join(f"{k}={v}" for k, v in outputs.items()) or None
