"""``s3://`` objects the monitoring job reads and writes itself.

On AWS, S3 through boto3 (the job role's permissions, the VPC's S3 endpoint). On the local
engine, which sets ``MLOPS_S3_ROOT`` for every job, the twin's store: ``s3://bucket/key`` is
``$MLOPS_S3_ROOT/bucket/key``. The job reads only the capture hours of its window, as Model
Monitor's container did, and its baseline; what it writes goes out as a ProcessingOutput.

Part of the analyzer bundle (``bundle.py``): standard library and boto3 only, Python 3.9.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Optional

ROOT_VARIABLE = "MLOPS_S3_ROOT"


def split(uri: str) -> "tuple[str, str]":
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or any(part in (".", "..") for part in [bucket, *key.split("/")]):
        raise ValueError(f"{uri!r}: an s3://bucket/key URI without '.' or '..' segments is expected")
    return bucket, key


class Objects:
    """The store a job sees: a local root, or S3 through a boto3 client."""

    def __init__(self, root: Optional[Path] = None, client: Any = None) -> None:
        self.root, self._client = root, client

    @classmethod
    def from_environment(cls, environ: "os._Environ[str] | dict[str, str]" = os.environ) -> "Objects":
        root = environ.get(ROOT_VARIABLE)
        return cls(Path(root)) if root else cls()

    @property
    def local(self) -> bool:
        return self.root is not None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def _path(self, uri: str) -> Path:
        bucket, key = split(uri)
        assert self.root is not None
        return self.root.joinpath(bucket, *[part for part in key.split("/") if part])

    def list(self, prefix: str) -> List[str]:
        """Every object URI under ``prefix`` (a folder boundary: ``a/b`` covers ``a/b/c``, not ``a/bc``)."""
        prefix = prefix.rstrip("/") + "/"
        if self.local:
            folder = self._path(prefix)
            if not folder.is_dir():
                return []
            return sorted(f"{prefix}{p.relative_to(folder).as_posix()}" for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        bucket, key = split(prefix)
        found: List[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            found.extend(f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", []))
        return sorted(found)

    def folders(self, prefix: str) -> List[str]:
        """The names of the folders directly under ``prefix`` (an endpoint's variants)."""
        prefix = prefix.rstrip("/") + "/"
        if self.local:
            folder = self._path(prefix)
            return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        bucket, key = split(prefix)
        found: List[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key, Delimiter="/"):
            found.extend(item["Prefix"][len(key) :].rstrip("/") for item in page.get("CommonPrefixes", []))
        return sorted(found)

    def fetch(self, uri: str, target: Path) -> int:
        """``uri`` as a ProcessingInput's S3Prefix takes it: the object itself if there is one,
        else every object under the folder ``uri/``; copied into ``target``, how many."""
        if self.local:
            found = [uri] if self._path(uri).is_file() else self.list(uri)
        else:
            bucket, key = split(uri)
            found = []
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                found.extend(f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", []) if item["Key"] == key or item["Key"].startswith(key.rstrip("/") + "/"))
        for item in found:
            self.download(item, target / (item.rsplit("/", 1)[1] if item == uri else item[len(uri.rstrip("/")) + 1 :]))
        return len(found)

    def download(self, uri: str, target: Path) -> None:
        """The object at ``target``, for reading: locally a link to the store's file (a job
        never writes what it downloads, and copying 1M captured records, 500 MB, took 0.2 s)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.local:
            source = self._path(uri)
            if not source.is_file():
                raise FileNotFoundError(f"{uri}: no such object in {self.root}")
            target.symlink_to(source.resolve())
            return
        bucket, key = split(uri)
        self.client.download_file(bucket, key, str(target))
