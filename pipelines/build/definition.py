"""From a builder module and its keyword arguments to the definition JSON.

A builder module is what AWS's template calls a pipeline module: an importable module with a
``get_pipeline(**kwargs)`` function (``pipelines.credit_default.pipeline``). This module loads
it, checks the keyword arguments against its signature, renders the definition offline and
prints it the same way every time.
"""

from __future__ import annotations

import importlib
import inspect
import json
from types import ModuleType
from typing import Any, Callable

from pipelines.build import sdk
from pipelines.core.errors import DefinitionError, UsageError

DEFAULT_MODULE = "pipelines.credit_default.pipeline"
# Arguments a caller cannot give as JSON: the session is made here.
_NOT_FROM_KWARGS = {"sagemaker_session"}
_JSON_TYPES: dict[Any, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    float: (int, float),
    bool: (bool,),
}


def load_builder(module_name: str) -> Callable[..., Any]:
    """The ``get_pipeline`` function of ``module_name``."""
    sdk.prepare()
    try:
        module: ModuleType = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UsageError(f"--module-name {module_name}: no such module") from exc
        raise
    builder = getattr(module, "get_pipeline", None)
    if not callable(builder):
        raise UsageError(f"--module-name {module_name}: the module has no get_pipeline() function")
    return builder


def check_kwargs(builder: Callable[..., Any], kwargs: dict[str, Any], option: str = "--kwargs") -> dict[str, Any]:
    """Refuse unknown keys and values of the wrong JSON type, naming the key."""
    parameters = {
        name: parameter
        for name, parameter in inspect.signature(builder).parameters.items()
        if name not in _NOT_FROM_KWARGS and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    }
    unknown = sorted(set(kwargs) - set(parameters))
    if unknown:
        raise UsageError(
            f"{option}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(parameters))}"
        )
    hints = _type_hints(builder)
    for key, value in kwargs.items():
        expected = _expected_json_types(hints.get(key))
        if not expected or value is None:
            continue
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            names = "/".join(t.__name__ for t in expected)
            raise UsageError(f"{option}: {key} must be a {names}, got {json.dumps(value)}")
    return kwargs


def build(module_name: str, kwargs: dict[str, Any]) -> Any:
    """The SDK Pipeline object, built offline."""
    builder = load_builder(module_name)
    check_kwargs(builder, kwargs)
    try:
        return builder(**kwargs)
    except (ValueError, TypeError) as exc:
        raise DefinitionError(f"{module_name}.get_pipeline: {exc}") from exc


def render(pipeline: Any) -> dict[str, Any]:
    """The definition of an SDK Pipeline object, as a dict (offline: what the SDK would upload
    while rendering is noted for whoever runs it, ``sdk.rendering``)."""
    from pipelines.build import sdk

    with sdk.rendering():
        return json.loads(pipeline.definition())


def dumps(definition: dict[str, Any]) -> str:
    """The canonical text of a definition: the same definition always gives the same bytes."""
    return json.dumps(definition, indent=2, sort_keys=True) + "\n"


def _type_hints(builder: Callable[..., Any]) -> dict[str, Any]:
    try:
        import typing

        return typing.get_type_hints(builder)
    except Exception:  # noqa: BLE001 - hints are a convenience; unknown types are not checked
        return {}


def _expected_json_types(hint: Any) -> tuple[type, ...]:
    import typing

    if hint in _JSON_TYPES:
        return _JSON_TYPES[hint]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if args and all(a in _JSON_TYPES for a in args):
        return tuple(t for a in args for t in _JSON_TYPES[a])
    return ()
