"""Running monitoring executions: due ones, backfilled ones, on-demand ones; and drift alarms.

An execution scheduled at ``t`` analyses the previous full hour ``[t-1h, t)`` of the endpoint's
capture (or the schedule's DataAnalysisStartTime/EndTime offsets), writes SageMaker's files to
``{output}/{endpoint}/{schedule}/yyyy/mm/dd/hh/`` with an HTML report beside them, and records
its status (Completed, CompletedWithViolations, Failed) and per-feature metrics named as in
CloudWatch (``feature_baseline_drift_<name>``, ``feature_non_null_<name>``, ...).

After each execution the schedule's alarms are evaluated: an alarm breaches when its feature's
drift (or any feature's, for ``*``) exceeds its threshold; ``periods`` breaching executions in
a row put it in ALARM, and the move to ALARM starts a retraining run of the pipeline, unless
the alarm's previous retraining run is still in progress. Every decision is recorded with its
reason.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pipelines.errors import Conflict
from pipelines.lineage import recorder as lineage
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore, is_s3
from pipelines.monitor import analyzer, report
from pipelines.monitor.schedules import Cron, MonitoringStore, iso, utcnow, window

logger = logging.getLogger(__name__)


@dataclass
class ExecutionOutcome:
    schedule: str
    scheduled: datetime
    status: str
    violations: int
    report: str | None
    failure_reason: str | None = None


class Retrainer(Protocol):
    """What the monitor asks for retraining: start it, and whether it still runs."""

    def start(self, alarm: str, reason: str) -> str:
        """Start a retraining run for ``alarm``; the pipeline execution's ARN (or a handle to it)."""

    def running(self, handle: str) -> bool:
        """Whether the run that ``start`` returned ``handle`` for is still in progress."""


class Monitor:
    def __init__(self, home: Home, retrainer: Retrainer) -> None:
        self.home = home
        self.store = ObjectStore(home.store)
        self.schedules = MonitoringStore(home)
        self.retrainer = retrainer

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

    def execute(self, schedule: str, scheduled: datetime, start: datetime | None = None, end: datetime | None = None) -> ExecutionOutcome:
        """One execution of ``schedule`` at ``scheduled`` (its window, or [start, end))."""
        row = self.schedules.schedule(schedule)
        if start is None or end is None:
            start, end = window(Cron.parse(row["expression"]), scheduled, row["start_offset"], row["end_offset"])
        execution_id = self.schedules.start_execution(schedule, scheduled, start, end)
        if execution_id is None:
            raise Conflict(f"{schedule} already ran at {iso(scheduled)}")
        report_uri = f"{row['output_uri'].rstrip('/')}/{row['endpoint']}/{schedule}/{scheduled:%Y/%m/%d/%H}"
        with tempfile.TemporaryDirectory(prefix="monitoring-") as tmp:
            work = Path(tmp)
            try:
                statistics = self._local(row["statistics_uri"], work / "baseline" / "statistics", analyzer.STATISTICS)
                constraints = self._local(row["constraints_uri"], work / "baseline" / "constraints", analyzer.CONSTRAINTS)
                capture = self._capture_root(row["capture_uri"], row["endpoint"])
                result = analyzer.monitor(capture, work / "output", statistics, constraints, capture=True, start=start, end=end, publish_metrics=True)
            except (analyzer.AnalysisFailed, FileNotFoundError) as exc:
                reason = str(exc)
                self.schedules.end_execution(execution_id, "Failed", failure_reason=reason)
                lineage.monitoring_executed(self.home, row["endpoint"], schedule, iso(scheduled), "Failed", None, (row["statistics_uri"], row["constraints_uri"]), 0, reason)
                logger.warning("%s at %s failed: %s", schedule, iso(scheduled), reason)
                return ExecutionOutcome(schedule, scheduled, "Failed", 0, None, reason)
            report.execution_report(work / "output", statistics, schedule=schedule, endpoint=row["endpoint"], scheduled=scheduled, window=(start, end), status=result.status)
            self._publish(work / "output", report_uri)
        self.schedules.end_execution(execution_id, result.status, report_uri=report_uri, violations=len(result.violations), metrics=result.metrics)
        lineage.monitoring_executed(self.home, row["endpoint"], schedule, iso(scheduled), result.status, report_uri, (row["statistics_uri"], row["constraints_uri"]), len(result.violations), None)
        self._evaluate_alarms(schedule)
        self._write_timeline(schedule, row)
        return ExecutionOutcome(schedule, scheduled, result.status, len(result.violations), report_uri)

    def _local(self, uri: str, folder: Path, name: str) -> Path:
        if not is_s3(uri):
            return analyzer.baseline_file(Path(uri), name, uri)
        self.store.materialize(uri, folder)
        return analyzer.baseline_file(folder, name, uri)

    def _capture_root(self, capture_uri: str, endpoint: str) -> Path:
        root = self.store.path(capture_uri) if is_s3(capture_uri) else Path(capture_uri)
        return root / endpoint

    def _publish(self, folder: Path, uri: str) -> None:
        if is_s3(uri):
            self.store.publish(folder, uri)
        else:
            target = Path(uri)
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(folder, target)

    def local_path(self, uri: str) -> Path:
        return self.store.path(uri) if is_s3(uri) else Path(uri)

    def _write_timeline(self, schedule: str, row: dict[str, Any]) -> None:
        executions = self.schedules.list_executions(schedule, ascending=True)
        folder = self.local_path(f"{row['output_uri'].rstrip('/')}/{row['endpoint']}/{schedule}")
        folder.mkdir(parents=True, exist_ok=True)
        report.timeline(folder / "timeline.html", schedule, row["endpoint"], executions, *self._baseline_facts(row))

    def _baseline_facts(self, row: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
        """Each feature's drift threshold and baseline mean, for the timeline."""
        import json

        from pipelines.monitor import constraints as settings

        with tempfile.TemporaryDirectory(prefix="baseline-") as tmp:
            try:
                constraints = json.loads(self._local(row["constraints_uri"], Path(tmp) / "c", analyzer.CONSTRAINTS).read_text())
                statistics = json.loads(self._local(row["statistics_uri"], Path(tmp) / "s", analyzer.STATISTICS).read_text())
            except (FileNotFoundError, analyzer.AnalysisFailed, ValueError):
                return {}, {}  # the timeline goes without thresholds; the execution said why
        thresholds = {}
        for feature in constraints.get("features", []):
            config = settings.settings(constraints, feature)["distribution_constraints"]
            key = "categorical_comparison_threshold" if feature.get("inferred_type") == "String" else "comparison_threshold"
            thresholds[feature["name"]] = float(config.get(key, 0.1))
        means = {f["name"]: f["numerical_statistics"]["mean"] for f in statistics.get("features", []) if "numerical_statistics" in f}
        return thresholds, means

    # -- alarms -----------------------------------------------------------------------------
    def _evaluate_alarms(self, schedule: str) -> None:
        for alarm in self.schedules.alarms(schedule):
            recent = [e for e in self.schedules.list_executions(schedule, limit=alarm["periods"]) if e["MonitoringExecutionStatus"] != "Failed"]
            breaches = [self._breach(alarm, e.get("Metrics", {})) for e in recent]
            in_breach = len(recent) == alarm["periods"] and all(b is not None for b in breaches)
            if not in_breach:
                if alarm["state"] != "OK":
                    self.schedules.set_alarm_state(alarm["name"], "OK")
                    self.schedules.record_decision(alarm["name"], "OK", "drift back under the threshold")
                continue
            reason = f"{breaches[0]} over the last {alarm['periods']} execution(s)"
            if alarm["state"] == "ALARM":
                continue  # already in ALARM: its action ran when it entered it
            self.schedules.set_alarm_state(alarm["name"], "ALARM")
            running = self._retraining_in_progress(alarm["name"])
            if running:
                self.schedules.record_decision(alarm["name"], "retrain skipped", f"{reason}; retraining {running} is still in progress", running)
                continue
            arn = self.retrainer.start(alarm["name"], reason)
            self.schedules.record_decision(alarm["name"], "retrain started", reason, arn)

    @staticmethod
    def _breach(alarm: dict[str, Any], metrics: dict[str, float]) -> str | None:
        """Why this execution's metrics breach the alarm, or None."""
        prefix = "feature_baseline_drift_"
        drifts = {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}
        if alarm["feature"] != "*":
            drifts = {k: v for k, v in drifts.items() if k == alarm["feature"]}
        over = {k: v for k, v in drifts.items() if v > alarm["threshold"]}
        if not over:
            return None
        worst = max(over, key=over.get)  # type: ignore[arg-type]
        return f"{prefix}{worst} = {over[worst]:.4f} > {alarm['threshold']}"

    def _retraining_in_progress(self, alarm: str) -> str | None:
        previous = [d for d in self.schedules.decisions(alarm) if d["decision"] == "retrain started" and d["pipeline_execution_arn"]]
        if not previous:
            return None
        handle = previous[-1]["pipeline_execution_arn"]
        return handle if self.retrainer.running(handle) else None


def _parse(value: str) -> datetime:
    from datetime import timezone

    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
