"""JSON a user gives: command-line options (``--kwargs``, ``--parameters``, ``--tags``,
``--outputs``) and files (definitions, policies).

AWS's template reads options with ``ast.literal_eval``; here they are JSON, read by ``loads``
alone, and a mistake is reported with the option's or file's name and where the text went wrong.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.core.errors import UsageError

MAX_DEPTH = 100  # arrays and objects inside each other; a pipeline definition needs about 15


def loads(text: str, source: str) -> Any:
    """``text`` as JSON; a mistake is a UsageError naming ``source`` and where the text went wrong.

    Nesting is limited to ``MAX_DEPTH``: deeper text would exhaust the recursion of the parser or
    of whatever walks the value next, and no definition, policy or option needs it.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    except RecursionError:
        raise UsageError(f"{source}: arrays or objects nested more than {MAX_DEPTH} deep") from None
    path = _too_deep(value)
    if path is not None:
        raise UsageError(f"{source}: arrays or objects nested more than {MAX_DEPTH} deep (at {path[:120]}{'...' if len(path) > 120 else ''})")
    return value


def _too_deep(value: Any) -> str | None:
    """The JSON pointer of the first value deeper than ``MAX_DEPTH``, or None."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, pointer, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                return pointer or "/"
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            stack.extend((child, f"{pointer}/{key}", depth + 1) for key, child in pairs)
    return None


def parse_object(text: str | None, option: str) -> dict[str, Any]:
    """A JSON object, or ``{}`` for an empty option."""
    if text is None or not text.strip():
        return {}
    value = loads(text, option)
    if not isinstance(value, dict):
        raise UsageError(f"{option}: expected a JSON object such as '{{\"key\": \"value\"}}', got {type(value).__name__}")
    return value


def parse_tags(text: str | None, option: str = "--tags") -> list[dict[str, str]]:
    """Tags as ``[{"Key": .., "Value": ..}]`` or ``{"key": "value"}``; returned in the list form."""
    if text is None or not text.strip():
        return []
    value = loads(text, option)
    if isinstance(value, dict):
        value = [{"Key": k, "Value": v} for k, v in value.items()]
    if not isinstance(value, list):
        raise UsageError(f'{option}: expected [{{"Key": "k", "Value": "v"}}, ...] or {{"k": "v"}}')
    tags = []
    for index, tag in enumerate(value):
        if not isinstance(tag, dict) or set(tag) != {"Key", "Value"}:
            raise UsageError(f"{option}[{index}]: each tag needs exactly the keys Key and Value, got {json.dumps(tag)}")
        key, val = tag["Key"], tag["Value"]
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise UsageError(f"{option}[{index}].Key: a string of 1 to 128 characters, got {json.dumps(key)}")
        if not isinstance(val, str) or len(val) > 256:
            raise UsageError(f"{option}[{index}].Value ({key}): a string of at most 256 characters, got {json.dumps(val)}")
        tags.append({"Key": key, "Value": val})
    return tags
