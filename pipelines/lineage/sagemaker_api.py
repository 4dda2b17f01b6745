"""Lineage on AWS, read from SageMaker's own APIs: commit <-> executions <-> model packages <->
endpoints -> monitoring executions.

SageMaker has no tags on pipeline executions, so the commit is found where run-pipeline puts
it: the execution's display name (``git-<sha12>``) narrows the search, its ``GitCommit``
parameter confirms it; model packages carry it in ``MetadataProperties.CommitId``; an
endpoint leads to its package through its config's models (``ModelPackageName``).
"""

from __future__ import annotations

from typing import Any, Iterator

DISPLAY_PREFIX = "git-"


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item under ``key`` of every page of ``operation`` (boto3's paginator)."""
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def commit_of_execution(client: Any, execution_arn: str) -> str | None:
    for parameter in _pages(client, "list_pipeline_parameters_for_execution", "PipelineParameters", PipelineExecutionArn=execution_arn):
        if parameter["Name"] == "GitCommit":
            return parameter["Value"]
    return None


def executions_of_commit(client: Any, pipeline_name: str, sha: str) -> list[dict[str, Any]]:
    """The pipeline's executions of ``sha`` (a full SHA, or a prefix of 12 or more), newest first."""
    prefix = f"{DISPLAY_PREFIX}{sha[:12]}"
    found = []
    for summary in _pages(client, "list_pipeline_executions", "PipelineExecutionSummaries", PipelineName=pipeline_name, SortBy="CreationTime", SortOrder="Descending"):
        if not str(summary.get("PipelineExecutionDisplayName", "")).startswith(prefix):
            continue
        commit = commit_of_execution(client, summary["PipelineExecutionArn"])
        if commit and commit.startswith(sha):
            found.append({**summary, "GitCommit": commit})
    return found


def packages_of_commit(client: Any, group: str, sha: str) -> list[dict[str, Any]]:
    found = []
    for summary in _pages(client, "list_model_packages", "ModelPackageSummaryList", ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending"):
        package = client.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        if str(package.get("MetadataProperties", {}).get("CommitId", "")).startswith(sha):
            found.append(package)
    return found


def package_of_endpoint(client: Any, endpoint_name: str) -> dict[str, Any] | None:
    """The model package an endpoint serves (its first variant's model), described."""
    endpoint = client.describe_endpoint(EndpointName=endpoint_name)
    config = client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    for variant in config.get("ProductionVariants", []):
        model = client.describe_model(ModelName=variant["ModelName"])
        containers = ([model["PrimaryContainer"]] if model.get("PrimaryContainer") else []) + model.get("Containers", [])
        for container in containers:
            if container.get("ModelPackageName"):
                return client.describe_model_package(ModelPackageName=container["ModelPackageName"])
    return None


def endpoints_of_packages(client: Any, package_arns: set[str]) -> list[dict[str, str]]:
    found = []
    for summary in _pages(client, "list_endpoints", "Endpoints"):
        package = package_of_endpoint(client, summary["EndpointName"])
        if package is not None and package["ModelPackageArn"] in package_arns:
            found.append({"EndpointName": summary["EndpointName"], "EndpointArn": summary["EndpointArn"], "ModelPackageArn": package["ModelPackageArn"]})
    return found


def monitoring_of_endpoint(client: Any, endpoint_name: str, limit: int = 24) -> list[dict[str, Any]]:
    """The endpoint's latest monitoring executions: schedule, hour, status, report."""
    rows = []
    for schedule in _pages(client, "list_monitoring_schedules", "MonitoringScheduleSummaries", EndpointName=endpoint_name):
        response = client.list_monitoring_executions(
            MonitoringScheduleName=schedule["MonitoringScheduleName"], SortBy="ScheduledTime", SortOrder="Descending", MaxResults=limit
        )
        for execution in response.get("MonitoringExecutionSummaries", []):
            rows.append({
                "MonitoringScheduleName": schedule["MonitoringScheduleName"],
                "ScheduledTime": execution["ScheduledTime"],
                "MonitoringExecutionStatus": execution["MonitoringExecutionStatus"],
                "ProcessingJobArn": execution.get("ProcessingJobArn"),
                "FailureReason": execution.get("FailureReason"),
            })  # fmt: skip
    return rows


def trace_endpoint(client: Any, endpoint_name: str, pipeline_name: str) -> dict[str, Any]:
    """Endpoint -> package -> commit -> executions of that commit, and the monitoring results."""
    package = package_of_endpoint(client, endpoint_name)
    commit = str(package.get("MetadataProperties", {}).get("CommitId", "")) if package else ""
    return {
        "EndpointName": endpoint_name,
        "ModelPackageArn": package["ModelPackageArn"] if package else None,
        "ModelApprovalStatus": package.get("ModelApprovalStatus") if package else None,
        "ModelDataUrl": (package or {}).get("InferenceSpecification", {}).get("Containers", [{}])[0].get("ModelDataUrl"),
        "GitCommit": commit or None,
        "PipelineExecutions": [e["PipelineExecutionArn"] for e in executions_of_commit(client, pipeline_name, commit)] if commit else [],
        "Monitoring": monitoring_of_endpoint(client, endpoint_name),
    }


def trace_commit(client: Any, sha: str, pipeline_name: str, group: str) -> dict[str, Any]:
    """Commit -> its executions, the packages built from it, the endpoints serving them."""
    packages = packages_of_commit(client, group, sha)
    return {
        "GitCommit": sha,
        "PipelineExecutions": [
            {"PipelineExecutionArn": e["PipelineExecutionArn"], "PipelineExecutionStatus": e.get("PipelineExecutionStatus"), "DisplayName": e.get("PipelineExecutionDisplayName")}
            for e in executions_of_commit(client, pipeline_name, sha)
        ],
        "ModelPackages": [{"ModelPackageArn": p["ModelPackageArn"], "ModelApprovalStatus": p.get("ModelApprovalStatus")} for p in packages],
        "Endpoints": endpoints_of_packages(client, {p["ModelPackageArn"] for p in packages}),
    }
