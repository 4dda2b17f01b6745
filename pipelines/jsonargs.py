"""Command-line options that take JSON (``--kwargs``, ``--parameters``, ``--tags``).

AWS's template reads these with ``ast.literal_eval``; here they are JSON, and a mistake is
reported with the option's name and where the text went wrong.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.errors import UsageError


def parse_object(text: str | None, option: str) -> dict[str, Any]:
    """A JSON object, or ``{}`` for an empty option."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): {text}") from exc
    if not isinstance(value, dict):
        raise UsageError(f"{option}: expected a JSON object such as '{{\"key\": \"value\"}}', got {type(value).__name__}")
    return value


def parse_tags(text: str | None, option: str = "--tags") -> list[dict[str, str]]:
    """Tags as ``[{"Key": .., "Value": ..}]`` or ``{"key": "value"}``; returned in the list form."""
    if text is None or not text.strip():
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
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
