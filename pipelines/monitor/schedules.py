"""Monitoring schedules, their executions and drift alarms, kept under ``MLOPS_HOME``.

Schedules answer in DescribeMonitoringSchedule's shape and executions in
ListMonitoringExecutions', with SageMaker's statuses (Pending, InProgress, Completed,
CompletedWithViolations, Failed). Schedule expressions are checked with SageMaker's rules:
``cron(0 * ? * * *)`` (hourly), ``cron(0 H ? * * *)`` (daily at H), ``cron(0 H/X ? * * *)``
(every X hours from H) and ``NOW`` (once, with DataAnalysisStartTime/EndTime offsets such as
``-PT1H``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pipelines.core import shapes
from pipelines.core.errors import AlreadyExists, NotFound, UsageError
from pipelines.local.database import Database
from pipelines.local.home import Home
from pipelines.monitor import types
from pipelines.monitor.job.common import hours
from pipelines.monitor.job.common.objects import split
from pipelines.monitor.job.common.result import CONSTRAINTS, STATISTICS, JobFailed

HOURLY = "cron(0 * ? * * *)"
_COLUMNS = {  # added after the first release: (table, column, definition)
    ("monitoring_executions", "job_arn"): "TEXT",
    ("schedules", "monitoring_type"): "TEXT NOT NULL DEFAULT 'DataQuality'",
    ("schedules", "ground_truth_uri"): "TEXT",
    ("alarms", "comparison"): "TEXT NOT NULL DEFAULT 'GreaterThanThreshold'",
    ("monitoring_executions", "previous"): "TEXT",
}
# What a rerun of a finished hour keeps aside, to put back if the rerun fails.
_KEPT = ("status", "modified", "failure_reason", "report_uri", "violations", "metrics", "window_start", "window_end", "job_arn")
_CRON = re.compile(r"^cron\(0 (?P<hours>\*|\d{1,2}(?:/\d{1,2})?) \? \* \* \*\)$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    name TEXT PRIMARY KEY, endpoint TEXT NOT NULL, expression TEXT NOT NULL,
    start_offset TEXT, end_offset TEXT, status TEXT NOT NULL,
    capture_uri TEXT NOT NULL, statistics_uri TEXT NOT NULL, constraints_uri TEXT NOT NULL,
    output_uri TEXT NOT NULL, created TEXT NOT NULL, modified TEXT NOT NULL,
    monitoring_type TEXT NOT NULL DEFAULT 'DataQuality', ground_truth_uri TEXT
);
CREATE TABLE IF NOT EXISTS monitoring_executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, schedule TEXT NOT NULL, scheduled_time TEXT NOT NULL,
    status TEXT NOT NULL, created TEXT NOT NULL, modified TEXT NOT NULL, failure_reason TEXT,
    report_uri TEXT, violations INTEGER, metrics TEXT, window_start TEXT, window_end TEXT,
    job_arn TEXT, previous TEXT, UNIQUE (schedule, scheduled_time)
);
CREATE TABLE IF NOT EXISTS alarms (
    name TEXT PRIMARY KEY, schedule TEXT NOT NULL, feature TEXT NOT NULL, threshold REAL NOT NULL,
    periods INTEGER NOT NULL, action TEXT NOT NULL, state TEXT NOT NULL, created TEXT NOT NULL,
    comparison TEXT NOT NULL DEFAULT 'GreaterThanThreshold'
);
CREATE TABLE IF NOT EXISTS alarm_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, alarm TEXT NOT NULL, time TEXT NOT NULL,
    decision TEXT NOT NULL, reason TEXT NOT NULL, pipeline_execution_arn TEXT
);
"""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Cron:
    """A validated schedule expression."""

    expression: str
    start_hour: int | None  # None: every hour
    every: int  # hours between executions
    once: bool = False

    @classmethod
    def parse(cls, expression: str) -> "Cron":
        text = expression.strip()
        if text == "NOW":
            return cls(text, None, 0, once=True)
        match = _CRON.match(text)
        if not match:
            raise UsageError(
                f"schedule expression {expression!r} is not one SageMaker accepts: use {HOURLY} (hourly), "
                "cron(0 H ? * * *) (daily at hour H, 0-23), cron(0 H/X ? * * *) (every X hours from H) or NOW"
            )
        hours = match["hours"]
        if hours == "*":
            return cls(text, None, 1)
        start, _, every = hours.partition("/")
        if not 0 <= int(start) <= 23:
            raise UsageError(f"schedule expression {expression!r}: the hour must be 0-23")
        if every and not 1 <= int(every) <= 24:
            raise UsageError(f"schedule expression {expression!r}: the interval must be 1-24 hours")
        return cls(text, int(start), int(every) if every else 24)

    def times(self, after: datetime, until: datetime) -> list[datetime]:
        """Scheduled times in (after, until], on the hour."""
        if self.once:
            return []
        moment = after.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        found = []
        while moment <= until:
            if self.start_hour is None or (moment.hour - self.start_hour) % self.every == 0 and (self.every != 24 or moment.hour == self.start_hour):
                found.append(moment)
            moment += timedelta(hours=1)
        return found


def parse_offset(text: str, what: str) -> timedelta:
    """``-PT1H``, ``-PT30M``, ``PT0H`` -> a timedelta (SageMaker's DataAnalysis offsets), by the
    job's own parser; a wrong one is the user's mistake here."""
    try:
        return hours.offset(text, what)
    except JobFailed as exc:
        raise UsageError(str(exc)) from None


def analysis_window(expression: Cron, scheduled: datetime, start_offset: str | None, end_offset: str | None, monitoring_type: str = "DataQuality") -> tuple[datetime, datetime]:
    """The data an execution analyses: by default the previous full hour (model quality: the
    hour before that, so its labels had an hour to arrive)."""
    start_offset, end_offset = (start_offset, end_offset) if start_offset and end_offset else types.get(monitoring_type).offsets
    return scheduled + parse_offset(start_offset, "DataAnalysisStartTime"), scheduled + parse_offset(end_offset, "DataAnalysisEndTime")


class MonitoringStore(Database):
    def __init__(self, home: Home) -> None:
        self.home = home
        super().__init__(home.monitoring_db, SCHEMA)
        for (table, column), definition in _COLUMNS.items():  # a home from an earlier release
            if column in {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}:
                continue
            try:
                with self._write() as db:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):  # another process added it meanwhile
                    raise

    def arn(self, name: str) -> str:
        return self.home.arn("monitoring-schedule", name)

    # -- schedules --------------------------------------------------------------------------
    def create_schedule(
        self, name: str, endpoint: str, expression: str, capture_uri: str, statistics_uri: str, constraints_uri: str, output_uri: str,
        start_offset: str | None = None, end_offset: str | None = None, monitoring_type: str = "DataQuality", ground_truth_uri: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A schedule of ``monitoring_type`` DataQuality (capture against a data-quality
        baseline), ModelQuality (captured predictions merged with ground truth under
        ``ground_truth_uri``, against model-quality constraints; ``statistics_uri`` then is the
        model-quality baseline's statistics, drawn in the timeline), ModelBias (the same merge,
        Clarify's bias metrics against the bias baseline's analysis.json; ``statistics_uri`` is
        its analysis_config.json) or ModelExplainability (SHAP of the captured requests by the
        endpoint's model against the explanation baseline's analysis.json; ``statistics_uri`` is
        its analysis_config.json)."""
        kind = types.get(monitoring_type)
        if kind.ground_truth and not ground_truth_uri:
            raise UsageError(f"a {monitoring_type} schedule needs the ground truth's S3 prefix (mlops monitor ground-truth upload writes there)")
        if not kind.ground_truth and ground_truth_uri:
            raise UsageError(f"ground truth is for {' and '.join(t.name for t in types.TABLE if t.ground_truth)} schedules; a {monitoring_type} schedule reads the capture alone")
        for field, value, shape in (("schedule name", name, "MonitoringScheduleName"), ("endpoint", endpoint, "EndpointName")):
            problem = shapes.name_problem(value, shape)
            if problem:
                raise UsageError(f"{field}: {problem}")
        cron = Cron.parse(expression)
        if cron.once:
            if not (start_offset and end_offset):
                raise UsageError("a NOW schedule needs DataAnalysisStartTime and DataAnalysisEndTime offsets (e.g. -PT1H and -PT0H)")
        if start_offset or end_offset:
            if not (start_offset and end_offset):
                raise UsageError("give both DataAnalysisStartTime and DataAnalysisEndTime, or neither")
            begin, end = parse_offset(start_offset, "DataAnalysisStartTime"), parse_offset(end_offset, "DataAnalysisEndTime")
            if begin >= end:
                raise UsageError("DataAnalysisStartTime must come before DataAnalysisEndTime")
            if end - begin > timedelta(hours=24):
                raise UsageError("DataAnalysisEndTime must not follow DataAnalysisStartTime by more than 24 hours")
        uris = (("capture", capture_uri), ("baseline statistics", statistics_uri), ("baseline constraints", constraints_uri), ("output", output_uri), ("ground truth", ground_truth_uri))
        for field, value in [(f, v) for f, v in uris if v is not None]:
            try:
                split(value)
            except ValueError as exc:
                raise UsageError(f"{field}: {exc}; the monitoring job reads and writes S3 (on the twin, its store)") from exc
        objects = self.home.objects()
        for field, value in (("baseline statistics", statistics_uri), ("baseline constraints", constraints_uri)):
            if not objects.exists(value):
                raise NotFound(f"{field} {value}: nothing there in the local store; give the baseline a package registered (its DriftCheckBaselines name them)")
        now = iso(utcnow())
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO schedules (name, endpoint, expression, start_offset, end_offset, status, capture_uri, statistics_uri, constraints_uri, output_uri, "
                    "created, modified, monitoring_type, ground_truth_uri) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (name, endpoint, cron.expression, start_offset, end_offset, "Scheduled", capture_uri, statistics_uri, constraints_uri, output_uri, now, now, monitoring_type, ground_truth_uri),
                )
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"a monitoring schedule named {name!r} already exists") from exc
        return self.describe_schedule(name)

    def _row(self, name: str) -> sqlite3.Row:
        row = self._db.execute("SELECT * FROM schedules WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no monitoring schedule {name!r}")
        return row

    def schedule(self, name: str) -> dict[str, Any]:
        return dict(self._row(name))

    def describe_schedule(self, name: str) -> dict[str, Any]:
        """DescribeMonitoringSchedule's shape."""
        row = self._row(name)
        config: dict[str, Any] = {"ScheduleExpression": row["expression"]}
        if row["start_offset"]:
            config.update({"DataAnalysisStartTime": row["start_offset"], "DataAnalysisEndTime": row["end_offset"]})
        kind = types.get(row["monitoring_type"])
        environment = {"dataset_source": row["capture_uri"], **kind.environment}
        if kind.ground_truth:
            environment["ground_truth_source"] = row["ground_truth_uri"]
        baseline: dict[str, Any] = {"ConstraintsResource": {"S3Uri": row["constraints_uri"]}}
        application: dict[str, Any] = {"ImageUri": "sagemaker-model-monitor-analyzer (local: python -m pipelines.monitor.job.environment)"}
        if kind.clarify:  # Clarify's job definitions: the analysis configuration is ConfigUri
            application = {"ImageUri": "the analyzer bundle's Clarify jobs (pipelines/monitor/job/clarify/jobs.py)", "ConfigUri": row["statistics_uri"]}
        else:
            baseline["StatisticsResource"] = {"S3Uri": row["statistics_uri"]}
        described = {
            "MonitoringScheduleArn": self.arn(name),
            "MonitoringScheduleName": name,
            "MonitoringScheduleStatus": row["status"],
            "MonitoringType": row["monitoring_type"],
            "CreationTime": row["created"],
            "LastModifiedTime": row["modified"],
            "EndpointName": row["endpoint"],
            "MonitoringScheduleConfig": {
                "ScheduleConfig": config,
                "MonitoringJobDefinition": {
                    "BaselineConfig": baseline,
                    "MonitoringInputs": [{"EndpointInput": {"EndpointName": row["endpoint"], "LocalPath": "/opt/ml/processing/input/endpoint"}}],
                    "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": row["output_uri"], "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
                    "MonitoringAppSpecification": application,
                    "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
                    "RoleArn": f"arn:aws:iam::{self.home.account}:role/SageMakerExecutionRole",
                    "Environment": environment,
                },
            },
        }
        last = self.list_executions(name, limit=1)
        if last:
            described["LastMonitoringExecutionSummary"] = last[0]
        return described

    def list_schedules(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM schedules WHERE ? IS NULL OR endpoint=? ORDER BY created", (endpoint, endpoint)).fetchall()
        return [
            {
                "MonitoringScheduleName": r["name"],
                "MonitoringScheduleArn": self.arn(r["name"]),
                "MonitoringScheduleStatus": r["status"],
                "EndpointName": r["endpoint"],
                "CreationTime": r["created"],
                "LastModifiedTime": r["modified"],
                "MonitoringType": r["monitoring_type"],
            }
            for r in rows
        ]

    def set_status(self, name: str, status: str) -> None:
        self._row(name)
        with self._write() as db:
            db.execute("UPDATE schedules SET status=?, modified=? WHERE name=?", (status, iso(utcnow()), name))

    def delete_schedule(self, name: str) -> None:
        self._row(name)
        with self._write() as db:
            db.execute("DELETE FROM alarm_events WHERE alarm IN (SELECT name FROM alarms WHERE schedule=?)", (name,))
            db.execute("DELETE FROM alarms WHERE schedule=?", (name,))
            db.execute("DELETE FROM monitoring_executions WHERE schedule=?", (name,))
            db.execute("DELETE FROM schedules WHERE name=?", (name,))

    # -- executions -------------------------------------------------------------------------
    def start_execution(self, schedule: str, scheduled: datetime, window_start: datetime, window_end: datetime, replace: bool = False) -> int | None:
        """Record an execution as InProgress; None when that scheduled time already ran, unless
        ``replace`` (a backfill) says the new one takes the finished one's place: the finished
        one's result is kept aside until the new one ends, and put back if it fails."""
        now = iso(utcnow())
        try:
            with self._write() as db:
                if replace:
                    row = db.execute("SELECT * FROM monitoring_executions WHERE schedule=? AND scheduled_time=? AND status!='InProgress'", (schedule, iso(scheduled))).fetchone()
                    if row is not None:
                        db.execute(
                            "UPDATE monitoring_executions SET status='InProgress', modified=?, failure_reason=NULL, window_start=?, window_end=?, previous=? WHERE id=?",
                            (now, iso(window_start), iso(window_end), json.dumps({k: row[k] for k in _KEPT}), row["id"]),
                        )  # fmt: skip
                        return int(row["id"])
                cursor = db.execute(
                    "INSERT INTO monitoring_executions (schedule, scheduled_time, status, created, modified, window_start, window_end) VALUES (?,?,?,?,?,?,?)",
                    (schedule, iso(scheduled), "InProgress", now, now, iso(window_start), iso(window_end)),
                )
                return int(cursor.lastrowid)
        except sqlite3.IntegrityError:
            return None

    def end_execution(self, execution_id: int, status: str, failure_reason: str | None = None, report_uri: str | None = None, violations: int | None = None, metrics: dict[str, float] | None = None, job_arn: str | None = None) -> str | None:
        """Record how an execution ended. A failed rerun puts back the result it replaced, and
        returns that result's status (None otherwise): a backfill never loses a finished hour."""
        with self._write() as db:
            row = db.execute("SELECT previous FROM monitoring_executions WHERE id=?", (execution_id,)).fetchone()
            previous = json.loads(row["previous"]) if row is not None and row["previous"] else None
            if status == "Failed" and previous is not None:
                assignments = ", ".join(f"{k}=?" for k in _KEPT)
                db.execute(f"UPDATE monitoring_executions SET {assignments}, previous=NULL WHERE id=?", (*(previous[k] for k in _KEPT), execution_id))
                return str(previous["status"])
            db.execute(
                "UPDATE monitoring_executions SET status=?, modified=?, failure_reason=?, report_uri=?, violations=?, metrics=?, job_arn=?, previous=NULL WHERE id=?",
                (status, iso(utcnow()), failure_reason, report_uri, violations, json.dumps(metrics or {}), job_arn, execution_id),
            )
        return None

    def last_scheduled_time(self, schedule: str) -> datetime | None:
        row = self._db.execute("SELECT MAX(scheduled_time) AS t FROM monitoring_executions WHERE schedule=?", (schedule,)).fetchone()
        return datetime.strptime(row["t"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) if row and row["t"] else None

    def list_executions(self, schedule: str | None = None, limit: int = 100, ascending: bool = False) -> list[dict[str, Any]]:
        """ListMonitoringExecutions' MonitoringExecutionSummaries (newest first unless ``ascending``)."""
        order = "ASC" if ascending else "DESC"
        rows = self._db.execute(
            f"SELECT e.*, s.endpoint, s.monitoring_type FROM monitoring_executions e JOIN schedules s ON s.name=e.schedule WHERE ? IS NULL OR e.schedule=? ORDER BY e.scheduled_time {order} LIMIT ?",
            (schedule, schedule, limit),
        ).fetchall()
        return [_summary(r, self.home) for r in rows]

    def execution(self, execution_id: int) -> dict[str, Any]:
        row = self._db.execute("SELECT e.*, s.endpoint, s.monitoring_type FROM monitoring_executions e JOIN schedules s ON s.name=e.schedule WHERE e.id=?", (execution_id,)).fetchone()
        if row is None:
            raise NotFound(f"no monitoring execution {execution_id}")
        return _summary(row, self.home)

    # -- alarms -----------------------------------------------------------------------------
    def create_alarm(self, name: str, schedule: str, watched: str | None, threshold: float | None, periods: int, action: str = "retrain") -> dict[str, Any]:
        """An alarm on what the schedule's type watches (``types.py``): a data-quality schedule's
        feature drift (``*``: any feature), or another type's metric (``auc``,
        ``bias_metric_DI.SEX=2``, ``feature_attribution_ndcg``); its comparison, and its threshold
        when none is given, are the type's."""
        row = self._row(schedule)
        if periods < 1:
            raise UsageError("an alarm's periods must be at least 1")
        rule = types.get(row["monitoring_type"]).alarm(schedule, watched, threshold, ScheduleBaseline(self.home, dict(row)))
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO alarms (name, schedule, feature, threshold, periods, action, state, created, comparison) VALUES (?,?,?,?,?,?,?,?,?)",
                    (name, schedule, rule.watched, rule.threshold, periods, action, "OK", iso(utcnow()), rule.comparison),
                )
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"an alarm named {name!r} already exists") from exc
        return self.alarm(name)

    def alarm(self, name: str) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM alarms WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no alarm {name!r}")
        return dict(row)

    def alarms(self, schedule: str | None = None) -> list[dict[str, Any]]:
        return [dict(r) for r in self._db.execute("SELECT * FROM alarms WHERE ? IS NULL OR schedule=? ORDER BY created", (schedule, schedule)).fetchall()]

    def delete_alarm(self, name: str) -> None:
        self.alarm(name)
        with self._write() as db:
            db.execute("DELETE FROM alarm_events WHERE alarm=?", (name,))
            db.execute("DELETE FROM alarms WHERE name=?", (name,))

    def set_alarm_state(self, name: str, state: str) -> None:
        with self._write() as db:
            db.execute("UPDATE alarms SET state=? WHERE name=?", (state, name))

    def record_decision(self, alarm: str, decision: str, reason: str, execution_arn: str | None = None) -> None:
        with self._write() as db:
            db.execute("INSERT INTO alarm_events (alarm, time, decision, reason, pipeline_execution_arn) VALUES (?,?,?,?,?)", (alarm, iso(utcnow()), decision, reason, execution_arn))

    def set_decision_execution(self, decision_id: int, execution_arn: str) -> None:
        with self._write() as db:
            db.execute("UPDATE alarm_events SET pipeline_execution_arn=? WHERE id=?", (execution_arn, decision_id))

    def decisions(self, alarm: str | None = None) -> list[dict[str, Any]]:
        return [dict(r) for r in self._db.execute("SELECT * FROM alarm_events WHERE ? IS NULL OR alarm=? ORDER BY id", (alarm, alarm)).fetchall()]


class ScheduleBaseline:
    """A schedule's baseline documents (``types.Baseline``), read from the store: each URI names
    the file, or the folder holding it."""

    def __init__(self, home: Home, row: dict[str, Any]) -> None:
        self.home, self.row = home, row

    def _read(self, uri: str, name: str) -> dict[str, Any]:
        from pipelines.monitor.job.data_quality import analyzer

        document = json.loads(analyzer.baseline_file(self.home.objects().path(uri), name, uri).read_text())
        if not isinstance(document, dict):
            raise ValueError(f"{uri} is not a JSON object")
        return document

    def statistics(self) -> dict[str, Any]:
        return self._read(self.row["statistics_uri"], STATISTICS)

    def constraints(self) -> dict[str, Any]:
        return self._read(self.row["constraints_uri"], CONSTRAINTS)


def _summary(row: sqlite3.Row, home: Home) -> dict[str, Any]:
    summary = {
        "MonitoringScheduleName": row["schedule"],
        "ScheduledTime": row["scheduled_time"],
        "CreationTime": row["created"],
        "LastModifiedTime": row["modified"],
        "MonitoringExecutionStatus": row["status"],
        "ProcessingJobArn": row["job_arn"] or home.arn("processing-job", f"model-monitoring-{row['id']:012d}"),
        "EndpointName": row["endpoint"],
        "MonitoringType": row["monitoring_type"],
        "FailureReason": row["failure_reason"],
        "ExecutionId": row["id"],
        "ReportUri": row["report_uri"],
        "Violations": row["violations"],
        "AnalysisWindow": {"Start": row["window_start"], "End": row["window_end"]},
        "Metrics": json.loads(row["metrics"]) if row["metrics"] else {},
    }
    return {k: v for k, v in summary.items() if v is not None}
