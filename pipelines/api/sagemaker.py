"""The SageMaker API on the local twin: ``X-Amz-Target: SageMaker.<Operation>``, over the twin's
stores.

One function per operation served, in ``OPERATIONS``; each takes the request's parameters
(validated against botocore's input shape by ``protocol``) and answers the output shape's
members. Pipelines are kept as CreatePipeline makes them (``store.py``); an execution that
StartPipelineExecution starts is recorded at once and run to its end by a runner of its own on
the local engine (``runs/background.py``). The registry, the endpoints, the jobs the engine ran
and the callbacks are the stores the CLI uses, so what a client does here, ``mlops`` sees, and
the other way round. An operation botocore knows but the twin does not serve answers
``UnknownOperationException`` naming it.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from typing import Any, Callable

from pipelines.api import protocol
from pipelines.api.protocol import ApiError
from pipelines.api.store import ApiStore
from pipelines.build import parameters as parameter_values
from pipelines.core.errors import MlopsError
from pipelines.engine import callbacks
from pipelines.engine.orchestrator import new_execution_id
from pipelines.engine.records import Records
from pipelines.local.home import Home

STEP_EXTRAS = ("LogPath", "StepType")  # what ``mlops executions steps --json`` adds to AWS's shape
Handler = Callable[[Home, dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Handler] = {}


def operation(function: Handler) -> Handler:
    """Serve ``function`` as the operation its name spells in CamelCase."""
    OPERATIONS["".join(part.capitalize() for part in function.__name__.split("_"))] = function
    return function


def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
    """``MaxResults`` and ``NextToken`` over a list (the token is the next item's index)."""
    start = int(params["NextToken"]) if str(params.get("NextToken", "")).isdigit() else 0
    size = int(params.get("MaxResults") or 100)
    page = items[start : start + size]
    answer: dict[str, Any] = {key: page}
    if start + size < len(items):
        answer["NextToken"] = str(start + size)
    return answer


# -- pipelines ------------------------------------------------------------------------------
def _definition(home: Home, params: dict[str, Any]) -> str | None:
    """The definition given inline, or at PipelineDefinitionS3Location (the SDKs put a large one in S3)."""
    if params.get("PipelineDefinition"):
        text = str(params["PipelineDefinition"])
    elif params.get("PipelineDefinitionS3Location"):
        location = params["PipelineDefinitionS3Location"]
        path = home.objects().path(f"s3://{location['Bucket']}/{location['ObjectKey']}")
        if not path.is_file():
            raise ApiError("ValidationException", f"PipelineDefinitionS3Location: s3://{location['Bucket']}/{location['ObjectKey']} does not exist")
        text = path.read_text()
    else:
        return None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ApiError("ValidationException", f"PipelineDefinition is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Steps"), list):
        raise ApiError("ValidationException", "PipelineDefinition must be a JSON object with a Steps list")
    return text


@operation
def create_pipeline(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    definition = _definition(home, params)
    if definition is None:
        raise ApiError("ValidationException", "Either PipelineDefinition or PipelineDefinitionS3Location is required")
    with ApiStore(home) as store:
        arn = store.create_pipeline(
            params["PipelineName"], definition, params.get("RoleArn"), params.get("PipelineDisplayName"), params.get("PipelineDescription"), params.get("ParallelismConfiguration")
        )
        if params.get("Tags"):
            store.add_tags(arn, params["Tags"])
    return {"PipelineArn": arn}


@operation
def update_pipeline(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        arn = store.update_pipeline(
            params["PipelineName"], definition=_definition(home, params), role=params.get("RoleArn"), display_name=params.get("PipelineDisplayName"),
            description=params.get("PipelineDescription"), parallelism=params.get("ParallelismConfiguration"),
        )  # fmt: skip
    return {"PipelineArn": arn}


@operation
def describe_pipeline(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        row = store.pipeline(params["PipelineName"])
    return {
        "PipelineArn": row["arn"], "PipelineName": row["name"], "PipelineDisplayName": row["display_name"], "PipelineDefinition": row["definition"],
        "PipelineDescription": row["description"], "RoleArn": row["role"], "PipelineStatus": "Active", "CreationTime": row["created"],
        "LastModifiedTime": row["modified"], "LastRunTime": row["last_run"], "ParallelismConfiguration": row["parallelism"],
    }  # fmt: skip


@operation
def delete_pipeline(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        return {"PipelineArn": store.delete_pipeline(params["PipelineName"])}


@operation
def list_pipelines(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        rows = store.pipelines()
    prefix = params.get("PipelineNamePrefix") or ""
    summaries = [
        {"PipelineArn": r["arn"], "PipelineName": r["name"], "PipelineDisplayName": r["display_name"], "PipelineDescription": r["description"], "RoleArn": r["role"],
         "CreationTime": r["created"], "LastModifiedTime": r["modified"], "LastExecutionTime": r["last_run"]}
        for r in rows if r["name"].startswith(prefix)
    ]  # fmt: skip
    if params.get("SortOrder", "Descending") == "Descending":
        summaries.reverse()
    return _page(summaries, params, "PipelineSummaries")


# -- executions -----------------------------------------------------------------------------
@operation
def start_pipeline_execution(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.runs import background

    name = params["PipelineName"]
    with ApiStore(home) as store:
        row = store.pipeline(name)
        again = store.execution_for_token(row["name"], params["ClientRequestToken"])
        if again:  # the same request again: the same execution, as SageMaker answers it
            return {"PipelineExecutionArn": again}
        definition = json.loads(row["definition"])
        given = {p["Name"]: p["Value"] for p in params.get("PipelineParameters") or []}
        values = parameter_values.resolved(definition, parameter_values.from_strings(definition, given))
        execution_id = new_execution_id()
        arn = home.arn("pipeline", f"{row['name'].lower()}/execution/{execution_id}")
        with Records(home) as records:
            records.create_execution(execution_id, arn, row["name"], params.get("PipelineExecutionDisplayName") or f"execution-{execution_id}", params.get("PipelineExecutionDescription"), values, definition)
        try:
            background.start(home, execution_id)
        except OSError as exc:
            with Records(home) as records:
                records.end_execution(execution_id, "Failed", f"the runner could not start: {exc.strerror}")
        store.remember_token(row["name"], params["ClientRequestToken"], arn)
        store.ran(row["name"])
    return {"PipelineExecutionArn": arn}


def _execution(home: Home, arn: str) -> dict[str, Any]:
    with Records(home) as records:
        return records.describe_execution(arn)


@operation
def describe_pipeline_execution(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    described = _execution(home, params["PipelineExecutionArn"])
    described.pop("PipelineParameters", None)  # ListPipelineParametersForExecution's
    return described


@operation
def list_pipeline_executions(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        name = store.pipeline(params["PipelineName"])["name"]
    with Records(home) as records:
        summaries = records.list_executions(limit=10_000, pipeline=name)
    if params.get("SortOrder") == "Ascending":
        summaries.reverse()
    return _page(summaries, params, "PipelineExecutionSummaries")


@operation
def list_pipeline_execution_steps(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PipelineExecutionArn"]
    with Records(home) as records:
        records.describe_execution(arn)  # NotFound for an execution not recorded
        steps = [{k: v for k, v in s.items() if k not in STEP_EXTRAS} for s in records.list_steps(arn.rsplit("/", 1)[-1])]
    if params.get("SortOrder") == "Ascending":
        steps.reverse()
    return _page(steps, params, "PipelineExecutionSteps")


@operation
def list_pipeline_parameters_for_execution(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _page(_execution(home, params["PipelineExecutionArn"])["PipelineParameters"], params, "PipelineParameters")


@operation
def describe_pipeline_definition_for_execution(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PipelineExecutionArn"]
    described = _execution(home, arn)
    with Records(home) as records:
        definition = records.definition_of(arn.rsplit("/", 1)[-1])
    return {"PipelineDefinition": json.dumps(definition), "CreationTime": described["CreationTime"]}


@operation
def stop_pipeline_execution(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    """SIGTERM to the execution's runner: running jobs are stopped, nothing new starts, and the
    execution ends Stopped (its runner's ``stop_on_sigterm``)."""
    arn = params["PipelineExecutionArn"]
    described = _execution(home, arn)
    if described["PipelineExecutionStatus"] != "Executing":
        raise ApiError("ValidationException", f"Pipeline execution {arn} is {described['PipelineExecutionStatus']}: only an Executing execution can be stopped")
    with Records(home) as records:
        row = records.runner_of(arn.rsplit("/", 1)[-1])
    pid = int(row.split(":")[1]) if row and row.count(":") >= 1 and row.split(":")[1].isdigit() else None
    if pid is None or pid == os.getpid():
        raise ApiError("ValidationException", f"Pipeline execution {arn} has no runner to stop")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # it ended meanwhile; the records say how
    return {"PipelineExecutionArn": arn}


@operation
def send_pipeline_execution_step_success(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    outputs = {p["Name"]: p["Value"] for p in params.get("OutputParameters") or []}
    return {"PipelineExecutionArn": callbacks.answer(home, params["CallbackToken"], True, outputs)}


@operation
def send_pipeline_execution_step_failure(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return {"PipelineExecutionArn": callbacks.answer(home, params["CallbackToken"], False, failure_reason=params.get("FailureReason") or "")}


# -- the model registry ---------------------------------------------------------------------
@operation
def create_model_package_group(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.registry.store import ModelRegistry

    with ModelRegistry(home) as registry:
        registry.ensure_group(params["ModelPackageGroupName"], params.get("ModelPackageGroupDescription"))
        arn = registry.describe_group(params["ModelPackageGroupName"])["ModelPackageGroupArn"]
    if params.get("Tags"):
        with ApiStore(home) as store:
            store.add_tags(arn, params["Tags"])
    return {"ModelPackageGroupArn": arn}


@operation
def describe_model_package_group(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.registry.store import ModelRegistry

    with ModelRegistry(home) as registry:
        return registry.describe_group(params["ModelPackageGroupName"])


@operation
def list_model_package_groups(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.registry.store import ModelRegistry

    with ModelRegistry(home) as registry:
        groups = registry.list_groups()
    if params.get("SortOrder", "Ascending") == "Descending":
        groups.reverse()
    return _page(groups, params, "ModelPackageGroupSummaryList")


@operation
def create_model_package(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.registry.store import ModelRegistry

    group = params.get("ModelPackageGroupName")
    if not group:
        raise ApiError("ValidationException", "the local registry keeps versioned packages: give ModelPackageGroupName")
    with ModelRegistry(home) as registry:
        described = registry.register(group.rsplit("/", 1)[-1], params)
    return {"ModelPackageArn": described["ModelPackageArn"]}


@operation
def describe_model_package(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.registry.store import ModelRegistry

    with ModelRegistry(home) as registry:
        return registry.describe(params["ModelPackageName"])


@operation
def list_model_packages(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.registry.store import ModelRegistry

    group = params.get("ModelPackageGroupName")
    with ModelRegistry(home) as registry:
        packages = registry.list_packages(group.rsplit("/", 1)[-1] if group else None, params.get("ModelApprovalStatus"))
    if params.get("SortOrder") == "Ascending":
        packages.reverse()
    return _page(packages, params, "ModelPackageSummaryList")


@operation
def update_model_package(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    """UpdateModelPackage's ModelApprovalStatus: an approval deploys to staging, as ``mlops
    registry approve`` does (the EventBridge rule's part on AWS)."""
    from pipelines.registry.store import ModelRegistry
    from pipelines.serving import deploy
    from pipelines.serving.stages import stages

    status = params.get("ModelApprovalStatus")
    with ModelRegistry(home) as registry:
        if status is None:
            return {"ModelPackageArn": registry.describe(params["ModelPackageArn"])["ModelPackageArn"]}
        staging = stages(home)["staging"]
        registry.on_approval(lambda approved: deploy.deploy_package(home, approved["ModelPackageArn"], staging["endpoint"], "staging"))
        described = registry.update_status(params["ModelPackageArn"], status, params.get("ApprovalDescription") or f"UpdateModelPackage: {status}", by="api")
    return {"ModelPackageArn": described["ModelPackageArn"]}


# -- jobs the engine ran ----------------------------------------------------------------------
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
    return protocol.output_members(f"Describe{kind}Job", described)


def _jobs(home: Home, kind: str, name: str | None = None) -> list[dict[str, Any]]:
    with Records(home) as records:
        found = records.jobs(JOB_KINDS[kind][0], name)
    seen: set[str] = set()
    unique = [job for job in found if not (job["name"] in seen or seen.add(job["name"]))]  # a cache hit names its source's job
    return [_job_described(home, kind, job) for job in unique]


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
    if params.get("SortOrder") == "Ascending":
        jobs.reverse()
    summaries = [protocol.output_members("", job, shape=f"{kind}JobSummary") for job in jobs]
    return _page(summaries, params, f"{kind}JobSummaries")


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


# -- models, endpoint configs, endpoints (what mlops serve serves) -----------------------------
@operation
def create_model(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        return {"ModelArn": store.create_model(params["ModelName"], params)["ModelArn"]}


@operation
def describe_model(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        return store.describe_model(params["ModelName"])


@operation
def delete_model(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        store.delete_model(params["ModelName"])
    return {}


@operation
def create_endpoint_config(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        return {"EndpointConfigArn": store.create_endpoint_config(params["EndpointConfigName"], params)["EndpointConfigArn"]}


@operation
def describe_endpoint_config(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        return store.describe_endpoint_config(params["EndpointConfigName"])


@operation
def delete_endpoint_config(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        store.delete_endpoint_config(params["EndpointConfigName"])
    return {}


@operation
def create_endpoint(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    """CreateEndpoint: served by ``mlops serve`` once its model loads (the server follows the
    store); a model that does not load leaves the endpoint Failed, with the reason."""
    from pipelines.serving import deploy
    from pipelines.serving.endpoints import EndpointStore

    name = params["EndpointName"]
    with EndpointStore(home) as store:
        try:
            store.describe_endpoint(name)
        except MlopsError:
            pass
        else:
            raise ApiError("ValidationException", f"Cannot create already existing endpoint \"{store.arn('endpoint', name)}\".")
    return {"EndpointArn": deploy.activate(home, name, params["EndpointConfigName"], params.get("Tags"))["EndpointArn"]}


@operation
def update_endpoint(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.serving import deploy
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        store.describe_endpoint(params["EndpointName"])
    return {"EndpointArn": deploy.activate(home, params["EndpointName"], params["EndpointConfigName"])["EndpointArn"]}


@operation
def describe_endpoint(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        return store.describe_endpoint(params["EndpointName"])


@operation
def list_endpoints(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        endpoints = store.list_endpoints()
    if params.get("NameContains"):
        endpoints = [e for e in endpoints if params["NameContains"].lower() in e["EndpointName"].lower()]
    if params.get("SortOrder", "Descending") == "Descending":
        endpoints.reverse()
    return _page(endpoints, params, "Endpoints")


@operation
def delete_endpoint(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        store.delete_endpoint(params["EndpointName"])
    return {}


# -- monitoring schedules (what mlops monitor keeps) ---------------------------------------------
def _monitoring_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A monitoring execution's summary without what the twin adds (ExecutionId, ReportUri, ...)."""
    return protocol.output_members("", summary, shape="MonitoringExecutionSummary")


@operation
def describe_monitoring_schedule(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.monitor.schedules import MonitoringStore

    with MonitoringStore(home) as store:
        described = store.describe_schedule(params["MonitoringScheduleName"])
    if "LastMonitoringExecutionSummary" in described:
        described["LastMonitoringExecutionSummary"] = _monitoring_summary(described["LastMonitoringExecutionSummary"])
    return described


@operation
def list_monitoring_schedules(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.monitor.schedules import MonitoringStore

    with MonitoringStore(home) as store:
        schedules = store.list_schedules(params.get("EndpointName"))
    if params.get("NameContains"):
        schedules = [s for s in schedules if params["NameContains"].lower() in s["MonitoringScheduleName"].lower()]
    if params.get("StatusEquals"):
        schedules = [s for s in schedules if s["MonitoringScheduleStatus"] == params["StatusEquals"]]
    if params.get("SortOrder", "Descending") == "Descending":
        schedules.reverse()
    return _page(schedules, params, "MonitoringScheduleSummaries")


@operation
def list_monitoring_executions(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.monitor.schedules import MonitoringStore

    with MonitoringStore(home) as store:
        executions = store.list_executions(params.get("MonitoringScheduleName"), limit=100_000, ascending=params.get("SortOrder") == "Ascending")
    if params.get("EndpointName"):
        executions = [e for e in executions if e.get("EndpointName") == params["EndpointName"]]
    if params.get("StatusEquals"):
        executions = [e for e in executions if e["MonitoringExecutionStatus"] == params["StatusEquals"]]
    return _page([_monitoring_summary(e) for e in executions], params, "MonitoringExecutionSummaries")


# -- lineage (SageMaker's lineage model, as the local lineage store keeps it) ---------------
ACTION_STATUS = {"Succeeded": "Completed", "Completed": "Completed", "Failed": "Failed", "Stopped": "Stopped", "Executing": "InProgress", "InProgress": "InProgress"}
LINEAGE_TYPES = {"artifact": "Artifact", "action": "Action", "context": "Context"}


def _lineage_entity(entity: dict[str, Any]) -> dict[str, Any]:
    """Describe<Kind>'s members for one entity of the store."""
    kind = entity["Kind"].capitalize()
    source = {"SourceUri": entity["SourceUri"]} if entity.get("SourceUri") else None
    if source and entity.get("Digest") and kind == "Artifact":
        source["SourceTypes"] = [{"SourceIdType": "Custom", "Value": str(entity["Digest"])}]
    described = {
        f"{kind}Name": entity["Name"][:120], f"{kind}Arn": entity["Arn"], f"{kind}Type": entity["Type"], "Source": source,
        "Properties": {str(k): v if isinstance(v, str) else json.dumps(v, default=str) for k, v in (entity.get("Properties") or {}).items()},
        "CreationTime": entity["CreationTime"], "LastModifiedTime": entity["CreationTime"],
    }  # fmt: skip
    if kind == "Action":
        described["Status"] = ACTION_STATUS.get(str(entity.get("Status")), "Unknown")
    return described


def _lineage_lookup(home: Home, kind: str, name_or_arn: str) -> dict[str, Any]:
    from pipelines.lineage.store import LineageStore

    with LineageStore(home) as store:
        entity = store.entity(name_or_arn) if name_or_arn.startswith("arn:") else next(iter(store.find(kind=kind, name=name_or_arn)), None)
    if entity is None or entity["Kind"] != kind:
        raise ApiError("ResourceNotFound", f"{kind.capitalize()} {name_or_arn} does not exist.")
    return _lineage_entity(entity)


def _lineage_list(home: Home, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.lineage.store import LineageStore

    with LineageStore(home) as store:
        found = store.find(kind=kind, type=params.get(f"{kind.capitalize()}Type"), source_uri=params.get("SourceUri"))
    if params.get("SortOrder", "Descending") == "Descending":
        found.reverse()
    summaries = [protocol.output_members("", _lineage_entity(e), shape=f"{kind.capitalize()}Summary") for e in found]
    return _page(summaries, params, f"{kind.capitalize()}Summaries")


@operation
def describe_artifact(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return protocol.output_members("DescribeArtifact", _lineage_lookup(home, "artifact", params["ArtifactArn"]))


@operation
def describe_action(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return protocol.output_members("DescribeAction", _lineage_lookup(home, "action", params["ActionName"]))


@operation
def describe_context(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return protocol.output_members("DescribeContext", _lineage_lookup(home, "context", params["ContextName"]))


@operation
def list_artifacts(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _lineage_list(home, "artifact", params)


@operation
def list_actions(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _lineage_list(home, "action", params)


@operation
def list_contexts(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _lineage_list(home, "context", params)


@operation
def list_associations(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    from pipelines.lineage.store import LineageStore

    with LineageStore(home) as store:
        if params.get("SourceArn"):
            edges = store.downstream(params["SourceArn"])
        elif params.get("DestinationArn"):
            edges = store.upstream(params["DestinationArn"])
        else:
            raise ApiError("ValidationException", "the local twin lists associations from a SourceArn or to a DestinationArn; give one")
        edges = [e for e in edges if (not params.get("DestinationArn") or e["destination"] == params["DestinationArn"]) and (not params.get("AssociationType") or e["type"] == params["AssociationType"])]
        summaries = []
        for edge in edges:
            source, destination = store.entity(edge["source"]) or {}, store.entity(edge["destination"]) or {}
            summaries.append({
                "SourceArn": edge["source"], "DestinationArn": edge["destination"], "AssociationType": edge["type"], "CreationTime": edge["created"],
                "SourceType": source.get("Type"), "DestinationType": destination.get("Type"), "SourceName": source.get("Name"), "DestinationName": destination.get("Name"),
            })  # fmt: skip
    return _page(summaries, params, "AssociationSummaries")


@operation
def query_lineage(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    """QueryLineage: the entities reachable from StartArns, up (Ascendants), down (Descendants) or
    both, to MaxDepth (10, as SageMaker's default), with the edges between them when asked."""
    from pipelines.lineage.store import LineageStore

    direction, depth = params.get("Direction", "Both"), int(params.get("MaxDepth", 10))
    with LineageStore(home) as store:
        reached: dict[str, dict[str, Any]] = {}
        edges: set[tuple[str, str, str]] = set()
        frontier = [arn for arn in params.get("StartArns") or [] if store.entity(arn)]
        seen = set(frontier)
        for _ in range(depth):
            following = []
            for arn in frontier:
                steps = (store.upstream(arn) if direction in ("Ascendants", "Both") else []) + (store.downstream(arn) if direction in ("Descendants", "Both") else [])
                for edge in steps:
                    other = edge["source"] if edge["destination"] == arn else edge["destination"]
                    edges.add((edge["source"], edge["destination"], edge["type"]))
                    if other not in seen:
                        seen.add(other)
                        following.append(other)
            frontier = following
        for arn in seen - set(params.get("StartArns") or []):
            entity = store.entity(arn)
            if entity:
                reached[arn] = {"Arn": arn, "Type": entity["Type"], "LineageType": LINEAGE_TYPES[entity["Kind"]]}
    answer: dict[str, Any] = {"Vertices": sorted(reached.values(), key=lambda v: v["Arn"])}
    if params.get("IncludeEdges"):
        answer["Edges"] = [{"SourceArn": s, "DestinationArn": d, "AssociationType": t} for s, d, t in sorted(edges) if s in seen and d in seen]
    return answer


# -- tags -----------------------------------------------------------------------------------
@operation
def add_tags(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        store.add_tags(params["ResourceArn"], params["Tags"])
        return {"Tags": store.tags(params["ResourceArn"])}


@operation
def list_tags(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        return _page(store.tags(params["ResourceArn"]), params, "Tags")


@operation
def delete_tags(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        store.delete_tags(params["ResourceArn"], params["TagKeys"])
    return {}


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
