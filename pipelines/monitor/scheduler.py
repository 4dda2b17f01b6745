"""Running monitoring executions: due ones, backfilled ones, on-demand ones; and drift alarms.

An execution scheduled at ``t`` analyses the previous full hour ``[t-1h, t)`` of the endpoint's
capture (or the schedule's DataAnalysisStartTime/EndTime offsets). The analysis itself is a
``MonitoringJob``: on the local twin, an execution of the monitoring pipeline on the local
engine (``pipelines/monitoring/local.py``), the definition EventBridge Scheduler starts on AWS.
The job writes SageMaker's files and an HTML report to
``{output}/{endpoint}/{schedule}/yyyy/mm/dd/hh/``; this records its status (Completed,
CompletedWithViolations, Failed) and per-feature metrics named as in CloudWatch
(``feature_baseline_drift_<name>``, ``feature_non_null_<name>``, ...).

After each execution the schedule's alarms are evaluated: an alarm breaches when its feature's
drift (or any feature's, for ``*``) exceeds its threshold; ``periods`` breaching executions in
a row put it in ALARM, and the move to ALARM starts a retraining run of the pipeline, unless
the alarm's previous retraining run is still in progress. Every decision is recorded with its
reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pipelines.core.errors import Conflict, UsageError
from pipelines.lineage import recorder as lineage
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore, is_s3
from pipelines.monitor import types
from pipelines.monitor.schedules import Cron, MonitoringStore, ScheduleBaseline, analysis_window, iso, parse_offset, utcnow

logger = logging.getLogger(__name__)


@dataclass
class ExecutionOutcome:
    schedule: str
    scheduled: datetime
    status: str
    violations: int
    report: str | None
    failure_reason: str | None = None


@dataclass(frozen=True)
class Window:
    """What one monitoring execution analyses, against what, and where its files go."""

    endpoint: str
    schedule: str
    scheduled: datetime
    start: datetime
    end: datetime
    capture_uri: str  # the endpoint's capture is under {capture_uri}/{endpoint}/
    statistics_uri: str
    constraints_uri: str
    output_uri: str  # files go to {output_uri}/{endpoint}/{schedule}/yyyy/mm/dd/hh/
    monitoring_type: str = "DataQuality"  # or ModelQuality, ModelBias, ModelExplainability
    ground_truth_uri: str = ""  # (ModelQuality, ModelBias) labels under {ground_truth_uri}/{endpoint}/yyyy/mm/dd/hh/
    ground_truth_until: datetime | None = None  # (ModelQuality, ModelBias) labels collected until then; None: until `scheduled`

    @property
    def report_uri(self) -> str:
        return f"{self.output_uri.rstrip('/')}/{self.endpoint}/{self.schedule}/{self.scheduled:%Y/%m/%d/%H}"


@dataclass
class JobOutcome:
    """How a monitoring job ended: its status in SageMaker's words and what it measured."""

    status: str  # Completed, CompletedWithViolations or Failed
    violations: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    failure_reason: str | None = None
    job_arn: str | None = None  # the processing job that ran it


class MonitoringJob(Protocol):
    """What analyses one window: the monitoring pipeline, on the local engine or elsewhere."""

    def run(self, window: Window) -> JobOutcome:
        """Analyse ``window`` and write its files; a job that cannot is Failed with its reason."""


class NothingToRetrain(Exception):
    """A retraining not started: there is no new data to train on; the message says why."""


class Retrainer(Protocol):
    """What the monitor asks for retraining: start it, and whether it still runs."""

    def start(self, alarm: str, reason: str, window: Window) -> str:
        """Start a retraining run for ``alarm``, which ``window``'s execution put in ALARM; the
        pipeline execution's ARN (or a handle to it). NothingToRetrain when there is nothing new."""

    def running(self, handle: str) -> bool:
        """Whether the run that ``start`` returned ``handle`` for is still in progress."""

    def resolve(self, handle: str) -> str:
        """What ``handle`` stands for once it is known (a pipeline execution's ARN), else itself."""


class Monitor:
    def __init__(self, home: Home, retrainer: Retrainer, job: MonitoringJob) -> None:
        self.home = home
        self.store = ObjectStore(home.store)
        self.schedules = MonitoringStore(home)
        self.retrainer = retrainer
        self.job = job

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.schedules.close()

    # -- running ----------------------------------------------------------------------------
    def run_due(self, now: datetime | None = None, backfill_from: datetime | None = None, only: list[str] | None = None) -> list[ExecutionOutcome]:
        """Every execution due up to ``now`` that has not run, oldest first.

        Executions are due at the schedule's times after its last execution (or its creation);
        ``backfill_from`` reaches back instead to the times after that moment, so that past hours
        of capture are analysed too. ``only`` limits it to the schedules named.
        """
        now = now or utcnow()
        outcomes = []
        for item in self.schedules.list_schedules():
            if item["MonitoringScheduleStatus"] != "Scheduled":
                continue
            name = item["MonitoringScheduleName"]
            if only is not None and name not in only:
                continue
            row = self.schedules.schedule(name)
            cron = Cron.parse(row["expression"])
            if cron.once:
                if self.schedules.last_scheduled_time(name) is None:
                    outcomes.append(self.execute(name, now.replace(second=0, microsecond=0)))
                continue
            last = self.schedules.last_scheduled_time(name)
            for moment in cron.times(backfill_from or last or _parse(row["created"]), now):
                if last is None or moment > last:
                    outcomes.append(self.execute(name, moment))
        return outcomes

    def execute(self, schedule: str, scheduled: datetime, start: datetime | None = None, end: datetime | None = None, replace: bool = False) -> ExecutionOutcome:
        """One execution of ``schedule`` at ``scheduled`` (its window, or [start, end)); with
        ``replace``, again if that time already ran (a backfill: capture that arrived late)."""
        row = self.schedules.schedule(schedule)
        if start is None or end is None:
            start, end = analysis_window(Cron.parse(row["expression"]), scheduled, row["start_offset"], row["end_offset"], row["monitoring_type"])
        execution_id = self.schedules.start_execution(schedule, scheduled, start, end, replace=replace)
        if execution_id is None:
            raise Conflict(f"{schedule} at {iso(scheduled)} is running now" if replace else f"{schedule} already ran at {iso(scheduled)}; mlops monitor run runs it again")
        # A backfill runs now: it counts the labels collected until now, late ones included.
        until = utcnow() if replace and types.get(row["monitoring_type"]).ground_truth else None
        target = Window(row["endpoint"], schedule, scheduled, start, end, row["capture_uri"], row["statistics_uri"], row["constraints_uri"], row["output_uri"], row["monitoring_type"], row["ground_truth_uri"] or "", until)
        try:
            outcome = self.job.run(target)
        except BaseException as exc:  # the execution does not stay InProgress for ever
            self.schedules.end_execution(execution_id, "Failed", failure_reason=f"the monitoring job did not finish: {type(exc).__name__}: {exc}")
            raise
        baseline = (row["statistics_uri"], row["constraints_uri"])
        if outcome.status == "Failed":
            kept = self.schedules.end_execution(execution_id, "Failed", failure_reason=outcome.failure_reason, job_arn=outcome.job_arn)
            lineage.monitoring_executed(self.home, row["endpoint"], schedule, iso(scheduled), "Failed", None, baseline, 0, outcome.failure_reason, outcome.job_arn)
            reason = f"{outcome.failure_reason} (the run of this hour that ended {kept} is kept)" if kept else outcome.failure_reason
            logger.warning("%s at %s failed: %s", schedule, iso(scheduled), reason)
            return ExecutionOutcome(schedule, scheduled, "Failed", 0, None, reason)
        report_uri = target.report_uri
        self.schedules.end_execution(execution_id, outcome.status, report_uri=report_uri, violations=outcome.violations, metrics=outcome.metrics, job_arn=outcome.job_arn)
        lineage.monitoring_executed(self.home, row["endpoint"], schedule, iso(scheduled), outcome.status, report_uri, baseline, outcome.violations, None, outcome.job_arn)
        self._evaluate_alarms(schedule, target)
        self._write_timeline(schedule, row)
        return ExecutionOutcome(schedule, scheduled, outcome.status, outcome.violations, report_uri)

    def run_window(self, start: datetime, end: datetime, endpoint: str | None = None, schedule: str | None = None) -> ExecutionOutcome:
        """One execution on [start, end), now: of ``schedule``, or of the endpoint's one schedule.
        Its scheduled time is ``end`` minus the schedule's end offset (the window's lag); if that
        time already ran, this execution replaces it (a backfill)."""
        if schedule is None:
            candidates = [s["MonitoringScheduleName"] for s in self.schedules.list_schedules(endpoint)]
            if len(candidates) != 1:
                raise UsageError(f"{'endpoint ' + endpoint if endpoint else 'there'} has {len(candidates)} schedules ({', '.join(candidates) or 'none'}); pass --schedule")
            schedule = candidates[0]
        row = self.schedules.schedule(schedule)
        lag = parse_offset(row["end_offset"] or types.get(row["monitoring_type"]).offsets[1], "DataAnalysisEndTime")
        return self.execute(schedule, end - lag, start, end, replace=True)

    def local_path(self, uri: str) -> Path:
        return self.store.path(uri) if is_s3(uri) else Path(uri)

    def _write_timeline(self, schedule: str, row: dict[str, Any]) -> None:
        """The schedule's ``timeline.html``, as its type draws it."""
        executions = self.schedules.list_executions(schedule, ascending=True)
        folder = self.local_path(f"{row['output_uri'].rstrip('/')}/{row['endpoint']}/{schedule}")
        folder.mkdir(parents=True, exist_ok=True)
        types.get(row["monitoring_type"]).timeline(folder / "timeline.html", schedule, row["endpoint"], executions, ScheduleBaseline(self.home, row))

    # -- alarms -----------------------------------------------------------------------------
    def decisions(self, alarm: str | None = None) -> list[dict[str, Any]]:
        """The alarm's decisions, a retraining's handle replaced (and recorded) by the pipeline
        execution it became, once that is known."""
        decisions = self.schedules.decisions(alarm)
        for decision in decisions:
            handle = decision["pipeline_execution_arn"]
            known = self.retrainer.resolve(handle) if handle else handle
            if known != handle:
                self.schedules.set_decision_execution(decision["id"], known)
                decision["pipeline_execution_arn"] = known
        return decisions

    def _evaluate_alarms(self, schedule: str, window: Window) -> None:
        for alarm in self.schedules.alarms(schedule):
            recent = [e for e in self.schedules.list_executions(schedule, limit=alarm["periods"]) if e["MonitoringExecutionStatus"] != "Failed"]
            breach = types.get(self.schedules.schedule(schedule)["monitoring_type"]).breach
            breaches = [breach(alarm, e.get("Metrics", {})) for e in recent]
            in_breach = len(recent) == alarm["periods"] and all(b is not None for b in breaches)
            if not in_breach:
                if alarm["state"] != "OK":
                    self.schedules.set_alarm_state(alarm["name"], "OK")
                    self.schedules.record_decision(alarm["name"], "OK", "back within the threshold")
                continue
            reason = f"{breaches[0]} over the last {alarm['periods']} execution(s)"
            if alarm["state"] == "ALARM":
                continue  # already in ALARM: its action ran when it entered it
            self.schedules.set_alarm_state(alarm["name"], "ALARM")
            running = self._retraining_in_progress(alarm["name"])
            if running:
                self.schedules.record_decision(alarm["name"], "retrain skipped", f"{reason}; retraining {running} is still in progress", running)
                continue
            try:
                arn = self.retrainer.start(alarm["name"], reason, window)
            except NothingToRetrain as nothing:
                self.schedules.record_decision(alarm["name"], "retrain skipped", f"{reason}; {nothing}")
                continue
            self.schedules.record_decision(alarm["name"], "retrain started", reason, arn)

    def _retraining_in_progress(self, alarm: str) -> str | None:
        previous = [d for d in self.decisions(alarm) if d["decision"] == "retrain started" and d["pipeline_execution_arn"]]
        if not previous:
            return None
        handle = previous[-1]["pipeline_execution_arn"]
        return handle if self.retrainer.running(handle) else None


def _parse(value: str) -> datetime:
    from datetime import timezone

    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
