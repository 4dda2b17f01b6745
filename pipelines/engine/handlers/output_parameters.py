"""``OutputParameters``: the typed outputs a Lambda or Callback step declares and later steps read.

Both step types declare a list of ``{OutputName, OutputType}`` (String, Integer, Boolean or
Float); a later step reads one as ``Steps.<name>.OutputParameters['<name>']``. This module
holds what the two share: the declaration's validation, the property check, the one-line
detail and the conversion of a returned value to its declared type.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.engine.handlers.base import Handler, Problem
from pipelines.graph import Node

TYPES = ("String", "Integer", "Boolean", "Float")


def convert(value: Any, kind: str) -> Any:
    """``value`` as the OutputType ``kind``; ValueError when it is not one."""
    if kind == "String":
        return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    if kind == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"{value!r} is not a Boolean")
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an {kind}")
    if kind == "Integer":
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"{value!r} is not an Integer")
        return int(number)
    return float(value)


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
