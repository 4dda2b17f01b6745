"""AWS's JSON protocol (SageMaker's), checked against botocore's service model.

A request is ``POST /`` with ``X-Amz-Target: SageMaker.<Operation>`` and a JSON body; its
input is validated against the operation's input shape before any handler sees it (botocore's
own ParamValidator: the messages a client would get from its own parameter validation). An
answer is the operation's output shape, serialized from the handler's Python values by walking
that shape: timestamps (datetimes or the stores' ISO-8601 strings) become epoch seconds, blobs
base64, and a member the shape does not have is left out (``strict`` raises instead: the tests
use it to prove a handler answers exactly the shape). Errors are AWS's: HTTP 400 with
``x-amzn-ErrorType`` and ``{"__type": ..., "message": ...}``.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from pipelines.core.errors import MlopsError


class ApiError(Exception):
    """An error answered in AWS's shape: its code (``__type``), HTTP status and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    @classmethod
    def of(cls, error: MlopsError) -> "ApiError":
        """Our error kinds as SageMaker answers them (``aws_code``: ResourceNotFound, ...)."""
        return cls(error.aws_code, str(error))

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps({"__type": self.code, "message": self.message}).encode()
        return self.status, {"content-type": "application/x-amz-json-1.1", "x-amzn-errortype": self.code}, body


@lru_cache(maxsize=None)
def service_model(name: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(name)


def operation(service: str, name: str) -> Any:
    """botocore's operation model, or AWS's error for an operation the service does not have."""
    from botocore.model import OperationNotFoundError

    try:
        return service_model(service).operation_model(name)
    except OperationNotFoundError:
        raise ApiError("UnknownOperationException", f"{service_model(service).metadata['targetPrefix']}.{name} is not an operation of this service") from None


def shape_members(shape: str, value: dict[str, Any]) -> dict[str, Any]:
    """``value`` with only the members of SageMaker's structure ``shape`` (``DescribeTrainingJobResponse``,
    ``TrainingJobSummary``): for answers made from a request's members (a Describe made from what
    the Create was given), never to hide a handler's own mistakes."""
    members = service_model("sagemaker").shape_for(shape).members
    return {k: v for k, v in value.items() if k in members}


def parse_input(op: Any, body: bytes) -> dict[str, Any]:
    """The request's parameters, as Python values, validated against the input shape."""
    from botocore.validate import ParamValidator

    try:
        raw = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError("SerializationException", "the request body is not JSON") from None
    if not isinstance(raw, dict):
        raise ApiError("SerializationException", "the request body is not a JSON object")
    params = _from_wire(raw, op.input_shape) if op.input_shape is not None else {}
    if op.input_shape is not None:
        report = ParamValidator().validate(params, op.input_shape)
        if report.has_errors():
            raise ApiError("ValidationException", report.generate_report().replace("\n", " "))
        problems = list(_constraints(params, op.input_shape, ""))
        if problems:
            count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
            raise ApiError("ValidationException", f"{count}: {'; '.join(problems)}")
    return params


def _constraints(value: Any, shape: Any, where: str) -> Any:
    """What SageMaker's front end checks and botocore's validator leaves to it: maximum
    lengths and values, patterns and enums; in AWS's words ("Value '...' at 'pipelineName'
    failed to satisfy constraint: ...")."""
    import re

    kind, meta = shape.type_name, shape.metadata
    said = f"Value '{str(value)[:100]}' at '{where}' failed to satisfy constraint: "
    if kind == "structure" and isinstance(value, dict):
        for key, member in shape.members.items():
            if key in value:
                yield from _constraints(value[key], member, f"{where}.{key[0].lower()}{key[1:]}".lstrip("."))
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            yield said + f"Member must have length less than or equal to {meta['max']}"
        for index, item in enumerate(value):
            yield from _constraints(item, shape.member, f"{where}.{index + 1}.member")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from _constraints(item, shape.value, f"{where}.{key}")
    elif kind == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            yield said + f"Member must have length less than or equal to {meta['max']}"
        elif shape.enum and value not in shape.enum:
            yield said + f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
        elif "pattern" in meta:
            try:
                compiled = re.compile(meta["pattern"])
            except re.error:  # a Java-only construct: the front end's check, not ours
                return
            if compiled.search(value) is None:
                yield said + f"Member must satisfy regular expression pattern: {meta['pattern']}"
    elif kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)) and "max" in meta and value > meta["max"]:
        yield said + f"Member must have value less than or equal to {meta['max']}"


def serialize_output(op: Any, value: dict[str, Any] | None, strict: bool = False) -> bytes:
    """The handler's answer as the output shape's JSON."""
    if op.output_shape is None:
        return b"{}"
    wire = _to_wire(value or {}, op.output_shape, strict, op.name)
    if strict:  # and every value as botocore's validator would take it from a caller
        from botocore.validate import ParamValidator

        report = ParamValidator().validate(_from_wire(wire, op.output_shape), op.output_shape)
        if report.has_errors():
            raise TypeError(f"{op.name}'s answer is not botocore's {op.output_shape.name}: {report.generate_report()}")
    return json.dumps(wire).encode()


def _from_wire(value: Any, shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: _from_wire(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_from_wire(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _from_wire(v, shape.value) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value)
        except ValueError:
            return value
    return value


def _to_wire(value: Any, shape: Any, strict: bool, where: str) -> Any:
    kind = shape.type_name
    if value is None:
        return None
    if kind == "structure":
        if not isinstance(value, dict):
            raise TypeError(f"{where}: expected a structure, got {type(value).__name__}")
        unknown = sorted(set(value) - set(shape.members))
        if unknown and strict:
            raise TypeError(f"{where}: {', '.join(unknown)} not in botocore's {shape.name}")
        out = {}
        for key, member in shape.members.items():
            if key in value and value[key] is not None:
                out[key] = _to_wire(value[key], member, strict, f"{where}.{key}")
        missing = [k for k in shape.required_members if k not in out]
        if missing and strict:
            raise TypeError(f"{where}: required {', '.join(missing)} missing")
        return out
    if kind == "list":
        return [_to_wire(v, shape.member, strict, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind == "map":
        return {k: _to_wire(v, shape.value, strict, f"{where}.{k}") for k, v in value.items()}
    if kind == "timestamp":
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    if kind == "blob":
        return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode()
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "boolean":
        return bool(value)
    return value
