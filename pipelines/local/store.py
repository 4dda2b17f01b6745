"""The local object store: ``s3://bucket/key`` is the file ``<root>/bucket/key``.

S3 semantics kept where jobs rely on them: a URI names one object or, as a prefix, every
object under it (``s3://b/p/train`` covers ``s3://b/p/train/train.csv``, matched on ``/``
boundaries); publishing a job's output replaces what was under the prefix in one rename,
so a reader sees the old objects or the new ones, never a mix.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from pipelines.core.errors import DefinitionError

SCHEME = "s3://"
# Set for every local job: where the s3:// URIs a job opens itself (with boto3 on AWS) live.
STORE_VARIABLE = "MLOPS_S3_ROOT"


def is_s3(uri: str) -> bool:
    return isinstance(uri, str) and uri.startswith(SCHEME)


class ObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, uri: str) -> Path:
        """The local path of ``uri``; refuses URIs that would leave the store."""
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise DefinitionError(f"{uri!r} is not an s3://bucket/key URI")
        key = parsed.path.lstrip("/")
        parts = [p for p in key.split("/") if p]
        if any(p in (".", "..") for p in parts) or parsed.netloc in (".", ".."):
            raise DefinitionError(f"{uri!r}: '.' and '..' are not allowed in keys")
        return self.root.joinpath(parsed.netloc, *parts)

    def uri(self, path: Path) -> str:
        relative = path.resolve().relative_to(self.root.resolve())
        return SCHEME + "/".join(relative.parts)

    def exists(self, uri: str) -> bool:
        return self.path(uri).exists()

    def object_in_the_way(self, prefix: str) -> str | None:
        """The URI of an object that ``prefix`` or one of its parents names, or None.

        S3 keeps an object ``s3://b/m.tar.gz`` and objects under ``s3://b/m.tar.gz/`` side by side;
        this store keeps an object as a file, so nothing can be written under that prefix.
        """
        path = self.path(prefix)
        bucket = self.root / path.relative_to(self.root).parts[0]
        for candidate in [path, *path.parents]:
            if candidate.is_file():
                return self.uri(candidate)
            if candidate == bucket:
                return None
        return None

    def objects(self, uri: str) -> list[tuple[str, Path]]:
        """``(relative name, path)`` of every object the URI covers, sorted by name."""
        target = self.path(uri)
        if target.is_file():
            return [(target.name, target)]
        if target.is_dir():
            return sorted(
                (p.relative_to(target).as_posix(), p) for p in target.rglob("*") if p.is_file() and not p.name.startswith(".")
            )
        return []

    def items(self, source: str) -> list[tuple[str, Path]]:
        """What ``source`` covers: an s3:// URI in the store, or a local file or directory."""
        if is_s3(source):
            return self.objects(source)
        local = Path(source)
        if local.is_file():
            return [(local.name, local)]
        if local.is_dir():
            return sorted((p.relative_to(local).as_posix(), p) for p in local.rglob("*") if p.is_file())
        return []

    def materialize(self, source: str, destination: Path) -> int:
        """Copy what ``source`` (an s3:// URI or a local path) covers into ``destination``."""
        items = self.items(source)
        if not items:
            raise FileNotFoundError(f"nothing at {source}")
        destination.mkdir(parents=True, exist_ok=True)
        for name, path in items:
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        return len(items)

    def put_file(self, path: Path, uri: str) -> None:
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        os.close(fd)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        except BaseException:  # a full disk, an interrupt: no half-written object left behind
            Path(tmp).unlink(missing_ok=True)
            raise

    def upload(self, directory: Path, uri: str, created: list[Path] | None = None) -> int:
        """Put every file of ``directory`` under ``uri``, each in one rename, as S3 takes a
        processing job's output: objects already under ``uri`` and not overwritten stay.

        The objects this made that did not exist before are added to ``created``; when an upload
        fails (a full disk), its caller removes them, so a failed job leaves no part of its output.
        """
        files = sorted(p for p in directory.rglob("*") if p.is_file())
        made = created if created is not None else []
        try:
            for file in files:
                target = f"{uri.rstrip('/')}/{file.relative_to(directory).as_posix()}"
                new = not self.path(target).exists()
                self.put_file(file, target)
                if new:
                    made.append(self.path(target))
        except BaseException:
            if created is None:
                self.remove(made)
            raise
        return len(files)

    def remove(self, objects: list[Path]) -> None:
        """Delete these objects (what a failed upload made), and the folders they leave empty."""
        for path in objects:
            path.unlink(missing_ok=True)
            for folder in path.parents:
                if folder == self.root or not folder.is_relative_to(self.root):
                    break
                try:
                    folder.rmdir()
                except OSError:
                    break

    def publish(self, directory: Path, uri: str) -> int:
        """Make ``uri`` hold exactly the files of ``directory``, switched in one rename."""
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.staging-"))
        count = 0
        try:
            for file in sorted(p for p in directory.rglob("*") if p.is_file()):
                destination = staging / file.relative_to(directory)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, destination)
                count += 1
            if target.exists():
                retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
                os.replace(target, retired / "old")
                os.replace(staging, target)
                shutil.rmtree(retired, ignore_errors=True)
            else:
                os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return count

    def digest(self, source: str) -> str:
        """sha256 over the names and bytes of what ``source`` covers (empty string if nothing)."""
        items = self.items(source)
        if not items:
            return ""
        hasher = hashlib.sha256()
        for name, path in items:
            hasher.update(name.encode() + b"\0")
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    hasher.update(block)
            hasher.update(b"\0")
        return hasher.hexdigest()
