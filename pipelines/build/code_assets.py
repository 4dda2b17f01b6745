"""Job scripts as content-addressed S3 objects.

The builder never uploads anything: it names each script of ``steps/`` by the sha256 of its
bytes, ``s3://{bucket}/{prefix}/code/{digest16}/{file}``, so the same scripts always render
the same definition. Whoever runs the definition (``run-pipeline`` on AWS, the local engine)
calls :func:`find` on the definition to learn which files to put at which URI; a digest that
no longer matches the file on disk means the definition is stale, and says so.

Builders written the usual way hand the SDK a local path (``processor.run(code="train.py")``)
and the SDK uploads it while it renders. The offline session (``sdk.pipeline_session``)
uploads nothing: it calls :func:`rendered` with what it would have put where, and ``find``
names those files too when the definition refers to their URIs. The SDK derives those URIs
from the content (the pipeline's code hash), so what this process rendered is what it runs.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from pipelines.core.errors import DefinitionError
from pipelines.monitor import bundle

_STEPS_SPEC = importlib.util.find_spec("steps")  # located, not imported: the library never runs a job script
if _STEPS_SPEC is None or not _STEPS_SPEC.origin:
    raise ImportError("the steps package (the job scripts, steps/) is not installed beside pipelines/: reinstall the project")
STEPS_DIR = Path(_STEPS_SPEC.origin).resolve().parent
DIGEST_CHARS = 16
_CODE_URI = re.compile(r"^s3://[^/]+/(?:.+/)?code/(?P<digest>[0-9a-f]{%d})/(?P<name>[\w.-]+\.pyz?)$" % DIGEST_CHARS)
BUILT = (bundle.NAME,)  # made from the package, not kept in steps/


@dataclass(frozen=True)
class CodeAsset:
    """One job script and the S3 URI the definition knows it by."""

    uri: str
    path: Path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_CHARS]


def bundle_uri(bucket: str, prefix: str) -> str:
    """The S3 URI of the analyzer bundle (``monitor/bundle.py``) under ``s3://bucket/prefix/code/``."""
    key_prefix = f"{prefix.strip('/')}/code" if prefix.strip("/") else "code"
    return f"s3://{bucket}/{key_prefix}/{hashlib.sha256(bundle.contents()).hexdigest()[:DIGEST_CHARS]}/{bundle.NAME}"


@functools.lru_cache(maxsize=None)
def _built(name: str) -> Path:
    """A built asset (the analyzer bundle), made once per process in a folder of its own."""
    return bundle.build(Path(tempfile.mkdtemp(prefix="mlops-assets-")))


def script_uri(bucket: str, prefix: str, script: str) -> str:
    """The S3 URI of ``steps/<script>`` under ``s3://bucket/prefix/code/``."""
    path = STEPS_DIR / script
    if not path.is_file():
        raise DefinitionError(f"job script steps/{script} does not exist")
    key_prefix = f"{prefix.strip('/')}/code" if prefix.strip("/") else "code"
    return f"s3://{bucket}/{key_prefix}/{digest(path)}/{script}"


_RENDERED: dict[str, Path] = {}  # URI -> local file the SDK would have uploaded, in this process


def rendered(uri: str, path: Path) -> None:
    """Note that rendering named ``path`` at ``uri`` (the offline session's stand-in for an upload)."""
    _RENDERED[uri] = path


def rendered_here(uri: str) -> bool:
    """Whether ``uri`` names a file this process rendered (noted by :func:`rendered`), not one of ``steps/``."""
    return uri in _RENDERED


def find(definition: dict[str, Any]) -> list[CodeAsset]:
    """Every job script the definition refers to: checked against ``steps/``, or rendered here."""
    assets: dict[str, CodeAsset] = {}
    for pointer, value in _strings(definition, ""):
        if value in _RENDERED:
            assets[value] = CodeAsset(uri=value, path=_RENDERED[value])
            continue
        under = [uri for uri in _RENDERED if value.startswith("s3://") and uri.startswith(value.rstrip("/") + "/")]
        if under:  # a prefix (a training job's code channel): every file rendered under it
            assets.update({uri: CodeAsset(uri=uri, path=_RENDERED[uri]) for uri in under})
            continue
        match = _CODE_URI.match(value)
        if not match:
            continue
        path = _built(match["name"]) if match["name"] in BUILT else STEPS_DIR / match["name"]
        if not path.is_file():
            raise DefinitionError(f"{pointer}: {value} names steps/{match['name']}, which does not exist")
        if digest(path) != match["digest"]:
            raise DefinitionError(
                f"{pointer}: {value} was rendered from another version of steps/{match['name']}; "
                "render the definition again"
            )
        assets[value] = CodeAsset(uri=value, path=path)
    return sorted(assets.values(), key=lambda asset: asset.uri)


def _strings(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield pointer, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{pointer}/{index}")
