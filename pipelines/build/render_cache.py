"""Rendered definitions kept between runs, so a run whose builder has not changed skips the SDK.

Rendering a definition means importing the SageMaker SDK (about 3 s) for a few milliseconds of
work. A rendering is kept under ``$XDG_CACHE_HOME/mlops/definitions/`` (``~/.cache`` by default)
and used again only when everything it came from is unchanged, which the entry proves:

- its file is named by the builder module, its keyword arguments, the Python version, the
  versions of the SDK's distributions and botocore (``DISTRIBUTIONS``), the environment the
  SDK reads while rendering (``AWS_*``, ``SAGEMAKER_*``) and where modules are imported from
  (``sys.path``, resolved: another checkout of the same project is another entry);
- it lists the sha256 of every source file of this project and the user's that was imported
  when it was rendered (everything outside the interpreter's own and installed libraries: the
  builder, what it imports, this package), and of every file the definition ships
  (``code_assets.find``: the job scripts, the analyzer bundle's sources). One changed byte in
  any of them and the entry is not used; nor is one whose shipped files, found again now, are
  not the ones it names (``code_assets.find`` refuses it).

A rendering is not kept when the SDK would have uploaded something while rendering (a
processor's local ``code=``, ``sdk.rendering``): those files live in this process only; nor when
a source file changed after this process started using them (``_STARTED``), since Python keeps
the module it imported first and the rendering may be of the older file.
Entries are written whole (``write_text_atomic``), so concurrent runs never read half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import sysconfig
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from pipelines.build import code_assets
from pipelines.core import user_cache
from pipelines.core.errors import DefinitionError
from pipelines.core.fileio import write_text_atomic
from pipelines.monitor import bundle

VERSION = 2  # of the entry's key and layout
DISTRIBUTIONS = ("sagemaker", "sagemaker-core", "sagemaker-train", "sagemaker-serve", "sagemaker-mlops", "boto3", "botocore")
ENVIRONMENT_PREFIXES = ("AWS_", "SAGEMAKER_")
_STARTED = time.time()  # imported before any builder is: a source changed after this may be stale here


def folder() -> Path:
    return user_cache.folder("definitions")


def key(module_name: str, kwargs: dict[str, Any]) -> str:
    """The entry's name: what the rendering depends on besides source files."""
    versions = {}
    for name in DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    environment = {k: v for k, v in os.environ.items() if k.startswith(ENVIRONMENT_PREFIXES)}
    path = [str(Path(entry or os.getcwd()).resolve()) for entry in sys.path]
    facts = {"layout": VERSION, "module": module_name, "kwargs": kwargs, "python": sys.version, "versions": versions, "environment": environment, "path": path}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


def lookup(entry_key: str) -> tuple[dict[str, Any], str] | None:
    """(definition, pipeline name) rendered earlier from exactly this (``key``, taken before
    rendering: the SDK's preparation sets variables of its own), or None."""
    path = folder() / f"{entry_key}.json"
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("sources"), dict):
        return None
    for source, digest in entry["sources"].items():
        if _digest(Path(source)) != digest:
            return None
    try:
        code_assets.find(entry["definition"])  # the files it ships are these, byte for byte
    except DefinitionError:
        return None
    return entry["definition"], entry["name"]


def store(entry_key: str, definition: dict[str, Any], name: str) -> None:
    """Keep a rendering just made in this process, unless it ships a file the SDK would have
    uploaded while rendering (those live in this process only)."""
    try:
        assets = code_assets.find(definition)
    except Exception:  # noqa: BLE001 - whatever find refuses, the run reports; it is not kept
        return
    if any(code_assets.rendered_here(asset.uri) for asset in assets):
        return
    shipped = [asset.path for asset in assets if asset.path.name not in code_assets.BUILT]
    files = set(_project_sources()) | set(shipped) | set(bundle.files())
    try:
        if any(path.stat().st_mtime > _STARTED for path in files):
            return
    except OSError:
        return
    sources = {str(path): _digest(path) for path in sorted(files)}
    if None in sources.values():
        return
    entry = {"definition": definition, "name": name, "sources": sources}
    try:
        folder().mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder() / f"{entry_key}.json", json.dumps(entry, sort_keys=True))
    except OSError:
        return  # a cache that cannot be written is only slower


def _project_sources() -> list[Path]:
    """The source files of every imported module that is neither Python's nor an installed library's.

    Resolved a folder at a time (a file only if it is a link itself): a test worker or a CLI
    process holds thousands of modules in a few hundred folders, and resolving every file took
    0.2 s a rendering."""
    libraries = tuple({os.path.join(os.path.realpath(p), "") for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_paths().get(key))})
    folders: dict[str, str] = {}
    found = []
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or not file.endswith(".py"):
            continue
        folder, name = os.path.split(file)
        if folder not in folders:
            folders[folder] = os.path.realpath(folder)
        path = os.path.realpath(file) if os.path.islink(file) else os.path.join(folders[folder], name)
        if not path.startswith(libraries):
            found.append(Path(path))
    return found


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
