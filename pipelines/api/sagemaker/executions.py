"""Pipelines and their executions: CreatePipeline ... StartPipelineExecution (recorded at once,
run by a runner of its own: ``runs/background.py``), the steps, the callbacks."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from pipelines.api.protocol import ApiError
from pipelines.api.sagemaker.operations import operation, ordered, page
from pipelines.api.store import ApiStore
from pipelines.build import parameters as parameter_values
from pipelines.engine import callbacks
from pipelines.engine.orchestrator import new_execution_id
from pipelines.engine.records import Records
from pipelines.local.home import Home

STEP_EXTRAS = ("LogPath", "StepType")  # what ``mlops executions steps --json`` adds to AWS's shape


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
    return page(ordered(summaries, params, stored="Ascending"), params, "PipelineSummaries")


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
    return page(ordered(summaries, params), params, "PipelineExecutionSummaries")


@operation
def list_pipeline_execution_steps(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PipelineExecutionArn"]
    with Records(home) as records:
        records.describe_execution(arn)  # NotFound for an execution not recorded
        steps = [{k: v for k, v in s.items() if k not in STEP_EXTRAS} for s in records.list_steps(arn.rsplit("/", 1)[-1])]
    return page(ordered(steps, params), params, "PipelineExecutionSteps")


@operation
def list_pipeline_parameters_for_execution(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return page(_execution(home, params["PipelineExecutionArn"])["PipelineParameters"], params, "PipelineParameters")


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
