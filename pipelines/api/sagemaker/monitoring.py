"""Monitoring schedules and their executions, as ``mlops monitor`` keeps them."""

from __future__ import annotations

from typing import Any

from pipelines.api import protocol
from pipelines.api.sagemaker.operations import operation, ordered, page
from pipelines.local.home import Home
from pipelines.monitor.schedules import MonitoringStore


def _monitoring_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A monitoring execution's summary without what the twin adds (ExecutionId, ReportUri, ...)."""
    return protocol.shape_members("MonitoringExecutionSummary", summary)


@operation
def describe_monitoring_schedule(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with MonitoringStore(home) as store:
        described = store.describe_schedule(params["MonitoringScheduleName"])
    if "LastMonitoringExecutionSummary" in described:
        described["LastMonitoringExecutionSummary"] = _monitoring_summary(described["LastMonitoringExecutionSummary"])
    return described


@operation
def list_monitoring_schedules(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with MonitoringStore(home) as store:
        schedules = store.list_schedules(params.get("EndpointName"))
    if params.get("NameContains"):
        schedules = [s for s in schedules if params["NameContains"].lower() in s["MonitoringScheduleName"].lower()]
    if params.get("StatusEquals"):
        schedules = [s for s in schedules if s["MonitoringScheduleStatus"] == params["StatusEquals"]]
    return page(ordered(schedules, params, stored="Ascending"), params, "MonitoringScheduleSummaries")


@operation
def list_monitoring_executions(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with MonitoringStore(home) as store:
        executions = store.list_executions(params.get("MonitoringScheduleName"), limit=100_000, ascending=params.get("SortOrder") == "Ascending")
    if params.get("EndpointName"):
        executions = [e for e in executions if e.get("EndpointName") == params["EndpointName"]]
    if params.get("StatusEquals"):
        executions = [e for e in executions if e["MonitoringExecutionStatus"] == params["StatusEquals"]]
    return page([_monitoring_summary(e) for e in executions], params, "MonitoringExecutionSummaries")
