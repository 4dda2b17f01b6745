"""Talking to AWS for the commands that do: code upload, errors turned into one line.

Retries: botocore's adaptive mode (``AWS_RETRY_MODE``/``AWS_MAX_ATTEMPTS`` unless the user
set them) retries throttling and transient faults with backoff; what is left is reported.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator
from urllib.parse import urlparse

from pipelines.build.code_assets import CodeAsset
from pipelines.core.errors import AwsError

RETRY_ENV = {"AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "8"}
_HINTS = {
    "AccessDenied": "check the role or credentials in use have this permission",
    "AccessDeniedException": "check the role or credentials in use have this permission",
    "ValidationException": "the request was refused as invalid",
    "ThrottlingException": "still throttled after retries; try again later",
    "ResourceLimitExceeded": "an account quota is reached; raise it or wait",
    "ExpiredToken": "the session credentials expired; refresh them",
    "ExpiredTokenException": "the session credentials expired; refresh them",
    "NoSuchBucket": "create the bucket or pass another default_bucket in --kwargs",
}


def configure_retries() -> None:
    for key, value in RETRY_ENV.items():
        os.environ.setdefault(key, value)


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn botocore's errors raised inside into one :class:`AwsError` line naming ``action``."""
    import botocore.exceptions

    try:
        yield
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = error.get("Message", str(exc))
        hint = _HINTS.get(code)
        raise AwsError(f"{action}: {code}: {message}" + (f" ({hint})" if hint else "")) from exc
    except botocore.exceptions.NoCredentialsError as exc:
        raise AwsError(f"{action}: no AWS credentials found (set a profile or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(f"{action}: {exc}") from exc


def upload_code(s3_client: Any, assets: list[CodeAsset]) -> list[str]:
    """Put each job script at its content-addressed URI unless it is already there."""
    import botocore.exceptions

    uploaded = []
    for asset in assets:
        parsed = urlparse(asset.uri)
        bucket, key = parsed.netloc, parsed.path.lstrip("/")
        with translated(f"uploading {asset.path.name} to {asset.uri}"):
            try:
                s3_client.head_object(Bucket=bucket, Key=key)
                continue
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
            s3_client.put_object(Bucket=bucket, Key=key, Body=asset.path.read_bytes())
        uploaded.append(asset.uri)
    return uploaded
