"""Pipeline parameter overrides, checked against a definition's ``Parameters``.

JSON only (no SDK): the AWS commands and the local engine share it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from pipelines.core.errors import UsageError

TYPES: dict[str, tuple[type, ...]] = {"String": (str,), "Integer": (int,), "Float": (int, float), "Boolean": (bool,)}
# An Integer parameter is a signed 64-bit number and a Float a finite double: what a JSON number
# SageMaker reads can be. NaN and Infinity are not JSON at all (Python's json reads them).
INTEGER_RANGE = (-(2**63), 2**63 - 1)


def value_problem(kind: str, value: Any) -> str | None:
    """None when ``value`` is a value of a ``kind`` parameter (String, Integer, Float, Boolean);
    else what is wrong, to follow the parameter's name."""
    allowed = TYPES.get(kind, (str,))
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        return f"is a {kind} parameter, got {_shown(value)}"
    if kind == "Integer" and not INTEGER_RANGE[0] <= value <= INTEGER_RANGE[1]:
        return f"is an Integer parameter (a signed 64-bit number, {INTEGER_RANGE[0]} to {INTEGER_RANGE[1]}), got {_shown(value)}"
    if kind == "Float" and isinstance(value, float) and not math.isfinite(value):
        return f"is a Float parameter (a finite number), got {value}"
    return None


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:80] + "..."


def declared(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The parameters a definition declares, by name (malformed ones are validation's to report)."""
    listed = definition.get("Parameters") if isinstance(definition, dict) else None
    return {p["Name"]: p for p in listed if isinstance(p, dict) and isinstance(p.get("Name"), str)} if isinstance(listed, list) else {}


def check_overrides(definition: dict[str, Any], overrides: dict[str, Any], option: str = "--parameters") -> dict[str, Any]:
    """Refuse unknown names and values of the wrong type, naming the parameter."""
    known = declared(definition)
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise UsageError(f"{option}: unknown parameter(s) {', '.join(unknown)}; the pipeline has: {', '.join(sorted(known))}")
    for name, value in overrides.items():
        kind = known[name].get("Type", "String")
        problem = value_problem(kind, value)
        if problem:
            raise UsageError(f"{option}: {name} {problem}")
        if kind == "String" and "EnumValues" in known[name] and value not in known[name]["EnumValues"]:
            raise UsageError(f"{option}: {name} must be one of {known[name]['EnumValues']}, got {json.dumps(value)}")
    return overrides


def from_strings(definition: dict[str, Any], values: dict[str, str], option: str = "PipelineParameters") -> dict[str, Any]:
    """StartPipelineExecution's values (text, as the API carries them) as their declared types:
    ``"5"`` for an Integer, ``"0.75"`` for a Float, ``"true"``/``"false"`` for a Boolean."""
    known = declared(definition)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise UsageError(f"{option}: unknown parameter(s) {', '.join(unknown)}; the pipeline has: {', '.join(sorted(known))}")
    typed: dict[str, Any] = {}
    for name, text in values.items():
        kind = known[name].get("Type", "String")
        try:
            if kind == "Integer":
                typed[name] = int(text)
            elif kind == "Float":
                typed[name] = float(text)
            elif kind == "Boolean":
                if str(text).lower() not in ("true", "false"):
                    raise ValueError(text)
                typed[name] = str(text).lower() == "true"
            else:
                typed[name] = text
        except ValueError:
            raise UsageError(f"{option}: {name} is a {kind} parameter, got {text!r}") from None
    return check_overrides(definition, typed, option)


def resolved(definition: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Every parameter's value for an execution: the override, else the default."""
    check_overrides(definition, overrides)
    values = {}
    for name, parameter in declared(definition).items():
        if name in overrides:
            values[name] = overrides[name]
        elif "DefaultValue" in parameter:
            values[name] = parameter["DefaultValue"]
        else:
            raise UsageError(f"--parameters: {name} has no default value; give one")
    return values
