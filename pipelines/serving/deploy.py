"""Deployment: one code path for ``mlops deploy``, approvals, and the pipeline's deploy steps.

Model -> EndpointConfig (with SageMaker's DataCaptureConfig) -> Endpoint, as SageMaker's API
takes them. Deploying a registered package builds all three from the package; the engine's
Model, EndpointConfig and Endpoint steps call the same functions with what the definition says.
An endpoint switches to a new config only once its model has loaded.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

from pipelines.core.errors import UsageError
from pipelines.lineage import recorder as lineage
from pipelines.local.home import Home
from pipelines.registry.store import ModelRegistry
from pipelines.serving.endpoints import EndpointStore
from pipelines.serving.stages import stages

CAPTURE_OPTIONS = [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
CAPTURE_CONTENT_TYPES = {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]}


def model_check(home: Home, store: EndpointStore) -> Any:
    """``check(config)`` for :meth:`EndpointStore.activate`: None when every variant's model loads."""
    objects = home.objects()

    def check(config: dict[str, Any]) -> str | None:
        for variant in config["ProductionVariants"]:
            url = store.describe_model(variant["ModelName"])["PrimaryContainer"]["ModelDataUrl"]
            from pipelines.serving.model import check_loads  # numpy and xgboost: only when a model is deployed

            problem = check_loads(objects.path(url))
            if problem:
                return f"variant {variant.get('VariantName', 'AllTraffic')}: {problem}"
        return None

    return check


def create_model(home: Home, name: str, request: dict[str, Any]) -> dict[str, Any]:
    """CreateModel (the pipeline's Model step)."""
    with EndpointStore(home) as store:
        return store.create_model(name, request)


def describe_model(home: Home, name: str) -> dict[str, Any]:
    """DescribeModel (what a Transform step serves)."""
    with EndpointStore(home) as store:
        return store.describe_model(name)


def create_endpoint_config(home: Home, name: str, request: dict[str, Any]) -> dict[str, Any]:
    """CreateEndpointConfig (the pipeline's EndpointConfig step)."""
    with EndpointStore(home) as store:
        return store.create_endpoint_config(name, request)


def activate(home: Home, endpoint: str, config_name: str, tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """CreateEndpoint / UpdateEndpoint (the pipeline's Endpoint step)."""
    with EndpointStore(home) as store:
        return _activate(home, store, endpoint, config_name, tags)


def _activate(home: Home, store: EndpointStore, endpoint: str, config_name: str, tags: list[dict[str, str]] | None) -> dict[str, Any]:
    """Serve ``config_name`` once its model loads; lineage records what the endpoint serves."""
    described = store.activate(endpoint, config_name, model_check(home, store), tags)
    if described.get("EndpointConfigName") == config_name:
        live = store.endpoint_config_of(endpoint)
        if live is not None:
            lineage.endpoint_deployed(home, described, *live)
    return described


def capture_destination(model_data_url: str) -> str:
    """Where capture goes by default: ``s3://{bucket}/{first folder}/data-capture``, beside the
    model's artifacts (``s3://sagemaker-…-mlops/credit-default/data-capture`` for this pipeline);
    ``s3://{bucket}/data-capture`` for a model at the bucket's top level (``s3://b/model.tar.gz``)."""
    parsed = urlparse(model_data_url)
    folders = parsed.path.lstrip("/").split("/")[:-1]  # the last segment is the model's own name
    first = next((folder for folder in folders if folder), None)
    return f"s3://{parsed.netloc}/{first}/data-capture" if first else f"s3://{parsed.netloc}/data-capture"


def monitoring_destination(capture_uri: str) -> str:
    """Where monitoring reports go by default: beside the capture (``.../data-capture`` ->
    ``.../monitoring``), as the workshop lays out the bucket."""
    base = capture_uri.rstrip("/")
    return f"{base[: -len('/data-capture')]}/monitoring" if base.endswith("/data-capture") else f"{base}-monitoring"


def ground_truth_destination(capture_uri: str) -> str:
    """Where ground truth goes by default: beside the capture (``.../ground-truth``)."""
    base = capture_uri.rstrip("/")
    return f"{base[: -len('/data-capture')]}/ground-truth" if base.endswith("/data-capture") else f"{base}-ground-truth"


def capture_of(home: Home, endpoint: str) -> str:
    """The data-capture destination of a locally deployed endpoint."""
    with EndpointStore(home) as store:
        described = store.describe_endpoint(endpoint)
    capture = (described.get("DataCaptureConfig") or {}).get("DestinationS3Uri")
    if not capture:
        raise UsageError(f"endpoint {endpoint} captures nothing (no DataCaptureConfig)")
    return str(capture)


def deploy_package(home: Home, package_arn: str, endpoint: str, stage: str = "staging", sampling: int | None = None, destination: str | None = None) -> dict[str, Any]:
    """Model, endpoint config (capture on) and endpoint from a registered package."""
    settings = stages(home)
    if stage not in settings:
        raise UsageError(f"stage must be one of {', '.join(settings)}, got {stage!r}")
    with ModelRegistry(home) as models:
        package = models.describe(package_arn)
    if package["ModelApprovalStatus"] != "Approved":
        raise UsageError(f"{package['ModelPackageArn']} is {package['ModelApprovalStatus']}; only an Approved package is deployed")
    container = dict(package["InferenceSpecification"]["Containers"][0])
    percentage = settings[stage]["sampling"] if sampling is None else sampling
    stamp = f"{datetime.now(timezone.utc):%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
    model_name = f"{endpoint}-v{package['ModelPackageVersion']}-{stamp}"[:63].rstrip("-")
    config_name = f"{endpoint}-{stage}-{stamp}"[:63].rstrip("-")
    tags = [{"Key": "stage", "Value": stage}, {"Key": "ModelPackageArn", "Value": package["ModelPackageArn"]}]
    commit = (package.get("CustomerMetadataProperties") or {}).get("GitCommit")
    if commit:
        tags.append({"Key": "GitCommit", "Value": commit})
    with EndpointStore(home) as store:  # one opening for the model, the config and the endpoint
        store.create_model(model_name, {"PrimaryContainer": {**container, "ModelPackageName": package["ModelPackageArn"]}, "ExecutionRoleArn": None})
        store.create_endpoint_config(
            config_name,
            {
                "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model_name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}],
                "DataCaptureConfig": {
                    "EnableCapture": True,
                    "InitialSamplingPercentage": percentage,
                    "DestinationS3Uri": destination or capture_destination(container["ModelDataUrl"]),
                    "CaptureOptions": CAPTURE_OPTIONS,
                    "CaptureContentTypeHeader": CAPTURE_CONTENT_TYPES,
                },
            },
        )
        return _activate(home, store, endpoint, config_name, tags)
