"""AWS Signature Version 4 for the local endpoint: the credentials file and the verifier.

``mlops serve --auth sigv4`` (the default off 127.0.0.1) refuses any request to the runtime
API that is not signed with the key in ``$MLOPS_HOME/serving/credentials``, an AWS shared
credentials file (profile ``mlops-local``) created on first use and readable by its owner
only. A boto3 client with those credentials works unchanged::

    AWS_SHARED_CREDENTIALS_FILE=$MLOPS_HOME/serving/credentials AWS_PROFILE=mlops-local

The signature is recomputed with botocore's own signer from the headers the client signed.
Refusals are 403s in AWS's shape: ``MissingAuthenticationTokenException``,
``IncompleteSignatureException``, ``UnrecognizedClientException``,
``InvalidSignatureException`` (a wrong signature, or one dated more than five minutes from
now: a replay outside the window).
"""

from __future__ import annotations

import configparser
import datetime as dt
import hashlib
import hmac
import re
import secrets
import string
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pipelines.core.errors import UsageError
from pipelines.core.fileio import create_once
from pipelines.local.home import DEFAULT_REGION, Home

PROFILE = "mlops-local"
WINDOW_SECONDS = 300  # AWS's: a signature is valid five minutes either side of its date
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)/aws4_request,\s*"
    r"SignedHeaders=(?P<signed>[a-z0-9\-;]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
_TIME = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    path: Path

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(access_key_id={self.access_key_id!r}, path={str(self.path)!r})"


def credentials_path(home: Home) -> Path:
    return home.credentials


def load_or_create(home: Home) -> Credentials:
    """The endpoint's credentials; created (owner-only) the first time."""
    path = credentials_path(home)
    if not path.exists():
        key = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
        secret = "".join(secrets.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
        text = f"[{PROFILE}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
        create_once(path, text.encode(), 0o600)  # first writer wins when several workers start at once
    return read(path)


def read(path: Path) -> Credentials:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise UsageError(f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}")
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
        section = parser[PROFILE]
        return Credentials(section["aws_access_key_id"], section["aws_secret_access_key"], path)
    except (configparser.Error, KeyError):
        raise UsageError(f"{path}: expected a [{PROFILE}] profile with aws_access_key_id and aws_secret_access_key") from None


Refusal = tuple[str, str]  # (error type, message)

SIGNING_NAME = "sagemaker"  # sagemaker-runtime's (and the SageMaker API's) signing name in botocore's model


class Verifier:
    """Checks one request's SigV4 signature; None when it is good, else why not."""

    def __init__(self, credentials: Credentials, clock: Callable[[], float] = time.time, window: float = WINDOW_SECONDS, region: str = DEFAULT_REGION) -> None:
        self.credentials, self.clock, self.window, self.region = credentials, clock, window, region

    def check(self, method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes, service: str = SIGNING_NAME) -> Refusal | None:
        """``service`` is the signing name the request's service has (sagemaker, s3, sts)."""
        authorization = headers.get("authorization")
        if not authorization:
            if "x-amz-signature" in query.lower():
                return "IncompleteSignatureException", "Presigned requests are not supported by this endpoint; sign the Authorization header"
            return "MissingAuthenticationTokenException", "Missing Authentication Token"
        match = _AUTHORIZATION.match(authorization.strip())
        if match is None:
            return "IncompleteSignatureException", (
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters of an AWS4-HMAC-SHA256 signature"
            )
        if not hmac.compare_digest(match["key"], self.credentials.access_key_id):
            return "UnrecognizedClientException", "The security token included in the request is invalid."
        signed = match["signed"].split(";")
        missing = [name for name in ("host", "x-amz-date") if name not in signed]
        if missing:
            return "IncompleteSignatureException", f"Signed headers must include {', '.join(missing)}"
        if any(name not in headers for name in signed):
            absent = next(name for name in signed if name not in headers)
            return "IncompleteSignatureException", f"Signed header {absent} is not in the request"
        stamp = headers["x-amz-date"]
        try:
            signed_at = dt.datetime.strptime(stamp, _TIME).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            return "IncompleteSignatureException", f"X-Amz-Date {stamp!r} is not in the form YYYYMMDD'T'HHMMSS'Z'"
        if stamp[:8] != match["date"]:
            return "InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP"
        if match["service"] != service:
            return "InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'. "
        if match["region"] != self.region:
            return "InvalidSignatureException", f"Credential should be scoped to a valid region, not '{match['region']}'. "
        now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)
        window = dt.timedelta(seconds=self.window)
        minutes = f"{self.window / 60:g} min."
        if signed_at < now - window:
            return "InvalidSignatureException", f"Signature expired: {stamp} is now earlier than {(now - window).strftime(_TIME)} ({now.strftime(_TIME)} - {minutes})"
        if signed_at > now + window:
            return "InvalidSignatureException", f"Signature not yet current: {stamp} is still later than {(now + window).strftime(_TIME)} ({now.strftime(_TIME)} + {minutes})"
        declared_hash = headers.get("x-amz-content-sha256")
        # S3's clients may leave the payload unsigned or sign it chunk by chunk (aws-chunked:
        # the chunks' own signatures are not checked here; the request's is).
        unhashed = declared_hash is not None and (declared_hash == "UNSIGNED-PAYLOAD" or declared_hash.startswith("STREAMING-"))
        if declared_hash is not None and not unhashed and declared_hash != hashlib.sha256(body).hexdigest():
            return "InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed."
        expected = self._signature(method, raw_path, query, {name: headers[name] for name in signed}, body, stamp, match["region"], match["service"])
        if not hmac.compare_digest(expected, match["signature"]):
            return "InvalidSignatureException", (
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
            )
        return None

    def _signature(self, method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes, stamp: str, region: str, service: str) -> str:
        from botocore.auth import S3SigV4Auth, SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials as BotoCredentials

        url = f"http://{headers['host']}{raw_path}" + (f"?{query}" if query else "")
        request = AWSRequest(method=method, url=url, headers=headers, data=body)
        request.context["timestamp"] = stamp
        signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(BotoCredentials(self.credentials.access_key_id, self.credentials.secret_access_key), service, region)
        canonical = signer.canonical_request(request)
        return signer.signature(signer.string_to_sign(request, canonical), request)
