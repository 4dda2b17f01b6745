"""Step caching as SageMaker does it: same step type and cache-key arguments within ExpireAfter.

The key covers the fields SageMaker lists per step type (a handler's ``cache_fields``, e.g.
AppSpecification, Environment and ProcessingInputs for Processing) and, stricter than
SageMaker, the content of every input: a changed file under the same URI is a miss.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from pipelines.core.errors import DefinitionError
from pipelines.engine.handlers.base import Handler
from pipelines.local.store import ObjectStore

_DURATION = re.compile(
    r"^P?(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$",
    re.IGNORECASE,
)


def expire_after(text: str, pointer: str) -> timedelta:
    """An ISO-8601 duration (``P30D``, ``PT1H``) or SageMaker's short forms (``30d``, ``T16m``)."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or not any(match.groupdict().values()):
        raise DefinitionError(f"{pointer}: {text!r} is not an ISO-8601 duration such as P30D or PT1H")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    days = parts.get("years", 0) * 365 + parts.get("months", 0) * 30 + parts.get("weeks", 0) * 7 + parts.get("days", 0)
    return timedelta(days=days, hours=parts.get("hours", 0), minutes=parts.get("minutes", 0), seconds=parts.get("seconds", 0))


def settings(step: dict[str, Any], pointer: str) -> timedelta | None:
    """How long results of this step may be reused, or None when caching is off."""
    config = step.get("CacheConfig") or {}
    if not config.get("Enabled"):
        return None
    return expire_after(config.get("ExpireAfter", "P30D"), f"{pointer}/CacheConfig/ExpireAfter")


def key(handler: Handler, arguments: dict[str, Any], store: ObjectStore) -> str:
    relevant = {field: arguments.get(field) for field in handler.cache_fields}
    digests = {source: store.digest(source) for source in handler.cache_inputs(arguments)}
    payload = json.dumps({"Type": handler.type, "Arguments": relevant, "Inputs": digests}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def not_before(window: timedelta) -> str:
    return (datetime.now(timezone.utc) - window).isoformat(timespec="milliseconds")


def outputs_present(handler: Handler, arguments: dict[str, Any], properties: dict[str, Any], store: ObjectStore) -> bool:
    """Whether every output a cached step produced (as its handler names them) is still in the store."""
    return all(store.exists(item.uri) for item in handler.artifacts(arguments, properties) if item.direction == "out")
