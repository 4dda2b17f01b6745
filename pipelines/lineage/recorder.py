"""Recording lineage as the local twin works: no user code involved.

The engine's listener (``local_run``) records every execution (with the commit that started it)
and every step's job, inputs and outputs, as the step's handler names them; the registry records packages and approvals; deployment records
endpoints and what they serve; the monitor records its executions and reports. Each
function opens the store under ``MLOPS_HOME``, records, and closes it; a failure to record
is logged and never fails the work it describes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Iterable

from pipelines.lineage.store import LineageStore
from pipelines.local.home import Home
from pipelines.local.store import is_s3

logger = logging.getLogger(__name__)


def _safely(action: Callable[[LineageStore], Any], home: Home) -> Any:
    try:
        store = LineageStore(home)
    except Exception:  # noqa: BLE001 - lineage must not break the work
        logger.exception("lineage store unavailable")
        return None
    try:
        return action(store)
    except Exception:  # noqa: BLE001
        logger.exception("recording lineage failed")
        return None
    finally:
        store.close()


def digest(home: Home, uri: str | None) -> str | None:
    """sha256 of what ``uri`` holds (in the store, or a local path); None when nothing is there."""
    if not uri or not isinstance(uri, str):
        return None
    objects = home.objects()
    try:
        value = objects.digest(uri) if is_s3(uri) else objects.digest(str(Path(uri)))
    except Exception:  # noqa: BLE001 - unreadable: no digest
        return None
    return value or None


# -- the engine ------------------------------------------------------------------------------
def execution_started(home: Home, execution_arn: str, pipeline: str, parameters: dict[str, Any], commit: dict[str, Any] | None, display_name: str | None) -> None:
    def record(store: LineageStore) -> None:
        pipeline_arn = store.context("Pipeline", pipeline, execution_arn.rsplit("/execution/", 1)[0])
        execution = store.context("PipelineExecution", execution_arn.rsplit("/", 1)[1], execution_arn, {"PipelineName": pipeline, "Parameters": parameters, "DisplayName": display_name}, status="Executing")
        store.associate(execution, pipeline_arn, "AssociatedWith")
        if commit:
            source = f"git:{commit['sha']}" if not commit.get("remote_url") else f"{commit['remote_url']}#{commit['sha']}"
            commit_arn = store.artifact("Commit", source, commit["sha"], name=commit["sha"][:12], properties=commit)
            store.associate(commit_arn, execution, "ContributedTo")

    _safely(record, home)


def execution_ended(home: Home, execution_arn: str, status: str, failure_reason: str | None) -> None:
    _safely(lambda store: store.context("PipelineExecution", execution_arn.rsplit("/", 1)[1], status=status, properties={"FailureReason": failure_reason} if failure_reason else {}), home)


JOB_KINDS = {"ProcessingJob": "ProcessingJob", "QualityCheck": "ProcessingJob", "TrainingJob": "TrainingJob", "TransformJob": "TransformJob"}


def step_finished(
    home: Home, execution_arn: str, step: str, action_type: str | None, arguments: dict[str, Any], properties: dict[str, Any],
    detail: str | None, cached_from: str | None, artifacts: Iterable[tuple[str, str, str, str]],
) -> None:  # fmt: skip
    """A succeeded job step: its job as a trial component (a processing, training or transform
    job, as SageMaker records them; a quality check runs a processing job) or an action of
    ``action_type`` (tuning, model creation, deployment), and ``artifacts`` (direction,
    artifact type, name, uri: what its handler says it read and wrote)."""
    if action_type is None:
        return

    def record(store: LineageStore) -> None:
        execution = store.context("PipelineExecution", execution_arn.rsplit("/", 1)[1])
        job = properties.get("ProcessingJobName") or properties.get("TrainingJobName") or properties.get("TransformJobName") or f"{execution_arn.rsplit('/', 1)[1]}-{step}"
        job_arn = properties.get("ProcessingJobArn") or properties.get("TrainingJobArn") or properties.get("TransformJobArn")
        metrics = {m["MetricName"]: m["Value"] for m in properties.get("FinalMetricDataList") or []}
        image = (arguments.get("AppSpecification") or {}).get("ImageUri") or (arguments.get("AlgorithmSpecification") or {}).get("TrainingImage")
        said = {"Step": step, "PipelineExecutionArn": execution_arn, "Metrics": metrics, "Detail": detail, "CacheHitFrom": cached_from, "HyperParameters": properties.get("HyperParameters")}
        kind = JOB_KINDS.get(action_type)
        if kind is not None and job_arn:
            action = store.trial_component(kind, job, "Completed", job_arn, said)
        else:
            action = store.action(action_type, job, "Completed", job_arn, said)
        store.associate(action, execution, "AssociatedWith")
        if image:
            store.associate(store.artifact("Image", image, name=image.rsplit("/", 1)[-1]), action, "ContributedTo")
        for direction, kind, name, uri in artifacts:
            if direction == "in":
                artifact = store.artifact(kind, uri, digest(home, uri), name=f"{step}/{name}")
                store.associate(artifact, action, "ContributedTo")
            else:
                artifact = store.artifact(kind, uri, digest(home, uri), name=f"{step}/{name}", properties={"Step": step, "PipelineExecutionArn": execution_arn})
                store.associate(action, artifact, "Produced")

    _safely(record, home)


# -- the registry ----------------------------------------------------------------------------
def package_registered(home: Home, package: dict[str, Any]) -> None:
    def record(store: LineageStore) -> None:
        group = store.context("ModelPackageGroup", package["ModelPackageGroupName"])
        artifact = store.artifact("ModelPackage", package["ModelPackageArn"], name=f"{package['ModelPackageGroupName']}/{package['ModelPackageVersion']}", properties=_package_facts(package))
        store.associate(artifact, group, "AssociatedWith")
        registration = store.action("ModelRegistration", package["ModelPackageArn"], "Completed", properties={"CreatedBy": (package.get("CreatedBy") or {}).get("UserProfileName")})
        store.associate(registration, artifact, "Produced")
        for container in package["InferenceSpecification"]["Containers"]:
            model = container.get("ModelDataUrl")
            if model:
                model_artifact = store.artifact("Model", model, digest(home, model), name="model")
                store.associate(model_artifact, registration, "ContributedTo")
                store.associate(artifact, model_artifact, "DerivedFrom")
        drift = (package.get("DriftCheckBaselines") or {}).get("ModelDataQuality") or {}
        for key in ("Statistics", "Constraints"):
            uri = (drift.get(key) or {}).get("S3Uri")
            if uri:
                store.associate(store.artifact("Baseline", uri, digest(home, uri), name=f"drift-check {key.lower()}"), artifact, "ContributedTo")
        execution = (package.get("CreatedBy") or {}).get("UserProfileName") or ""
        if execution.startswith("pipeline:arn:"):
            store.associate(registration, store.context("PipelineExecution", execution.rsplit("/", 1)[1]), "AssociatedWith")

    _safely(record, home)


def _package_facts(package: dict[str, Any]) -> dict[str, Any]:
    return {
        "ModelApprovalStatus": package.get("ModelApprovalStatus"),
        "GitCommit": (package.get("CustomerMetadataProperties") or {}).get("GitCommit"),
        "ModelPackageVersion": package.get("ModelPackageVersion"),
    }


def package_status_changed(home: Home, package: dict[str, Any], by: str, reason: str) -> None:
    def record(store: LineageStore) -> None:
        artifact = store.artifact("ModelPackage", package["ModelPackageArn"], properties=_package_facts(package))
        action = store.action(
            "Approval" if package["ModelApprovalStatus"] == "Approved" else "Rejection",
            f"{package['ModelPackageArn']}@{package.get('LastModifiedTime')}", package["ModelApprovalStatus"],
            properties={"By": by, "Reason": reason, "Time": package.get("LastModifiedTime")},
        )  # fmt: skip
        store.associate(artifact, action, "ContributedTo")

    _safely(record, home)


# -- deployment ------------------------------------------------------------------------------
def endpoint_deployed(home: Home, endpoint: dict[str, Any], config: dict[str, Any], models: list[dict[str, Any]]) -> None:
    def record(store: LineageStore) -> None:
        context = store.context("Endpoint", endpoint["EndpointName"], endpoint["EndpointArn"], status=endpoint["EndpointStatus"])
        action = store.action(
            "Deployment", f"{endpoint['EndpointName']}:{config['EndpointConfigName']}", endpoint["EndpointStatus"], properties={"EndpointConfigName": config["EndpointConfigName"], "DataCaptureConfig": config.get("DataCaptureConfig")}
        )
        store.associate(action, context, "ContributedTo")
        for model in models:
            container = model["PrimaryContainer"]
            url = container.get("ModelDataUrl")
            model_artifact = store.artifact("Model", url, digest(home, url), name="model")
            store.associate(model_artifact, action, "ContributedTo")
            package = container.get("ModelPackageName")
            if package:
                store.associate(store.artifact("ModelPackage", package), action, "ContributedTo")

    _safely(record, home)


# -- the monitor -----------------------------------------------------------------------------
def monitoring_executed(
    home: Home, endpoint: str, schedule: str, scheduled: str, status: str, report_uri: str | None, baseline: tuple[str, str], violations: int,
    failure_reason: str | None, job_arn: str | None = None,
) -> None:  # fmt: skip
    """A monitoring execution of ``endpoint``; ``job_arn`` is the processing job that ran it
    (the monitoring pipeline's, whose own lineage the engine recorded)."""

    def record(store: LineageStore) -> None:
        context = store.context("Endpoint", endpoint)
        properties = {"Schedule": schedule, "ScheduledTime": scheduled, "Violations": violations, "FailureReason": failure_reason, "ProcessingJobArn": job_arn}
        action = store.action("MonitoringExecution", f"{schedule}@{scheduled}", status, properties=properties)
        store.associate(context, action, "ContributedTo")
        for uri, name in zip(baseline, ("baseline statistics", "baseline constraints"), strict=True):
            store.associate(store.artifact("Baseline", uri, digest(home, uri), name=name), action, "ContributedTo")
        if report_uri:
            report = store.artifact("Report", report_uri, digest(home, report_uri), name=f"{schedule} {scheduled}", properties={"Violations": violations, "Status": status})
            store.associate(action, report, "Produced")

    _safely(record, home)
