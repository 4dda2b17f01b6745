"""The SageMaker API on the local twin: ``X-Amz-Target: SageMaker.<Operation>``, over the twin's
stores.

One function per operation served, entered in ``operations.OPERATIONS`` by the module of its
family (``executions``, ``registry``, ``jobs``, ``images``, ``serving``, ``monitoring``, ``lineage``,
``tags``); each takes the request's parameters (validated against botocore's input shape by
``protocol``) and answers the output shape's members. Pipelines are kept as CreatePipeline makes
them (``api/store.py``); an execution that StartPipelineExecution starts is recorded at once and
run to its end by a runner of its own on the local engine (``runs/background.py``). The registry,
the endpoints, the jobs the engine ran, the callbacks, the monitoring schedules and the lineage
are the stores the CLI uses, so what a client does here, ``mlops`` sees, and the other way round.
An operation botocore knows but the twin does not serve answers ``UnknownOperationException``
naming it.
"""

from __future__ import annotations

import uuid
from typing import Any

from pipelines.api import protocol
from pipelines.api.protocol import ApiError
from pipelines.api.sagemaker import executions, images, jobs, lineage, monitoring, registry, serving, tags  # noqa: F401 - each enters its operations
from pipelines.api.sagemaker.operations import OPERATIONS
from pipelines.core.errors import MlopsError
from pipelines.local.home import Home

__all__ = ["OPERATIONS", "answer", "call"]


def answer(home: Home, target: str, body: bytes, strict: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One request (``X-Amz-Target: SageMaker.<name>``, a JSON body), answered in SageMaker's shape."""
    name = target.split(".", 1)[1]
    request_id = {"x-amzn-requestid": str(uuid.uuid4())}
    try:
        op = protocol.operation("sagemaker", name)
        payload = protocol.serialize_output(op, call(home, name, protocol.parse_input(op, body)), strict=strict)
    except ApiError as exc:
        status, headers, text = exc.answer()
        return status, {**headers, **request_id}, text
    except TypeError as exc:  # strict: an answer that is not the output shape (a bug, said as one)
        status, headers, text = ApiError("InternalFailure", str(exc), 500).answer()
        return status, {**headers, **request_id}, text
    return 200, {"content-type": "application/x-amz-json-1.1", **request_id}, payload


def call(home: Home, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Answer operation ``name``; our errors become SageMaker's."""
    handler = OPERATIONS.get(name)
    if handler is None:
        raise ApiError("UnknownOperationException", f"SageMaker.{name} is not served by the local twin (mlops serve); it serves {len(OPERATIONS)} operations: {', '.join(sorted(OPERATIONS))}")
    try:
        return handler(home, params)
    except MlopsError as exc:  # NotFound is ResourceNotFound, a refusal ValidationException ...
        raise ApiError.of(exc) from None
