"""Values checked against botocore's SageMaker shapes, so the rule is SageMaker's and not ours.

``uri_problem(value, shape)`` applies a URI shape's pattern and length (``Url`` for
ModelDataUrl, ``DestinationS3Uri`` for capture), then what the local twin adds: it reads and
writes ``s3://`` URIs in its store, whose keys cannot hold ``.`` or ``..`` segments.
``name_problem(value, shape)`` applies a name shape's (``EndpointName``, ...), which keeps a name
from reaching outside the folder it names. ``inference_id_problem`` is the runtime's InferenceId
rule, shared by the endpoint and the ground truth that must match what it captured. The shapes
read are kept per botocore version in the user's cache (``user_cache.py``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from pipelines.core import user_cache
from pipelines.core.fileio import write_text_atomic


@lru_cache(maxsize=None)
def _shape(name: str) -> tuple[re.Pattern[str], int]:
    metadata = _metadata("sagemaker", name)
    return re.compile(metadata["pattern"]), int(metadata["max"])


def _member_shape(structure: str, member: str) -> str:
    return str(_metadata("sagemaker", structure)["members"][member])


def _metadata(service: str, shape: str) -> dict[str, Any]:
    """A shape's ``metadata`` (a structure's: its members' shape names) in botocore's model of
    ``service``, kept per botocore version in the user's cache: loading the model takes 0.2 s
    of a command's start, the few shapes the twin checks a millisecond."""
    import botocore

    path = user_cache.folder("botocore", f"{botocore.__version__}-{service}.json")
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        kept = {}
    if isinstance(kept, dict) and isinstance(kept.get(shape), dict):
        return kept[shape]
    import botocore.session

    found = botocore.session.get_session().get_service_model(service).shape_for(shape)
    metadata = dict(found.metadata)
    if hasattr(found, "members"):
        metadata["members"] = {member: value.name for member, value in found.members.items()}
    kept = {**(kept if isinstance(kept, dict) else {}), shape: metadata}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(kept, sort_keys=True))
    except OSError:
        pass  # only slower next time
    return metadata


def uri_problem(value: object, shape: str = "Url") -> str | None:
    """None when ``value`` fits botocore's ``shape`` and the local store; else why not."""
    pattern, longest = _shape(shape)
    if not isinstance(value, str) or not pattern.fullmatch(value) or len(value) > longest:
        shown = value if not isinstance(value, str) or len(value) < 200 else value[:200] + "..."
        return f"{shown!r} is not an s3:// or https:// URI of at most {longest} characters (SageMaker's {shape} shape)"
    if not value.startswith("s3://"):
        return f"{value}: the local twin keeps objects at s3:// URIs in its store, not https://"
    bucket, _, key = value[len("s3://") :].partition("/")
    if not bucket or bucket in (".", "..") or any(part in (".", "..") for part in key.split("/")):
        return f"{value}: an s3://bucket/key URI without '.' or '..' segments is expected"
    return None


def name_problem(value: object, shape: str) -> str | None:
    """None when ``value`` fits botocore's name ``shape``; else why not."""
    pattern, longest = _shape(shape)
    if not isinstance(value, str) or not pattern.fullmatch(value) or len(value) > longest:
        return f"{value!r} is not a valid {shape}: 1-{longest} letters, digits and hyphens, starting with a letter or digit (SageMaker's pattern {pattern.pattern})"
    return None


@lru_cache(maxsize=None)
def _runtime_limits(name: str) -> tuple[int, int]:
    metadata = _metadata("sagemaker-runtime", name)
    return int(metadata["min"]), int(metadata["max"])


def inference_id_problem(value: str) -> str | None:
    """None when ``value`` fits InvokeEndpoint's ``InferenceId`` (botocore's sagemaker-runtime
    shape: its length limits, and ``\\A\\S[\\p{Print}]*\\z``: printable, not starting with a space);
    else why not. The endpoint refuses such a request, so no capture record carries such an id."""
    shortest, longest = _runtime_limits("InferenceId")
    if shortest <= len(value) <= longest and value[:1].strip() and value.isprintable():
        return None
    return f"Member must have length between {shortest} and {longest} and be printable, not starting with a space"


def capture_destination_shape() -> str:
    """The shape of DataCaptureConfig.DestinationS3Uri in botocore's model."""
    return _member_shape("DataCaptureConfig", "DestinationS3Uri")
