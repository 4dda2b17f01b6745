"""The table of SageMaker operations the twin serves: ``@operation`` enters a handler under the
name its function spells in CamelCase; ``ordered`` and ``page`` are their SortOrder, MaxResults
and NextToken."""

from __future__ import annotations

from typing import Any, Callable

from pipelines.local.home import Home

Handler = Callable[[Home, dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Handler] = {}


def operation(function: Handler) -> Handler:
    """Serve ``function`` as the operation its name spells in CamelCase."""
    OPERATIONS["".join(part.capitalize() for part in function.__name__.split("_"))] = function
    return function


def ordered(items: list[dict[str, Any]], params: dict[str, Any], stored: str = "Descending", default: str = "Descending") -> list[dict[str, Any]]:
    """``items`` as ``SortOrder`` asks (the operation's ``default`` when it is not given);
    ``stored`` is the order the store gave them in."""
    return items if (params.get("SortOrder") or default) == stored else list(reversed(items))


def page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
    """``MaxResults`` and ``NextToken`` over a list (the token is the next item's index)."""
    start = int(params["NextToken"]) if str(params.get("NextToken", "")).isdigit() else 0
    size = int(params.get("MaxResults") or 100)
    chunk = items[start : start + size]
    answer: dict[str, Any] = {key: chunk}
    if start + size < len(items):
        answer["NextToken"] = str(start + size)
    return answer
