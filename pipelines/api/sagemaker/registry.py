"""Model package groups and packages, over the local registry (an approval deploys staging)."""

from __future__ import annotations

from typing import Any

from pipelines.api.protocol import ApiError
from pipelines.api.sagemaker.operations import operation, ordered, page
from pipelines.api.store import ApiStore
from pipelines.local.home import Home
from pipelines.registry.store import ModelRegistry
from pipelines.serving import deploy
from pipelines.serving.stages import stages


@operation
def create_model_package_group(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ModelRegistry(home) as registry:
        registry.ensure_group(params["ModelPackageGroupName"], params.get("ModelPackageGroupDescription"))
        arn = registry.describe_group(params["ModelPackageGroupName"])["ModelPackageGroupArn"]
    if params.get("Tags"):
        with ApiStore(home) as store:
            store.add_tags(arn, params["Tags"])
    return {"ModelPackageGroupArn": arn}


@operation
def describe_model_package_group(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ModelRegistry(home) as registry:
        return registry.describe_group(params["ModelPackageGroupName"])


@operation
def list_model_package_groups(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ModelRegistry(home) as registry:
        groups = registry.list_groups()
    return page(ordered(groups, params, stored="Ascending", default="Ascending"), params, "ModelPackageGroupSummaryList")


@operation
def create_model_package(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    group = params.get("ModelPackageGroupName")
    if not group:
        raise ApiError("ValidationException", "the local registry keeps versioned packages: give ModelPackageGroupName")
    with ModelRegistry(home) as registry:
        described = registry.register(group.rsplit("/", 1)[-1], params)
    return {"ModelPackageArn": described["ModelPackageArn"]}


@operation
def describe_model_package(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ModelRegistry(home) as registry:
        return registry.describe(params["ModelPackageName"])


@operation
def list_model_packages(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    group = params.get("ModelPackageGroupName")
    with ModelRegistry(home) as registry:
        packages = registry.list_packages(group.rsplit("/", 1)[-1] if group else None, params.get("ModelApprovalStatus"))
    return page(ordered(packages, params), params, "ModelPackageSummaryList")


@operation
def update_model_package(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    """UpdateModelPackage's ModelApprovalStatus: an approval deploys to staging, as ``mlops
    registry approve`` does (the EventBridge rule's part on AWS)."""
    status = params.get("ModelApprovalStatus")
    with ModelRegistry(home) as registry:
        if status is None:
            return {"ModelPackageArn": registry.describe(params["ModelPackageArn"])["ModelPackageArn"]}
        staging = stages(home)["staging"]
        registry.on_approval(lambda approved: deploy.deploy_package(home, approved["ModelPackageArn"], staging["endpoint"], "staging"))
        described = registry.update_status(params["ModelPackageArn"], status, params.get("ApprovalDescription") or f"UpdateModelPackage: {status}", by="api")
    return {"ModelPackageArn": described["ModelPackageArn"]}
