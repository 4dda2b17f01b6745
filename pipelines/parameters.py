"""Pipeline parameter overrides, checked against a definition's ``Parameters``.

JSON only (no SDK): the AWS commands and the local engine share it.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.errors import UsageError

_TYPES: dict[str, tuple[type, ...]] = {"String": (str,), "Integer": (int,), "Float": (int, float), "Boolean": (bool,)}


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
        allowed = _TYPES.get(kind, (str,))
        wrong_bool = isinstance(value, bool) and bool not in allowed
        if not isinstance(value, allowed) or wrong_bool:
            raise UsageError(f"{option}: {name} is a {kind} parameter, got {json.dumps(value)}")
        if kind == "String" and "EnumValues" in known[name] and value not in known[name]["EnumValues"]:
            raise UsageError(f"{option}: {name} must be one of {known[name]['EnumValues']}, got {json.dumps(value)}")
    return overrides


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
