"""S3's REST API (path-style) over the twin's object store: ``s3://bucket/key`` is
``$MLOPS_HOME/s3/bucket/key``, so what a client puts here a job reads, and what a job writes a
client gets.

Served: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, ListObjects
(v1 and v2, with prefix, delimiter, paging and ``encoding-type=url``), PutObject, GetObject
(with ``Range``), HeadObject, DeleteObject, DeleteObjects, CopyObject, and multipart uploads
(Create, UploadPart, Complete, Abort), which is what boto3, the AWS CLI, the SDKs' uploads and
s3fs use. Bodies a client sends ``aws-chunked`` (botocore's checksums) are decoded. Errors are
S3's XML with its codes (NoSuchBucket, NoSuchKey, ...). Limits of the local store: a key
cannot hold ``.`` or ``..`` segments, an object cannot sit under another object's key, and
names starting with ``.`` are the store's own (temporary files): they are not listed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import uuid
from datetime import datetime, timezone
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from pipelines.core.errors import MlopsError
from pipelines.local.home import Home

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
Answer = tuple[int, dict[str, str], bytes]


class S3Error(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def answer(self, method: str) -> Answer:
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in self.extra.items())
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{fields}<RequestId>{uuid.uuid4().hex}</RequestId></Error>'.encode()
        return self.status, {"content-type": "application/xml"}, b"" if method == "HEAD" else body


def _xml(body: str) -> Answer:
    return 200, {"content-type": "application/xml"}, f'<?xml version="1.0" encoding="UTF-8"?>\n{body}'.encode()


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Bucket:
    """One bucket of the store: its folder, its keys and their files."""

    def __init__(self, home: Home, name: str) -> None:
        self.home, self.name = home, name
        if not name or name in (".", "..") or "/" in name:
            raise S3Error(400, "InvalidBucketName", f"The specified bucket is not valid: {name!r}", BucketName=name)
        self.root = home.store / name

    def exists(self) -> bool:
        return self.root.is_dir()

    def require(self) -> "Bucket":
        if not self.exists():
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist", BucketName=self.name)
        return self

    def path(self, key: str) -> Path:
        try:
            return self.home.objects().path(f"s3://{self.name}/{key}")
        except MlopsError as exc:
            raise S3Error(400, "InvalidArgument", f"{key!r}: {exc}", Key=key) from None

    def file(self, key: str) -> Path:
        path = self.path(key)
        if not path.is_file() or key.endswith("/"):
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return path

    def keys(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(self.root).parts))

    def write(self, key: str, source: Path | bytes) -> str:
        """Put ``source`` at ``key`` in one rename; its ETag."""
        target = self.path(key)
        parent = target.parent
        for folder in [parent, *parent.parents]:
            if folder == self.root.parent:
                break
            if folder.is_file():
                raise S3Error(409, "InvalidRequest", f"{key}: {folder.relative_to(self.root).as_posix()} is an object, and the local store cannot keep objects under an object's key", Key=key)
        if target.is_dir():
            raise S3Error(409, "InvalidRequest", f"{key}: objects are stored under {key}/, and the local store cannot keep an object there too", Key=key)
        parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as handle:
                if isinstance(source, bytes):
                    handle.write(source)
                else:
                    with source.open("rb") as origin:
                        shutil.copyfileobj(origin, handle)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return etag(target)


def etag(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f'"{digest.hexdigest()}"'


def decoded(body: bytes, headers: dict[str, str]) -> bytes:
    """The payload of an ``aws-chunked`` body (``<hex size>[;chunk-signature=...]\\r\\n<data>\\r\\n``
    ... ``0`` then trailers), as botocore sends it with a checksum; other bodies as they are."""
    chunked = "aws-chunked" in headers.get("content-encoding", "") or headers.get("x-amz-content-sha256", "").startswith("STREAMING-")
    if not chunked:
        return body
    out, position = bytearray(), 0
    while True:
        end = body.find(b"\r\n", position)
        if end < 0:
            raise S3Error(400, "IncompleteBody", "an aws-chunked body ended inside a chunk header")
        size = int(body[position:end].split(b";", 1)[0], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        position = end + 2 + size + 2


def handle(home: Home, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Answer:
    """One S3 request, answered."""
    try:
        return _route(home, method, path, query, headers, body)
    except S3Error as exc:
        return exc.answer(method)


# A bucket named in the host (virtual-hosted style), as clients address AWS's own S3 through
# mlops serve's proxy: my-bucket.s3.amazonaws.com, my-bucket.s3.us-east-1.amazonaws.com, ...
_VIRTUAL_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.\-]*)\.s3(?:[.\-](?:dualstack\.)?[a-z0-9\-]+)?\.amazonaws\.com(?::\d+)?$")


def _route(home: Home, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Answer:
    virtual = _VIRTUAL_HOST.match(headers.get("host", "").lower())
    if virtual:
        path = "/" + virtual["bucket"] + path
    bucket_name, _, key = unquote(path.lstrip("/")).partition("/")
    if not bucket_name:
        if method == "GET":
            return _list_buckets(home)
        raise S3Error(405, "MethodNotAllowed", f"{method} / is not an S3 operation")
    bucket = Bucket(home, bucket_name)
    if not key:
        return _bucket(bucket, method, query, body)
    return _object(home, bucket, key, method, query, headers, body)


def _list_buckets(home: Home) -> Answer:
    buckets = sorted(p for p in home.store.iterdir() if p.is_dir() and not p.name.startswith(".")) if home.store.is_dir() else []
    items = "".join(f"<Bucket><Name>{escape(b.name)}</Name><CreationDate>{_when(b.stat().st_mtime)}</CreationDate></Bucket>" for b in buckets)
    return _xml(f'<ListAllMyBucketsResult xmlns="{NS}"><Owner><ID>{home.account}</ID><DisplayName>mlops-local</DisplayName></Owner><Buckets>{items}</Buckets></ListAllMyBucketsResult>')


def _bucket(bucket: Bucket, method: str, query: dict[str, str], body: bytes) -> Answer:
    if method == "PUT":
        if bucket.exists() and bucket.home.region != "us-east-1":  # us-east-1 answers 200 again, as S3 does there
            raise S3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", BucketName=bucket.name)
        bucket.root.mkdir(parents=True, mode=0o700, exist_ok=True)
        return 200, {"location": f"/{bucket.name}"}, b""
    bucket.require()
    if method == "HEAD":
        return 200, {"x-amz-bucket-region": bucket.home.region}, b""
    if method == "DELETE":
        if bucket.keys():
            raise S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty", BucketName=bucket.name)
        shutil.rmtree(bucket.root)
        return 204, {}, b""
    if method == "POST" and "delete" in query:
        return _delete_objects(bucket, body)
    if method == "GET" and "location" in query:
        region = "" if bucket.home.region == "us-east-1" else bucket.home.region
        return _xml(f'<LocationConstraint xmlns="{NS}">{region}</LocationConstraint>')
    if method == "GET" and "uploads" in query:
        return _xml(f'<ListMultipartUploadsResult xmlns="{NS}"><Bucket>{escape(bucket.name)}</Bucket><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>')
    if method == "GET":
        return _list_objects(bucket, query)
    raise S3Error(405, "MethodNotAllowed", f"{method} on a bucket is not served by the local twin")


def _list_objects(bucket: Bucket, query: dict[str, str]) -> Answer:
    v2 = query.get("list-type") == "2"
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    limit = max(0, min(int(query.get("max-keys", "1000") or 1000), 1000))
    url = query.get("encoding-type") == "url"
    after = query.get("continuation-token") or query.get("start-after") or query.get("marker") or ""
    if v2 and query.get("continuation-token"):
        after = unquote(query["continuation-token"])
    entries: list[tuple[str, bool]] = []  # (key or common prefix, is a prefix)
    seen_prefixes: set[str] = set()
    for key in bucket.keys():
        if not key.startswith(prefix) or key <= after:
            continue
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if common not in seen_prefixes and common > after:
                    seen_prefixes.add(common)
                    entries.append((common, True))
                continue
        entries.append((key, False))
    truncated = len(entries) > limit
    page = entries[:limit]

    def show(text: str) -> str:
        return escape(quote(text, safe="/") if url else text)

    parts = [f"<Name>{escape(bucket.name)}</Name><Prefix>{show(prefix)}</Prefix><MaxKeys>{limit}</MaxKeys><IsTruncated>{str(truncated).lower()}</IsTruncated>"]
    if delimiter:
        parts.append(f"<Delimiter>{show(delimiter)}</Delimiter>")
    if url:
        parts.append("<EncodingType>url</EncodingType>")
    for key, is_prefix in page:
        if is_prefix:
            parts.append(f"<CommonPrefixes><Prefix>{show(key)}</Prefix></CommonPrefixes>")
        else:
            stat = bucket.path(key).stat()
            parts.append(f"<Contents><Key>{show(key)}</Key><LastModified>{_when(stat.st_mtime)}</LastModified><ETag>{escape(_light_etag(bucket.path(key)))}</ETag><Size>{stat.st_size}</Size><StorageClass>STANDARD</StorageClass></Contents>")
    last = page[-1][0] if page else ""
    if v2:
        parts.append(f"<KeyCount>{len(page)}</KeyCount>")
        if query.get("continuation-token"):
            parts.append(f"<ContinuationToken>{escape(query['continuation-token'])}</ContinuationToken>")
        if query.get("start-after"):
            parts.append(f"<StartAfter>{show(query['start-after'])}</StartAfter>")
        if truncated:
            parts.append(f"<NextContinuationToken>{escape(quote(last, safe=''))}</NextContinuationToken>")
    else:
        parts.append(f"<Marker>{show(query.get('marker', ''))}</Marker>")
        if truncated:
            parts.append(f"<NextMarker>{show(last)}</NextMarker>")
    return _xml(f'<ListBucketResult xmlns="{NS}">{"".join(parts)}</ListBucketResult>')


def _light_etag(path: Path) -> str:
    """Listings name thousands of objects: their ETag is the MD5 for small ones, else a digest of
    size and time (a listing is not where a client checks content)."""
    stat = path.stat()
    if stat.st_size <= 1 << 20:
        return etag(path)
    return '"' + hashlib.md5(f"{stat.st_size}:{stat.st_mtime_ns}".encode(), usedforsecurity=False).hexdigest() + '-1"'


def _delete_objects(bucket: Bucket, body: bytes) -> Answer:
    try:
        document = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema") from None
    quiet = (document.findtext(f"{{{NS}}}Quiet") or document.findtext("Quiet") or "").lower() == "true"
    deleted = []
    for item in list(document.iter(f"{{{NS}}}Object")) + list(document.iter("Object")):
        key = item.findtext(f"{{{NS}}}Key") or item.findtext("Key") or ""
        path = bucket.path(key)
        if path.is_file():
            path.unlink()
        deleted.append(key)
    items = "" if quiet else "".join(f"<Deleted><Key>{escape(k)}</Key></Deleted>" for k in deleted)
    return _xml(f'<DeleteResult xmlns="{NS}">{items}</DeleteResult>')


def _object(home: Home, bucket: Bucket, key: str, method: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Answer:
    bucket.require()
    uploads = Uploads(home)
    if method == "POST" and "uploads" in query:
        upload = uploads.create(bucket.name, key)
        return _xml(f'<InitiateMultipartUploadResult xmlns="{NS}"><Bucket>{escape(bucket.name)}</Bucket><Key>{escape(key)}</Key><UploadId>{upload}</UploadId></InitiateMultipartUploadResult>')
    if method == "POST" and "uploadId" in query:
        tag = uploads.complete(bucket, key, query["uploadId"], body)
        return _xml(f'<CompleteMultipartUploadResult xmlns="{NS}"><Location>/{escape(bucket.name)}/{escape(key)}</Location><Bucket>{escape(bucket.name)}</Bucket><Key>{escape(key)}</Key><ETag>{escape(tag)}</ETag></CompleteMultipartUploadResult>')
    if method == "PUT" and "uploadId" in query:
        data = _copied(home, headers) if "x-amz-copy-source" in headers else decoded(body, headers)
        tag = uploads.part(query["uploadId"], int(query.get("partNumber", "0")), data)
        if "x-amz-copy-source" in headers:
            return _xml(f'<CopyPartResult xmlns="{NS}"><ETag>{escape(tag)}</ETag><LastModified>{_when(datetime.now(timezone.utc).timestamp())}</LastModified></CopyPartResult>')
        return 200, {"etag": tag}, b""
    if method == "DELETE" and "uploadId" in query:
        uploads.abort(query["uploadId"])
        return 204, {}, b""
    if method == "PUT" and "x-amz-copy-source" in headers:
        tag = bucket.write(key, _copied(home, headers))
        return _xml(f'<CopyObjectResult xmlns="{NS}"><ETag>{escape(tag)}</ETag><LastModified>{_when(bucket.path(key).stat().st_mtime)}</LastModified></CopyObjectResult>')
    if method == "PUT":
        if key.endswith("/"):  # a "folder" marker: the store keeps folders as they are
            bucket.path(key.rstrip("/")).mkdir(parents=True, exist_ok=True)
            return 200, {"etag": '"d41d8cd98f00b204e9800998ecf8427e"'}, b""
        return 200, {"etag": bucket.write(key, decoded(body, headers))}, b""
    if method == "DELETE":
        path = bucket.path(key)
        if path.is_file():
            path.unlink()
        return 204, {}, b""
    if method in ("GET", "HEAD"):
        return _read(bucket, key, method, headers)
    raise S3Error(405, "MethodNotAllowed", f"{method} on an object is not served by the local twin")


def _copied(home: Home, headers: dict[str, str]) -> bytes:
    source = unquote(headers["x-amz-copy-source"].split("?", 1)[0]).lstrip("/")
    bucket_name, _, key = source.partition("/")
    return Bucket(home, bucket_name).require().file(key).read_bytes()


def _read(bucket: Bucket, key: str, method: str, headers: dict[str, str]) -> Answer:
    path = bucket.file(key)
    size = path.stat().st_size
    answer = {
        "etag": etag(path), "last-modified": formatdate(path.stat().st_mtime, usegmt=True), "content-type": "binary/octet-stream", "accept-ranges": "bytes",
    }  # fmt: skip
    wanted = headers.get("range", "")
    if wanted.startswith("bytes=") and "," not in wanted:
        first, _, last = wanted[len("bytes=") :].partition("-")
        if not (first or last) or not (first.isdigit() or not first) or not (last.isdigit() or not last):
            raise S3Error(416, "InvalidRange", "The requested range is not satisfiable", RangeRequested=wanted, ActualObjectSize=str(size))
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:
            start, end = max(0, size - int(last)), size - 1
        if start >= size or start > end:
            raise S3Error(416, "InvalidRange", "The requested range is not satisfiable", RangeRequested=wanted, ActualObjectSize=str(size))
        answer.update({"content-range": f"bytes {start}-{end}/{size}", "content-length": str(end - start + 1)})
        if method == "HEAD":
            return 206, answer, b""
        with path.open("rb") as handle:
            handle.seek(start)
            return 206, answer, handle.read(end - start + 1)
    answer["content-length"] = str(size)
    return 200, answer, b"" if method == "HEAD" else path.read_bytes()


class Uploads:
    """Multipart uploads in progress: ``$MLOPS_HOME/s3-uploads/<id>/`` holds the parts."""

    def __init__(self, home: Home) -> None:
        self.root = home.root / "s3-uploads"

    def create(self, bucket: str, key: str) -> str:
        upload = secrets.token_hex(16)
        folder = self.root / upload
        folder.mkdir(parents=True, mode=0o700)
        (folder / "upload.json").write_text(json.dumps({"bucket": bucket, "key": key}))
        return upload

    def _folder(self, upload: str) -> Path:
        folder = self.root / upload
        if not upload.isalnum() or not folder.is_dir():
            raise S3Error(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", UploadId=upload)
        return folder

    def part(self, upload: str, number: int, data: bytes) -> str:
        if not 1 <= number <= 10000:
            raise S3Error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
        path = self._folder(upload) / f"{number:05d}"
        path.write_bytes(data)
        return etag(path)

    def complete(self, bucket: Bucket, key: str, upload: str, body: bytes) -> str:
        folder = self._folder(upload)
        try:
            document = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema") from None
        numbers = [int(p.findtext(f"{{{NS}}}PartNumber") or p.findtext("PartNumber") or 0) for p in list(document.iter(f"{{{NS}}}Part")) + list(document.iter("Part"))]
        if not numbers or numbers != sorted(numbers):
            raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
        digests = hashlib.md5(usedforsecurity=False)
        assembled = folder / "assembled"
        with assembled.open("wb") as out:
            for number in numbers:
                part = folder / f"{number:05d}"
                if not part.is_file():
                    raise S3Error(400, "InvalidPart", f"One or more of the specified parts could not be found: part {number}")
                digests.update(bytes.fromhex(etag(part).strip('"')))
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, out)
        bucket.write(key, assembled)
        shutil.rmtree(folder, ignore_errors=True)
        return f'"{digests.hexdigest()}-{len(numbers)}"'

    def abort(self, upload: str) -> None:
        shutil.rmtree(self._folder(upload), ignore_errors=True)


def handle_any(home: Home, method: str, path: str, query: dict[str, Any], headers: dict[str, str], body: bytes) -> Answer:
    """``handle`` with each query parameter's last value (what S3 reads)."""
    return handle(home, method, path, {k: (v[-1] if isinstance(v, list) else v) for k, v in query.items()}, headers, body)
