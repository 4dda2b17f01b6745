"""A CodeBuild buildspec (version 0.2), read as CodeBuild reads it: ``env.variables``,
``env.shell``, and the phases ``install``, ``pre_build``, ``build``, ``post_build``, each with
``commands``, an optional ``finally`` and ``on-failure`` (``ABORT``, the default, or ``CONTINUE``).

What the local build cannot honour is refused by name rather than ignored:
``env.parameter-store`` and ``env.secrets-manager`` (give their values with ``--env``),
``env.git-credential-helper``, ``batch``. ``runtime-versions`` and ``artifacts``, ``reports``
and ``cache`` are read and left to CodeBuild: the build runs on this machine's Python, and
what it would upload stays where the commands left it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.errors import UsageError

PHASES = ("install", "pre_build", "build", "post_build")
SHELLS = {"sh": "/bin/sh", "bash": "/bin/bash"}
_NOT_LOCAL = {
    ("env", "parameter-store"): "give each value with --env NAME=VALUE",
    ("env", "secrets-manager"): "give each value with --env NAME=VALUE",
    ("env", "git-credential-helper"): "the local build uses this machine's git as it is",
    ("batch",): "run each build of the batch with its own buildspec",
}


@dataclass(frozen=True)
class Phase:
    name: str
    commands: tuple[str, ...]
    finally_: tuple[str, ...] = ()
    continue_on_failure: bool = False


@dataclass(frozen=True)
class Buildspec:
    path: Path
    variables: dict[str, str] = field(default_factory=dict)
    shell: str = SHELLS["sh"]
    phases: tuple[Phase, ...] = ()

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)


def load(path: Path) -> Buildspec:
    """``path`` read and checked; a UsageError naming the place in the file for what is wrong."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the buildspec ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}: not YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path}: a buildspec is a mapping with version and phases")
    if str(document.get("version")) != "0.2":
        raise UsageError(f"{path}: version: {document.get('version')!r}; the local build reads version 0.2 (CodeBuild's current)")
    for keys, what in _NOT_LOCAL.items():
        if _get(document, keys) is not None:
            raise UsageError(f"{path}: {'.'.join(keys)}: not available to a local build; {what}")
    env = _mapping(document.get("env") or {}, path, "env")
    variables = _mapping(env.get("variables") or {}, path, "env.variables")
    for name, value in variables.items():
        if not isinstance(value, (str, int, float, bool)):
            raise UsageError(f"{path}: env.variables.{name}: a variable's value is a string, not {type(value).__name__}")
    shell = env.get("shell", "sh")
    if shell not in SHELLS:
        raise UsageError(f"{path}: env.shell: {shell!r}; the local build runs {' or '.join(SHELLS)}")
    phases_document = _mapping(document.get("phases") or {}, path, "phases")
    unknown = sorted(set(phases_document) - set(PHASES))
    if unknown:
        raise UsageError(f"{path}: phases.{unknown[0]}: not a phase; CodeBuild's are {', '.join(PHASES)}")
    phases = tuple(_phase(name, phases_document[name], path) for name in PHASES if name in phases_document)
    return Buildspec(path, {str(k): _text(v) for k, v in variables.items()}, SHELLS[shell], phases)


def _phase(name: str, document: Any, path: Path) -> Phase:
    where = f"phases.{name}"
    document = _mapping(document or {}, path, where)
    on_failure = str(document.get("on-failure", "ABORT"))
    if on_failure not in ("ABORT", "CONTINUE"):
        raise UsageError(f"{path}: {where}.on-failure: {on_failure!r}; ABORT or CONTINUE")
    return Phase(name, _commands(document.get("commands"), path, f"{where}.commands"), _commands(document.get("finally"), path, f"{where}.finally"), on_failure == "CONTINUE")


def _commands(value: Any, path: Path, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise UsageError(f"{path}: {where}: a list of commands")
    for index, command in enumerate(value):
        if not isinstance(command, str) or not command.strip():
            raise UsageError(f"{path}: {where}[{index}]: a command is a non-empty string, not {command!r}")
    return tuple(value)


def _mapping(value: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{path}: {where}: a mapping, not {type(value).__name__}")
    return value


def _get(document: dict[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = document
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
