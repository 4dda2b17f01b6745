"""Questions asked of the local monitoring records: the violations of an execution as a table,
and where a schedule's reports are. What the CLI prints, and what a notebook reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.core.errors import UsageError
from pipelines.local.home import Home
from pipelines.local.store import is_s3
from pipelines.monitor import types
from pipelines.monitor.job.common.result import STATISTICS, VIOLATIONS
from pipelines.monitor.schedules import MonitoringStore


def _local(home: Home, uri: str) -> Path:
    return home.objects().path(uri) if is_s3(uri) else Path(uri)


def violations_frame(home: Home, schedule: str | None = None, execution_id: int | None = None) -> Any:
    """The violations of an execution (the latest with a report by default) as a pandas DataFrame."""
    import pandas as pd

    with MonitoringStore(home) as schedules:
        if execution_id is not None:
            item = schedules.execution(execution_id)
        else:
            if schedule is not None:
                schedules.schedule(schedule)  # NotFound, naming it, for a schedule that does not exist
            reported = [e for e in schedules.list_executions(schedule) if e.get("ReportUri")]
            if not reported:
                raise UsageError(f"no monitoring execution{' of ' + schedule if schedule else ''} with a report yet; run `mlops monitor scheduler --once`")
            item = reported[0]
    report = item["ReportUri"]
    path = (_local(home, report)) / VIOLATIONS
    rows = json.loads(path.read_text())["violations"]
    frame = pd.DataFrame(rows, columns=[*types.get(item.get("MonitoringType") or "DataQuality").subjects, "constraint_check_type", "description"])
    frame.attrs.update({"schedule": item["MonitoringScheduleName"], "scheduled_time": item["ScheduledTime"], "status": item["MonitoringExecutionStatus"]})
    return frame


def report_paths(home: Home, schedule: str) -> tuple[Path, Path | None]:
    """The schedule's ``timeline.html``, and its latest execution's report (``report.html``, else
    its statistics.json) when one has run."""
    with MonitoringStore(home) as schedules:
        row = schedules.schedule(schedule)
        latest = [e for e in schedules.list_executions(schedule) if e.get("ReportUri")]
    timeline = _local(home, f"{row['output_uri'].rstrip('/')}/{row['endpoint']}/{schedule}") / "timeline.html"
    if not latest:
        return timeline, None
    folder = _local(home, latest[0]["ReportUri"])
    page = folder / "report.html"
    return timeline, page if page.is_file() else folder / STATISTICS
