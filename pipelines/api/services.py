"""Which AWS service a request to ``mlops serve`` is for, and its answer in that service's shape.

One address answers four services, told apart as AWS's own front ends would not need to, but
from what every client sends: ``X-Amz-Target: SageMaker.*`` is the SageMaker API; otherwise the
signature's credential scope names the service (``s3``, ``sts``, ``sagemaker`` for the runtime);
an unsigned request (``--auth none`` on 127.0.0.1) is the runtime's when its path is, STS's when
it is a form POST to ``/``, else S3's. Each service has its body limit (the runtime's 6 MiB is
InvokeEndpoint's) and its own error shape, refusals of a signature included.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import parse_qs

from pipelines.api import s3, sts
from pipelines.local.home import Home

RUNTIME, SAGEMAKER, S3, STS, OTHER = "runtime", "sagemaker", "s3", "sts", "other"
MIB = 1024 * 1024
LIMITS = {RUNTIME: 6 * MIB, SAGEMAKER: 16 * MIB, STS: 64 * 1024, S3: 1024 * MIB, OTHER: 16 * MIB}  # S3: larger objects go in parts
SIGNING_NAMES = {RUNTIME: "sagemaker", SAGEMAKER: "sagemaker", S3: "s3", STS: "sts"}  # OTHER's are refused, signed or not
Answer = tuple[int, dict[str, str], bytes]
STRICT_VARIABLE = "MLOPS_API_STRICT"  # "1": an answer not exactly botocore's output shape is a 500 (the tests set it)
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/(?P<service>[^/,\s]+)/aws4_request")
_RUNTIME_PATH = re.compile(r"^/(endpoints/[^/]+/)?invocations$")


def which(method: str, path: str, headers: dict[str, str]) -> str:
    """The service a request is for."""
    target = headers.get("x-amz-target", "")
    if target.startswith("SageMaker."):
        return SAGEMAKER
    scope = _SCOPE.search(headers.get("authorization", ""))
    service = scope["service"] if scope else None
    if target or service not in (None, "s3", "sts", "sagemaker"):
        return OTHER
    if service == "s3":
        return S3
    if service == "sts":
        return STS
    if service == "sagemaker" or _RUNTIME_PATH.match(path):
        return RUNTIME
    if method == "POST" and path == "/" and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return STS
    return S3


def signing_name(headers: dict[str, str]) -> str | None:
    """The service a request's signature is scoped to (IAM's ``iam``, CloudWatch's ``monitoring``)."""
    scope = _SCOPE.search(headers.get("authorization", ""))
    return scope["service"] if scope else None


def not_served(headers: dict[str, str]) -> Answer:
    """A request for an AWS service the twin does not serve (IAM, CloudWatch, ...), refused as
    AWS refuses an identity without that service's permissions: AccessDenied (403) in the
    service's protocol (a form POST is the query protocol's XML, else JSON as the JSON
    protocols' clients parse it). The SDKs are written to go on from exactly that: the SDK v3's
    role checks (GetRole, SimulatePrincipalPolicy) take it as "cannot tell" and proceed, the
    SDK v2's ``get_execution_role`` warns and builds the role's ARN."""
    name = signing_name(headers) or "(unsigned)"
    target = headers.get("x-amz-target", "")
    message = f"The local twin (mlops serve) does not serve {name}{' (' + target + ')' if target else ''}, so its caller has no permissions there; it serves the SageMaker API, the SageMaker runtime, S3 and STS"
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return sts.error(403, "AccessDenied", message, namespace=f"https://{name}.amazonaws.com/doc/")
    return 403, {"content-type": "application/x-amz-json-1.1", "x-amzn-errortype": "AccessDeniedException"}, json.dumps({"__type": "AccessDeniedException", "message": message}).encode()


def answer(home: Home, service: str, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
    """A request for S3 or STS, answered (synchronously: the store is files). ``path`` is as the
    client sent it (percent-encoded): S3 decodes its key once. (The SageMaker API's requests are
    ``sagemaker.answer``'s: the engine's jobs, which reach this through ``job_endpoint``, are
    given S3 and STS only.)"""
    if service == STS:
        return sts.handle(home, query, body)
    parsed: dict[str, Any] = parse_qs(query, keep_blank_values=True)
    return s3.handle_any(home, method, path, parsed, headers, body)


def strict() -> bool:
    return os.environ.get(STRICT_VARIABLE) == "1"


def too_large(service: str, size: int | None) -> Answer:
    """A body past the service's limit."""
    limit = LIMITS[service]
    said = f"of {size} bytes " if size is not None else ""
    if service == S3:
        return s3.S3Error(400, "EntityTooLarge", f"Your proposed upload {said}exceeds the local store's {limit}-byte limit for one request; upload it in parts (boto3's upload_file does)").answer("PUT")
    if service == STS:
        return sts.error(400, "ValidationError", f"Request {said}exceeds {limit} bytes")
    operation = "InvokeEndpoint" if service == RUNTIME else "the SageMaker API"
    kind = "ValidationError" if service == RUNTIME else "ValidationException"
    return 413, {"content-type": "application/json", "x-amzn-errortype": kind}, json.dumps({"Message": f"Request payload {said}exceeds the {limit}-byte limit of {operation}"}).encode()


_S3_REFUSALS = {
    "MissingAuthenticationTokenException": (403, "AccessDenied"),
    "IncompleteSignatureException": (400, "AuthorizationHeaderMalformed"),
    "UnrecognizedClientException": (403, "InvalidAccessKeyId"),
    "InvalidSignatureException": (403, "SignatureDoesNotMatch"),
}


def refusal(service: str, kind: str, message: str) -> Answer:
    """A request whose signature is missing or wrong, refused in the service's shape."""
    if service == S3:
        status, code = _S3_REFUSALS[kind]
        return s3.S3Error(status, code, message).answer("GET")
    if service == STS:
        code = {"UnrecognizedClientException": "InvalidClientTokenId", "InvalidSignatureException": "SignatureDoesNotMatch"}.get(kind, kind)
        return sts.error(403, code, message)
    return 403, {"content-type": "application/json", "x-amzn-errortype": kind}, json.dumps({"__type": kind, "message": message}).encode()
