"""Checking a document against botocore's service model, so our AWS shapes cannot drift.

``problems(document, shape_name)`` lists every way ``document`` is not a valid instance of the
shape: a required member missing, a ``null`` where a member should be absent, a value of the
wrong type, an enum value out of range, a key the shape does not have. Keys the project adds on
purpose are allowed only when named in ``extras`` (a set of JSON paths such as
``"CaptureCounts"`` or ``"PipelineExecutionSteps[]"``), so each addition is documented where it
is tested.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import botocore.session

_MODELS: dict[str, Any] = {}


def model(service: str = "sagemaker") -> Any:
    if service not in _MODELS:
        _MODELS[service] = botocore.session.get_session().get_service_model(service)
    return _MODELS[service]


def problems(document: Any, shape_name: str, extras: frozenset[str] = frozenset(), service: str = "sagemaker") -> list[str]:
    found: list[str] = []
    _check(document, model(service).shape_for(shape_name), "", extras, found)
    return found


def _check(value: Any, shape: Any, path: str, extras: frozenset[str], found: list[str]) -> None:
    where = path or "(top)"
    if value is None:
        found.append(f"{where}: null (absent members are left out, not null)")
        return
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            found.append(f"{where}: expected an object ({shape.name}), got {type(value).__name__}")
            return
        for name in shape.required_members:
            if name not in value:
                found.append(f"{where}: required member {name} ({shape.name}) missing")
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key in shape.members:
                _check(item, shape.members[key], child, extras, found)
            elif child not in extras:
                found.append(f"{child}: not a member of {shape.name} (and not a documented extra)")
    elif kind == "list":
        if not isinstance(value, list):
            found.append(f"{where}: expected a list ({shape.name})")
            return
        for item in value:
            _check(item, shape.member, f"{path}[]", extras, found)
    elif kind == "map":
        if not isinstance(value, dict):
            found.append(f"{where}: expected a map ({shape.name})")
            return
        for item in value.values():
            _check(item, shape.value, f"{path}{{}}", extras, found)
    elif kind == "string":
        if not isinstance(value, str):
            found.append(f"{where}: expected a string ({shape.name}), got {value!r}")
        elif shape.enum and value not in shape.enum:
            found.append(f"{where}: {value!r} is not one of {shape.name}'s values {shape.enum}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            found.append(f"{where}: expected an integer ({shape.name}), got {value!r}")
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            found.append(f"{where}: expected a number ({shape.name}), got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            found.append(f"{where}: expected a boolean ({shape.name}), got {value!r}")
    elif kind == "timestamp":
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            found.append(f"{where}: expected an ISO-8601 timestamp ({shape.name}), got {value!r}")
