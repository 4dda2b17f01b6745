"""The seam between this package and the SageMaker Python SDK v3.

Importing and using the SDK to *render* a definition must not reach AWS: the SDK looks for a
region at import time, validates roles with IAM, sends telemetry on every step build and
checks that the default bucket exists. ``prepare()`` turns all of that off before the SDK is
imported; ``pipeline_session()`` gives a session that never has to ask AWS anything.

Only the builder (``pipelines/<name>/pipeline.py``) and the AWS commands import this module;
the local engine reads definition JSON and never touches the SDK.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator

from pipelines.local.home import DEFAULT_REGION

# Values that make the SDK and botocore quiet and local. setdefault: a real configuration
# (a CodeBuild role, a developer's profile) always wins.
_OFFLINE_ENV = {
    "AWS_EC2_METADATA_DISABLED": "true",  # no instance-metadata probe for credentials
    "SAGEMAKER_VALIDATE_ROLE": "false",  # no iam:SimulatePrincipalPolicy at build time
}

_prepared = False


def prepare(region: str | None = None) -> None:
    """Make the SDK importable and usable for rendering without AWS. Idempotent."""
    global _prepared
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    if region:
        os.environ.setdefault("AWS_DEFAULT_REGION", region)
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    if _prepared:
        return
    _silence_telemetry()
    _share_service_models()
    _prepared = True


def _share_service_models() -> None:
    """Parse each botocore service model once per process, not once per session.

    The SDK creates throwaway sessions while a pipeline is defined (every ProcessingStep builds
    a local client only to read a method name), and each new botocore session re-parses the
    same JSON models: most of a render's time. The parsed models are read-only to botocore (one
    session already hands the same objects to all its clients), so sharing them across
    sessions changes nothing but the time.
    """
    from botocore import loaders

    original = loaders.JSONFileLoader.load_file
    if getattr(original, "_shared", False):
        return
    parsed: dict[str, Any] = {}

    def load_file(self: loaders.JSONFileLoader, file_path: str) -> Any:
        if file_path not in parsed:
            parsed[file_path] = original(self, file_path)
        return parsed[file_path]

    load_file._shared = True  # type: ignore[attr-defined]
    loaders.JSONFileLoader.load_file = load_file  # type: ignore[method-assign]


def _silence_telemetry() -> None:
    # The decorators look these names up in their module at call time, so replacing the
    # module attribute is enough. Opting out through the SDK config works too but costs
    # seconds per render (the config is re-validated on every step build).
    from sagemaker.core.telemetry import telemetry_logging

    telemetry_logging._send_telemetry_request = _no_telemetry  # type: ignore[assignment]
    try:
        from sagemaker.serve.utils import telemetry_logger
    except ImportError:  # pragma: no cover - serve is part of sagemaker 3.x
        return
    telemetry_logger._send_telemetry = _no_telemetry  # type: ignore[assignment]


def _no_telemetry(*_args: Any, **_kwargs: Any) -> None:
    return None


def pipeline_session(region: str, default_bucket: str) -> Any:
    """A PipelineSession for ``region`` whose default bucket is taken as given.

    Credentials are not needed to render; botocore only signs requests, and no request is
    sent while a pipeline is being defined.
    """
    prepare(region)
    _name_only_local_clients()
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    boto_session = boto3.Session(region_name=region)
    # ModelTrainer with a SourceCode asks IAM whether its role may write to the default bucket
    # (simulate_principal_policy) before staging the code, and takes the default bucket when
    # that fails: it fails here, before anything leaves the machine.
    boto_session.events.register("before-send.iam", _no_iam_while_rendering)
    # HyperparameterTuner over a trainer with a SourceCode uploads sourcedir.tar.gz with its own
    # S3 client: while a definition is rendered, that upload is noted like the session's.
    boto_session.events.register("before-parameter-build.s3.PutObject", _note_rendered_put)
    boto_session.events.register("before-call.s3.PutObject", _answer_rendered_put)
    session = _offline(PipelineSession)(boto_session=boto_session, default_bucket=default_bucket)
    # The SDK would otherwise HeadBucket/CreateBucket the default bucket when it first
    # needs it (ModelBuilder.register does); the bucket is the caller's to provide.
    session._default_bucket = default_bucket
    return session


def _name_only_local_clients() -> None:
    """Let ProcessingStep and TransformStep read their method names without building a client.

    Each of them builds a ``LocalSagemakerClient`` (a boto3 session, an S3 resource and clients:
    about 48 ms) only to read ``create_processing_job.__name__`` or ``create_transform_job.__name__``
    for a check of its arguments: two thirds of a pipeline's build once the SDK is imported. Their
    module gets a subclass that builds nothing. Its methods are the real ones, so their names are;
    anything else asked of it fails loudly (it has no session). Idempotent.
    """
    from sagemaker.mlops.workflow import steps

    if getattr(steps.LocalSagemakerClient, "_name_only", False):
        return

    class NameOnlyLocalClient(steps.LocalSagemakerClient):  # type: ignore[misc, name-defined]
        _name_only = True

        def __init__(self, *_args: Any, **_kwargs: Any) -> None:
            pass

    steps.LocalSagemakerClient = NameOnlyLocalClient  # type: ignore[misc]


class OfflineRequest(Exception):
    """A request the SDK tried to send while a pipeline was being defined."""


def _no_iam_while_rendering(request: Any, **_: Any) -> None:
    raise OfflineRequest(f"rendering is offline: the SDK tried to call IAM ({request.url})")


_RENDERING = [0]  # how many renderings are under way: process-wide, as the SDK uploads from s3transfer's own threads


@contextlib.contextmanager
def rendering() -> Iterator[None]:
    """While a definition is rendered: what the SDK uploads is noted, not sent."""
    _RENDERING[0] += 1
    try:
        yield
    finally:
        _RENDERING[0] -= 1


def _note_rendered_put(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if not _RENDERING[0]:
        return
    from pipelines.build import code_assets

    body = params.get("Body")
    data = body.read() if hasattr(body, "read") else body.encode() if isinstance(body, str) else bytes(body or b"")
    folder = _snapshot_folder()
    file = folder / Path(str(params["Key"])).name
    file.write_bytes(data)
    code_assets.rendered(f"s3://{params['Bucket']}/{params['Key']}", file)
    context["rendered_put"] = True


def _answer_rendered_put(context: dict[str, Any], **_: Any) -> Any:
    if not context.get("rendered_put"):
        return None
    from botocore.awsrequest import AWSResponse

    return AWSResponse("https://rendered.invalid/", 200, {}, None), {"ETag": '"rendered"', "ResponseMetadata": {"HTTPStatusCode": 200}}


def _snapshot_folder() -> Path:
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="rendered-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _offline(session_class: Any) -> Any:
    """The SDK's session, except that what it would upload while a pipeline is defined (a
    processor's local ``code=``, a FrameworkProcessor's source and runner script) is not
    uploaded: it is noted (``code_assets.rendered``) at the URI the SDK computes, and put there
    by whoever runs the definition (the local engine, or run-pipeline before it upserts)."""
    import tempfile

    from pipelines.build import code_assets

    class OfflineSession(session_class):  # type: ignore[misc, valid-type]
        def upload_data(self, path: str, bucket: str | None = None, key_prefix: str = "data", callback: Any = None, extra_args: Any = None) -> str:
            bucket = bucket or self.default_bucket()
            source = _snapshot(Path(path))  # the SDK may delete its temporary folders before anyone copies them
            if source.is_dir():
                for file in sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                    code_assets.rendered(f"s3://{bucket}/{key_prefix}/{file.relative_to(source).as_posix()}", file)
                return f"s3://{bucket}/{key_prefix}"
            code_assets.rendered(f"s3://{bucket}/{key_prefix}/{source.name}", source)
            return f"s3://{bucket}/{key_prefix}/{source.name}"

        def upload_string_as_file_body(self, body: str | bytes, bucket: str, key: str, kms_key: str | None = None) -> str:
            folder = Path(tempfile.mkdtemp(prefix="rendered-"))
            file = folder / Path(key).name
            file.write_bytes(body) if isinstance(body, bytes) else file.write_text(body)  # a FrameworkProcessor's sourcedir.tar.gz is bytes
            code_assets.rendered(f"s3://{bucket}/{key}", file)
            return f"s3://{bucket}/{key}"

    return OfflineSession


def _snapshot(source: Path) -> Path:
    """A copy of ``source`` (a file or a folder) that lives as long as this process."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="rendered-"))
    atexit.register(shutil.rmtree, folder, True)
    target = folder / source.name
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copyfile(source, target)
    return target


def quality_check_step(**kwargs: Any) -> Any:
    """SageMaker's QualityCheckStep, with its NetworkConfig rendered as the API's dict.

    SDK 3.27's check-job request embeds the processor's NetworkConfig object as is, so a
    pipeline whose baseline job runs in a VPC cannot be serialised (json.dumps fails). The
    request is otherwise the SDK's own.
    """
    from sagemaker.mlops.workflow.quality_check_step import QualityCheckStep

    class _QualityCheckStep(QualityCheckStep):
        @property
        def arguments(self) -> Any:
            request = super().arguments
            network = request.get("NetworkConfig")
            if network is not None and hasattr(network, "_to_request_dict"):
                request["NetworkConfig"] = network._to_request_dict()
            return request

    return _QualityCheckStep(**kwargs)
