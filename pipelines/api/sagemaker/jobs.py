"""The processing, training and transform jobs the engine ran, as Describe/List*Job(s) answer."""

from __future__ import annotations

from typing import Any

from pipelines.api import protocol
from pipelines.api.protocol import ApiError
from pipelines.api.sagemaker.operations import operation, ordered, page
from pipelines.engine.records import Records
from pipelines.local.home import Home

JOB_KINDS = {  # kind: the step types whose jobs are of it, and its start and end members
    "Processing": (("Processing", "QualityCheck", "ClarifyCheck"), "ProcessingStartTime", "ProcessingEndTime"),
    "Training": (("Training",), "TrainingStartTime", "TrainingEndTime"),
    "Transform": (("Transform",), "TransformStartTime", "TransformEndTime"),
}
JOB_STATUS = {"Succeeded": "Completed", "Failed": "Failed", "Stopped": "Stopped", "Stopping": "Stopping"}  # else InProgress


def _job_described(home: Home, kind: str, job: dict[str, Any]) -> dict[str, Any]:
    """Describe<Kind>Job from what the step was given (its resolved arguments: CreateJob's
    members) and what its run said (its properties), with the run's times and status."""
    _, start, end = JOB_KINDS[kind]
    status = JOB_STATUS.get(job["status"], "InProgress")
    described: dict[str, Any] = {**job["arguments"], **job["properties"]}
    described.update({
        f"{kind}JobName": job["name"], f"{kind}JobStatus": status, "CreationTime": job["started"], start: job["started"],
        "LastModifiedTime": job["ended"] or job["started"],
    })  # fmt: skip
    described.setdefault(f"{kind}JobArn", home.arn(f"{kind.lower()}-job", job["name"].lower()))
    if job["ended"]:
        described[end] = job["ended"]
    if job["failure_reason"]:
        described["FailureReason"] = job["failure_reason"]
    if kind == "Training":
        described["SecondaryStatus"] = {"Completed": "Completed", "Failed": "Failed", "Stopped": "Stopped"}.get(status, "Training")
        output = str((described.get("OutputDataConfig") or {}).get("S3OutputPath", "")).rstrip("/")
        described.setdefault("ModelArtifacts", {"S3ModelArtifacts": f"{output}/{job['name']}/output/model.tar.gz"})
        described.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": 86400})
    return protocol.shape_members(f"Describe{kind}JobResponse", described)


def _jobs(home: Home, kind: str, name: str | None = None) -> list[dict[str, Any]]:
    with Records(home) as records:
        found = records.jobs(JOB_KINDS[kind][0], name)
    newest: dict[str, dict[str, Any]] = {}
    for job in found:  # newest first; a cache hit names its source's job again
        newest.setdefault(job["name"], job)
    return [_job_described(home, kind, job) for job in newest.values()]


def _describe_job(home: Home, kind: str, name: str) -> dict[str, Any]:
    found = _jobs(home, kind, name)
    if not found:
        raise ApiError("ResourceNotFound", f"Requested resource not found: {kind} job {name!r} does not exist here")
    return found[0]


def _list_jobs(home: Home, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    jobs = _jobs(home, kind)
    if params.get("NameContains"):
        jobs = [j for j in jobs if params["NameContains"].lower() in j[f"{kind}JobName"].lower()]
    if params.get("StatusEquals"):
        jobs = [j for j in jobs if j[f"{kind}JobStatus"] == params["StatusEquals"]]
    summaries = [protocol.shape_members(f"{kind}JobSummary", job) for job in ordered(jobs, params)]
    return page(summaries, params, f"{kind}JobSummaries")


@operation
def describe_processing_job(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _describe_job(home, "Processing", params["ProcessingJobName"])


@operation
def list_processing_jobs(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _list_jobs(home, "Processing", params)


@operation
def describe_training_job(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _describe_job(home, "Training", params["TrainingJobName"])


@operation
def list_training_jobs(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _list_jobs(home, "Training", params)


@operation
def describe_transform_job(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _describe_job(home, "Transform", params["TransformJobName"])


@operation
def list_transform_jobs(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _list_jobs(home, "Transform", params)
