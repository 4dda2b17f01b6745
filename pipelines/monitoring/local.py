"""The monitoring pipeline on the local engine: the local scheduler's ``MonitoringJob``.

``mlops monitor scheduler``, ``mlops monitor run`` and the demo analyse each window as an
execution of the same definition EventBridge Scheduler starts on AWS (``pipeline.py``): the
engine runs the analyzer bundle as a processing job, which reads the window's capture hours
from the store, writes Model Monitor's files and sets its ExitMessage. The verdict is read back
from what the job wrote, as a client of the real service would read it.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cached_property
from typing import Any

from pipelines.core.errors import UsageError
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.monitor import types
from pipelines.monitor.job.common import hours
from pipelines.monitor.job.common.result import METRICS, VIOLATIONS
from pipelines.monitor.scheduler import JobOutcome, Window
from pipelines.monitor.schedules import iso
from pipelines.runs import local_run

MODULE = "pipelines.monitoring.pipeline"


def offset(moment: datetime, scheduled: datetime) -> str:
    """``moment`` relative to ``scheduled`` as the job's --start-offset/--end-offset: -PT1H, -PT90M."""
    try:
        return hours.format_offset(moment - scheduled)
    except ValueError:
        raise UsageError(f"the window bound {iso(moment)} is not a whole number of minutes from the scheduled time {iso(scheduled)}") from None


class PipelineJob:
    """Runs the monitoring pipeline for one window on ``home``'s engine.

    The definition is rendered once (offline, with the SDK) from ``kwargs`` for
    ``pipelines.monitoring.pipeline.get_pipeline``; every window is an execution of it with the
    schedule's values as parameters. Nothing is cached: a late capture file is analysed when
    its hour runs again.
    """

    def __init__(self, home: Home, kwargs: dict[str, Any] | None = None) -> None:
        self.home = home
        self.kwargs = dict(kwargs or {})

    @cached_property
    def definition(self) -> tuple[dict[str, Any], str]:
        return local_run.load_definition(MODULE, self.kwargs, None, None)

    def parameters(self, window: Window) -> dict[str, str]:
        return {
            "ScheduledTime": iso(window.scheduled),
            "EndpointName": window.endpoint,
            "ScheduleName": window.schedule,
            "CaptureUri": window.capture_uri.rstrip("/"),
            "BaselineStatisticsUri": window.statistics_uri,
            "BaselineConstraintsUri": window.constraints_uri,
            "OutputUri": window.output_uri.rstrip("/"),
            "StartOffset": offset(window.start, window.scheduled),
            "EndOffset": offset(window.end, window.scheduled),
            "PublishMetrics": "false",  # no CloudWatch here: the metrics stay in cloudwatch_metrics.json
            "MonitoringType": window.monitoring_type,
            **({"GroundTruthUri": window.ground_truth_uri.rstrip("/")} if window.ground_truth_uri else {}),
            **({"GroundTruthUntil": iso(window.ground_truth_until)} if window.ground_truth_until else {}),
            **{name: self.input(name, window) for name in types.get(window.monitoring_type).inputs},
        }

    def input(self, name: str, window: Window) -> str:
        """A parameter a monitoring type needs beyond the common ones (``types.MonitoringType.inputs``)."""
        if name == "BiasConfigUri":  # a bias schedule keeps its analysis configuration as its statistics
            return window.statistics_uri
        if name == "ModelDataUrl":
            return self.model_of(window.endpoint)
        raise UsageError(f"the monitoring pipeline has no parameter {name!r} to fill")

    def model_of(self, endpoint: str) -> str:
        """The model the endpoint serves now (its first variant's ModelDataUrl): what the
        explainability monitor explains, as Clarify's explained the endpoint's model."""
        from pipelines.serving.endpoints import EndpointStore

        with EndpointStore(self.home) as store:
            live = store.endpoint_config_of(endpoint)
        if live is None:
            raise UsageError(f"endpoint {endpoint} is not in service: the feature-attribution monitor explains the model it serves")
        return live[1][0]["PrimaryContainer"]["ModelDataUrl"]

    def run(self, window: Window) -> JobOutcome:
        document, name = self.definition
        description = f"monitoring {window.schedule} at {iso(window.scheduled)}"
        result = local_run.run(self.home, document, name, self.parameters(window), None, description=description, max_parallel=1, bundled_data=False, use_cache=False, tracking="off")
        with Records(self.home) as records:
            steps = records.list_steps(result.execution_id)
            properties = records.step_properties(result.execution_id, types.get(window.monitoring_type).step) or {}
        job_arn = next((s["Metadata"]["ProcessingJob"]["Arn"] for s in steps if "ProcessingJob" in s.get("Metadata", {})), None)
        if result.status != "Succeeded":
            reason = properties.get("ExitMessage") or result.failure_reason or f"{name} execution {result.execution_id} ended {result.status}"
            return JobOutcome("Failed", failure_reason=reason, job_arn=job_arn)
        written = self.home.objects().path(window.report_uri)
        violations = json.loads((written / VIOLATIONS).read_text())["violations"]
        metrics = json.loads((written / METRICS).read_text())["metrics"]
        status = "CompletedWithViolations" if violations else "Completed"
        return JobOutcome(status, len(violations), metrics, job_arn=job_arn)
