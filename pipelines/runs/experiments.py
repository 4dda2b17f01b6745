"""Experiments: every pipeline execution as an MLflow run, and executions compared side by side.

The tracking store is ``$MLFLOW_TRACKING_URI`` when set (a SageMaker managed MLflow tracking
server's ARN works there, with the ``sagemaker-mlflow`` plugin), else a local SQLite store,
``$MLOPS_HOME/mlflow.db``. A run per execution (tags for the commit and the execution,
parameters, the evaluation and training metrics) with a nested run per step.

MLflow takes a second or two to import and open its store, so the logging is handed to a
background process when an execution ends (``MLOPS_TRACKING``: ``async``, the default;
``sync`` to log before returning; ``off``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from pipelines.core.errors import UsageError
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore

MODE_VARIABLE = "MLOPS_TRACKING"
EXPERIMENT = "credit-default"


def tracking_uri(home: Home) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home.mlflow_db}"


def artifact_location(home: Home) -> str | None:
    """Where the experiment's run artifacts go: under MLOPS_HOME with the local store (MLflow's
    default is ``./mlruns`` of whatever folder the first run was logged from, outside the home
    that ``make clean`` removes); the tracking server's own default with ``$MLFLOW_TRACKING_URI``."""
    return None if os.environ.get("MLFLOW_TRACKING_URI") else (home.root / "mlruns").as_uri()


def tracking_mode() -> str:
    """``$MLOPS_TRACKING``: async (the default), sync or off."""
    mode = os.environ.get(MODE_VARIABLE, "async").lower()
    if mode not in ("async", "sync", "off"):
        raise UsageError(f"{MODE_VARIABLE}={mode!r}: use async, sync or off")
    return mode


def after_execution(home: Home, execution_id: str, mode: str) -> None:
    """Log an ended execution: in a background process (async), before returning (sync), or not (off)."""
    if mode == "off":
        return
    if mode == "sync":
        log_execution(home, execution_id)
        return
    log = home.experiments_log
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        command = [sys.executable, "-m", "pipelines.runs.experiments", str(home.root), execution_id]
        os.posix_spawnp(command[0], command, dict(os.environ), file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)], setsid=True)
    finally:
        os.close(fd)


def summary(home: Home, execution_id: str) -> dict[str, Any]:
    """What an execution was: parameters, per-step facts, metrics, data digests, commit."""
    records = Records(home)
    try:
        described = records.describe_execution(execution_id)
        execution_id = described["PipelineExecutionArn"].rsplit("/", 1)[1]
        steps = list(reversed(records.list_steps(execution_id)))
        properties = {s["StepName"]: records.step_properties(execution_id, s["StepName"]) or {} for s in steps}
        definition = records.definition_of(execution_id)
    finally:
        records.close()
    parameters = {p["Name"]: p["Value"] for p in described["PipelineParameters"]}
    metrics: dict[str, float] = {}
    for props in properties.values():
        for metric in props.get("FinalMetricDataList") or []:
            metrics[metric["MetricName"]] = float(metric["Value"])
    metrics.update(_evaluation(home, definition, properties))
    return {
        "ExecutionId": execution_id,
        "ExecutionArn": described["PipelineExecutionArn"],
        "Status": described["PipelineExecutionStatus"],
        "DisplayName": described.get("PipelineExecutionDisplayName"),
        "Commit": parameters.get("GitCommit"),
        "Parameters": parameters,
        "Metrics": metrics,
        "Steps": steps,
        "StepProperties": properties,
        "DataDigests": _digests(home, execution_id),
    }


def _evaluation(home: Home, definition: dict[str, Any], properties: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The evaluation report's metrics (``binary_classification_metrics``) of the step that has a property file."""
    from pipelines.core.graph import steps as graph_steps

    metrics: dict[str, float] = {}
    store = ObjectStore(home.store)
    for node in graph_steps(definition):
        for declared in node.step.get("PropertyFiles") or []:
            outputs = (properties.get(node.name) or {}).get("ProcessingOutputConfig", {}).get("Outputs", [])
            uri = next((o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == declared["OutputName"]), None)
            if not uri:
                continue
            path = store.path(f"{uri.rstrip('/')}/{declared['FilePath']}")
            if not path.is_file():
                continue
            report = json.loads(path.read_text())
            for section in report.values():
                if isinstance(section, dict):
                    for key, value in section.items():
                        if isinstance(value, dict) and isinstance(value.get("value"), (int, float)):
                            metrics[f"test:{key}"] = float(value["value"])
    return metrics


def _digests(home: Home, execution_id: str) -> dict[str, str]:
    from pipelines.lineage.store import LineageStore

    if not home.lineage_db.exists():
        return {}
    store = LineageStore(home)
    try:
        contexts = store.find("context", "PipelineExecution", name=execution_id)
        if not contexts:
            return {}
        found = {}
        members = [edge["source"] for edge in store.upstream(contexts[0]["Arn"]) if edge["type"] == "AssociatedWith"]
        for member in members:  # this execution's jobs: what each read and what each wrote
            edges = [e["source"] for e in store.upstream(member) if e["type"] == "ContributedTo"]
            edges += [e["destination"] for e in store.downstream(member) if e["type"] == "Produced"]
            for arn in edges:
                entity = store.entity(arn)
                if entity and entity["Kind"] == "artifact" and entity["Type"] in ("DataSet", "Model", "Baseline", "Code") and entity["Digest"]:
                    found[entity["Name"]] = entity["Digest"]
        return found
    finally:
        store.close()


def log_execution(home: Home, execution_id: str) -> str:
    """Log one execution as an MLflow run with nested step runs; returns the run id."""
    import mlflow
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    facts = summary(home, execution_id)
    client = MlflowClient(tracking_uri=tracking_uri(home))
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT, artifact_location=artifact_location(home))
    stamp = 0
    tags = {"mlops.execution_arn": facts["ExecutionArn"], "mlops.status": facts["Status"], "git.commit": facts["Commit"] or "", "mlflow.runName": facts["DisplayName"] or facts["ExecutionId"]}
    parent = client.create_run(experiment_id, tags=tags)
    run_id = parent.info.run_id
    params = [Param(k, str(v)[:6000]) for k, v in facts["Parameters"].items()]
    metrics = [Metric(k.replace(":", "_"), v, stamp, 0) for k, v in facts["Metrics"].items()]
    client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag(f"data.{k}", v[:64]) for k, v in facts["DataDigests"].items()])
    for step in facts["Steps"]:
        props = facts["StepProperties"].get(step["StepName"], {})
        child = client.create_run(
            experiment_id, tags={"mlflow.parentRunId": run_id, "mlflow.runName": step["StepName"], "mlops.step_type": step["StepType"], "mlops.step_status": step["StepStatus"], "mlops.cache_hit": str("CacheHitResult" in step).lower()}
        )
        step_params = [Param(k, str(v)) for k, v in (props.get("HyperParameters") or {}).items()]
        step_metrics = [Metric(m["MetricName"].replace(":", "_"), float(m["Value"]), stamp, 0) for m in props.get("FinalMetricDataList") or []]
        client.log_batch(child.info.run_id, metrics=step_metrics, params=step_params)
        client.set_terminated(child.info.run_id, "FINISHED" if step["StepStatus"] == "Succeeded" else "FAILED")
    client.set_terminated(run_id, "FINISHED" if facts["Status"] == "Succeeded" else "FAILED")
    del mlflow
    return run_id


def compare(home: Home, first: str, second: str) -> list[tuple[str, str, Any, Any]]:
    """(section, name, first value, second value) for every parameter, metric, digest and the commit."""
    a, b = summary(home, first), summary(home, second)
    rows: list[tuple[str, str, Any, Any]] = [("commit", "GitCommit", a["Commit"], b["Commit"]), ("status", "status", a["Status"], b["Status"])]
    for section, key in (("parameter", "Parameters"), ("metric", "Metrics"), ("data", "DataDigests")):
        for name in sorted(set(a[key]) | set(b[key])):
            rows.append((section, name, a[key].get(name), b[key].get(name)))
    return rows


def main(argv: list[str]) -> int:
    home = Home.resolve(argv[0])
    print(log_execution(home, argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
