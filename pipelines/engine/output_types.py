"""The OutputTypes a Lambda or Callback step declares its outputs with, and turning a returned or
answered value into one (String, Integer, Boolean, Float).

A leaf: the handlers convert what a step returned, and ``callbacks.answer`` checks an answer's
values before it is recorded, so a wrong one is refused while the token can still be used.
"""

from __future__ import annotations

import json
from typing import Any

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
