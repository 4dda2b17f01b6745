"""Schedules, hourly executions over simulated hours, reports, and drift alarms that retrain."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.core.errors import UsageError
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from pipelines.monitor.job.data_quality import analyzer
from pipelines.monitor.scheduler import JobOutcome, Monitor
from pipelines.monitor.schedules import Cron, MonitoringStore
from pipelines.monitoring.local import PipelineJob
from steps.preprocess import plain_decimals
from tests.helpers.capture_helpers import capture_frame
from tests.helpers.retrainers import FakeRetrainer

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
CAPTURE = "s3://bucket/data-capture"
OUTPUT = "s3://bucket/monitoring"


@pytest.mark.parametrize("expression", ["cron(0 * ? * * *)", "cron(0 12 ? * * *)", "cron(0 0/2 ? * * *)", "cron(0 17/12 ? * * *)", "NOW"])
def test_sagemakers_expressions_are_accepted(expression: str) -> None:
    assert Cron.parse(expression).expression == expression


@pytest.mark.parametrize("expression", ["cron(5 * ? * * *)", "cron(0 25 ? * * *)", "cron(0 1/30 ? * * *)", "rate(1 hour)", "cron(0 * * * * *)"])
def test_other_expressions_are_refused_with_the_accepted_forms(expression: str) -> None:
    with pytest.raises(UsageError, match=r"cron\(0 \* \? \* \* \*\) \(hourly\)|0-23|1-24"):
        Cron.parse(expression)


def test_times_of_each_expression() -> None:
    after, until = T0, T0 + timedelta(hours=24)
    assert len(Cron.parse("cron(0 * ? * * *)").times(after, until)) == 24
    assert [t.hour for t in Cron.parse("cron(0 0/6 ? * * *)").times(after, until)] == [12, 18, 0, 6]
    assert [t.hour for t in Cron.parse("cron(0 12 ? * * *)").times(after, until)] == [12]


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home")


@pytest.fixture
def baseline_uris(home: Home, evaluated: Path, tmp_path: Path) -> tuple[str, str]:
    analyzer.baseline(evaluated / "baseline" / "baseline.csv", tmp_path / "baseline")
    ObjectStore(home.store).publish(tmp_path / "baseline", "s3://bucket/baselines/run1")
    return "s3://bucket/baselines/run1/statistics.json", "s3://bucket/baselines/run1/constraints.json"


def test_schedule_rules(home: Home, baseline_uris: tuple[str, str]) -> None:
    store = MonitoringStore(home)
    with pytest.raises(UsageError, match="NOW schedule needs DataAnalysisStartTime"):
        store.create_schedule("once", "ep", "NOW", CAPTURE, *baseline_uris, OUTPUT)
    with pytest.raises(UsageError, match="more than 24 hours"):
        store.create_schedule("wide", "ep", "NOW", CAPTURE, *baseline_uris, OUTPUT, start_offset="-PT30H", end_offset="-PT1H")
    with pytest.raises(UsageError, match="letters, digits and hyphens"):
        store.create_schedule("bad_name", "ep", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
    with pytest.raises(UsageError, match=r"endpoint: '\.\./\.\./x' is not a valid EndpointName"):
        store.create_schedule("escape", "../../x", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
    with pytest.raises(UsageError, match=r"baseline statistics s3://bucket/nope/statistics.json: nothing there in the local store"):
        store.create_schedule("hourly", "ep", "cron(0 * ? * * *)", CAPTURE, "s3://bucket/nope/statistics.json", baseline_uris[1], OUTPUT)
    described = store.create_schedule("hourly", "ep", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
    assert described["MonitoringScheduleStatus"] == "Scheduled" and described["EndpointName"] == "ep"
    with pytest.raises(UsageError, match=r"hourly's baseline has no feature 'INCOME'; alarm on one of prediction, .*LIMIT_BAL, SEX, .*, or \* for any"):
        store.create_alarm("income", "hourly", "INCOME", 0.1, 1)
    assert store.create_alarm("limit", "hourly", "LIMIT_BAL", 0.1, 1)["feature"] == "LIMIT_BAL"
    assert described["MonitoringScheduleConfig"]["ScheduleConfig"] == {"ScheduleExpression": "cron(0 * ? * * *)"}
    assert described["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["BaselineConfig"]["StatisticsResource"]["S3Uri"] == baseline_uris[0]
    with pytest.raises(UsageError, match="already exists"):
        store.create_schedule("hourly", "ep", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
    store.set_status("hourly", "Stopped")
    assert store.list_schedules()[0]["MonitoringScheduleStatus"] == "Stopped"
    store.delete_schedule("hourly")
    assert store.list_schedules() == []
    store.close()


def drifted(frame: pd.DataFrame, rescore) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(11)
    out = frame.copy()
    n = len(out)
    out["LIMIT_BAL"] = np.where(rng.random(n) < 0.5, out["LIMIT_BAL"] // 1000, out["LIMIT_BAL"])
    out["EDUCATION"] = np.where(rng.random(n) < 0.75, -out["EDUCATION"], out["EDUCATION"])
    out["MARRIAGE"] = np.where(rng.random(n) < 0.5, -out["MARRIAGE"], out["MARRIAGE"])
    return rescore(out)


@pytest.fixture
def rescore(model_dir: Path):  # type: ignore[no-untyped-def]
    import tarfile

    import xgboost

    with tarfile.open(model_dir / "model.tar.gz") as tar:
        raw = tar.extractfile("xgboost-model").read()  # type: ignore[union-attr]
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    return lambda frame: frame.assign(prediction=[repr(float(x)) for x in booster.predict(xgboost.DMatrix(frame.iloc[:, 1:].to_numpy(dtype=float)))])


def test_hours_of_traffic_clean_then_drifted_with_an_alarm_that_retrains_once(home: Home, baseline_uris: tuple[str, str], scored_test: Path, rescore) -> None:  # type: ignore[no-untyped-def]
    test = pd.read_csv(scored_test, dtype={"prediction": str})
    capture_root = ObjectStore(home.store).path(CAPTURE)
    hours = [test.sample(400, random_state=h) for h in range(5)]
    for hour, frame in enumerate(hours):
        frame = frame if hour < 2 else drifted(frame, rescore)
        capture_frame(plain_decimals(frame), capture_root, T0 + timedelta(hours=hour), timedelta(minutes=59))
    retrainer = FakeRetrainer()
    calls = retrainer.calls
    monitor = Monitor(home, retrainer=retrainer, job=PipelineJob(home))
    monitor.schedules.create_schedule("hourly", "ep", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
    monitor.schedules.create_alarm("drift", "hourly", "*", 0.1, 2)

    outcomes = monitor.run_due(now=T0 + timedelta(hours=6, minutes=5), backfill_from=T0)
    assert [(o.scheduled.hour, o.status) for o in outcomes] == [
        (11, "Completed"), (12, "Completed"), (13, "CompletedWithViolations"), (14, "CompletedWithViolations"), (15, "CompletedWithViolations"), (16, "Failed"),
    ]  # fmt: skip
    assert "No data to analyze" in (outcomes[-1].failure_reason or "")
    assert monitor.run_due(now=T0 + timedelta(hours=6, minutes=30), backfill_from=T0) == []  # nothing runs twice

    # The alarm entered ALARM after two drifted hours in a row, and retrained once.
    assert len(calls) == 1 and calls[0][0] == "drift" and "feature_baseline_drift_" in calls[0][1]
    decisions = monitor.schedules.decisions("drift")
    assert [d["decision"] for d in decisions] == ["retrain started"]
    assert "over the last 2 execution(s)" in decisions[0]["reason"]

    # Reports where SageMaker puts them, with SageMaker's files, an HTML report and the timeline.
    store = ObjectStore(home.store)
    hour13 = store.path(f"{OUTPUT}/ep/hourly/2026/11/20/13")
    assert {p.name for p in hour13.iterdir()} >= {"statistics.json", "constraint_violations.json", "report.html", "cloudwatch_metrics.json"}
    violations = json.loads((hour13 / "constraint_violations.json").read_text())["violations"]
    flagged = {v["feature_name"] for v in violations if v["constraint_check_type"] == "baseline_drift_check"}
    assert flagged - {"prediction"} == {"LIMIT_BAL", "EDUCATION", "MARRIAGE"}
    page = (hour13 / "report.html").read_text()
    assert "CompletedWithViolations" in page and page.count('class="chart distribution"') == 24
    timeline = store.path(f"{OUTPUT}/ep/hourly/timeline.html").read_text()
    assert timeline.count('data-series="drift"') == 24 and "LIMIT_BAL" in timeline

    executions = monitor.schedules.list_executions("hourly")
    assert executions[0]["MonitoringExecutionStatus"] == "Failed" and executions[0]["FailureReason"].startswith("No data to analyze")
    assert executions[1]["Metrics"]["feature_baseline_drift_LIMIT_BAL"] > 0.1
    assert set(executions[1]) >= {"MonitoringScheduleName", "ScheduledTime", "CreationTime", "LastModifiedTime", "MonitoringExecutionStatus", "ProcessingJobArn", "EndpointName"}
    monitor.close()


def test_a_retraining_run_in_progress_is_not_started_again(home: Home, baseline_uris: tuple[str, str], scored_test: Path, rescore) -> None:  # type: ignore[no-untyped-def]
    test = pd.read_csv(scored_test, dtype={"prediction": str})
    capture_root = ObjectStore(home.store).path(CAPTURE)
    pattern = ["drift", "clean", "drift"]
    for hour, kind in enumerate(pattern):
        frame = test.sample(400, random_state=hour)
        capture_frame(plain_decimals(drifted(frame, rescore) if kind == "drift" else frame), capture_root, T0 + timedelta(hours=hour), timedelta(minutes=59))
    # The retraining it starts is still in progress whenever the monitor asks.
    monitor = Monitor(home, retrainer=FakeRetrainer("arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/abc123", running=True), job=PipelineJob(home))
    monitor.schedules.create_schedule("hourly", "ep", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
    monitor.schedules.create_alarm("drift", "hourly", "LIMIT_BAL", 0.1, 1)
    monitor.run_due(now=T0 + timedelta(hours=3, minutes=1), backfill_from=T0)
    assert [d["decision"] for d in monitor.schedules.decisions("drift")] == ["retrain started", "OK", "retrain skipped"]
    assert "is still in progress" in monitor.schedules.decisions("drift")[-1]["reason"]
    monitor.close()


def test_stopped_schedules_do_not_run(home: Home, baseline_uris: tuple[str, str]) -> None:
    monitor = Monitor(home, retrainer=FakeRetrainer(), job=PipelineJob(home))
    monitor.schedules.create_schedule("hourly", "ep", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
    monitor.schedules.set_status("hourly", "Stopped")
    assert monitor.run_due(now=T0 + timedelta(hours=3), backfill_from=T0) == []
    monitor.close()


def test_run_due_for_named_schedules_leaves_the_others_alone(home: Home, baseline_uris: tuple[str, str]) -> None:
    monitor = Monitor(home, retrainer=FakeRetrainer(), job=PipelineJob(home))
    try:
        monitor.schedules.create_schedule("mine", "ep", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
        monitor.schedules.create_schedule("theirs", "ep", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
        outcomes = monitor.run_due(now=T0 + timedelta(hours=2, minutes=5), backfill_from=T0, only=["mine"])
        assert {o.schedule for o in outcomes} == {"mine"} and len(outcomes) == 2
        assert monitor.schedules.list_executions("theirs") == []
    finally:
        monitor.close()


def test_a_baseline_folder_that_is_empty_or_ambiguous_fails_the_execution_with_its_reason(home: Home, baseline_uris: tuple[str, str], scored_test: Path) -> None:
    test = pd.read_csv(scored_test, dtype={"prediction": str})
    capture_frame(plain_decimals(test.head(200)), ObjectStore(home.store).path(CAPTURE), T0, timedelta(minutes=50))
    store = ObjectStore(home.store)
    (store.path("s3://bucket/empty") / "nothing").mkdir(parents=True)
    statistics, constraints = baseline_uris
    both = "s3://bucket/baselines/run1"  # a folder with statistics.json and constraints.json: fine for either
    with Monitor(home, retrainer=FakeRetrainer(), job=PipelineJob(home)) as monitor:
        monitor.schedules.create_schedule("both", "ep", "cron(0 * ? * * *)", CAPTURE, both, both, OUTPUT)
        monitor.schedules.create_schedule("empty", "ep", "cron(0 * ? * * *)", CAPTURE, "s3://bucket/empty", constraints, OUTPUT)
        store.path("s3://bucket/odd/a.json").parent.mkdir(parents=True)
        store.path("s3://bucket/odd/a.json").write_text("{}")
        store.path("s3://bucket/odd/b.json").write_text("{}")
        monitor.schedules.create_schedule("odd", "ep", "cron(0 * ? * * *)", CAPTURE, statistics, "s3://bucket/odd", OUTPUT)
        outcomes = {o.schedule: o for o in monitor.run_due(now=T0 + timedelta(hours=1, minutes=5), backfill_from=T0)}
    assert outcomes["both"].status == "Completed"
    assert outcomes["empty"].failure_reason == "baseline s3://bucket/empty: expected statistics.json there, found nothing"
    assert outcomes["odd"].failure_reason == "baseline s3://bucket/odd: expected constraints.json there, found a.json, b.json"


def test_each_execution_is_a_run_of_the_monitoring_pipeline_and_late_capture_is_backfilled(home: Home, baseline_uris: tuple[str, str], scored_test: Path) -> None:
    from pipelines.core.errors import Conflict
    from pipelines.engine.records import Records

    test = pd.read_csv(scored_test, dtype={"prediction": str})
    capture_root = ObjectStore(home.store).path(CAPTURE)
    with Monitor(home, retrainer=FakeRetrainer(), job=PipelineJob(home)) as monitor:
        monitor.schedules.create_schedule("hourly", "ep", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
        (first,) = monitor.run_due(now=T0 + timedelta(hours=1, minutes=5), backfill_from=T0)
        assert first.status == "Failed" and first.failure_reason.startswith(f"No data to analyze in {CAPTURE}/ep between 2026-11-20T10:00:00+00:00 and 2026-11-20T11:00:00+00:00")
        # The hour's capture arrives late: the scheduler does not run that hour twice, a backfill does.
        capture_frame(plain_decimals(test.head(300)), capture_root, T0 + timedelta(minutes=2), timedelta(minutes=50))
        assert monitor.run_due(now=T0 + timedelta(hours=1, minutes=30)) == []
        with pytest.raises(Conflict, match="already ran at 2026-11-20T11:00:00Z; mlops monitor run runs it again"):
            monitor.execute("hourly", T0 + timedelta(hours=1))
        again = monitor.execute("hourly", T0 + timedelta(hours=1), replace=True)
        assert again.status == "Completed" and again.report == f"{OUTPUT}/ep/hourly/2026/11/20/11"
        (execution,) = monitor.schedules.list_executions("hourly")
    assert execution["MonitoringExecutionStatus"] == "Completed" and execution["Metrics"]["feature_baseline_drift_LIMIT_BAL"] < 0.1
    with Records(home) as records:
        runs = records.list_executions()
        jobs = [s["Metadata"]["ProcessingJob"]["Arn"] for run in runs for s in records.list_steps(run["PipelineExecutionArn"].rsplit("/", 1)[1]) if "ProcessingJob" in s.get("Metadata", {})]
    assert [r["PipelineExecutionStatus"] for r in runs] == ["Succeeded", "Failed"]  # newest first
    assert all(":pipeline/creditdefaultmonitoring/execution/" in r["PipelineExecutionArn"] for r in runs)
    assert execution["ProcessingJobArn"] == jobs[0]  # the job that wrote the report


def test_window_offsets_as_the_monitoring_pipeline_takes_them() -> None:
    from pipelines.monitoring.local import offset

    assert [offset(T0 + delta, T0) for delta in (timedelta(hours=-1), timedelta(0), timedelta(minutes=-90), timedelta(hours=2))] == ["-PT1H", "-PT0H", "-PT1H30M", "PT2H"]
    with pytest.raises(UsageError, match="not a whole number of minutes"):
        offset(T0 - timedelta(seconds=30), T0)


class FixedJob:
    """A fake at the monitor's job seam: every window ends as it is told."""

    def __init__(self, outcome: JobOutcome | Exception) -> None:
        self.outcome = outcome

    def run(self, window: object) -> JobOutcome:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


@pytest.mark.parametrize("failure", [JobOutcome("Failed", failure_reason="No data to analyze"), RuntimeError("the runner died")])
def test_a_failed_rerun_keeps_the_hours_earlier_result(home: Home, baseline_uris: tuple[str, str], failure: JobOutcome | Exception) -> None:
    hour = T0 + timedelta(hours=1)
    good = JobOutcome("CompletedWithViolations", 3, {"feature_baseline_drift_LIMIT_BAL": 0.4}, job_arn="arn:job/1")
    with Monitor(home, retrainer=FakeRetrainer(), job=FixedJob(good)) as monitor:
        monitor.schedules.create_schedule("hourly", "ep", "cron(0 * ? * * *)", CAPTURE, *baseline_uris, OUTPUT)
        assert monitor.execute("hourly", hour).status == "CompletedWithViolations"
        (before,) = monitor.schedules.list_executions("hourly")
        monitor.job = FixedJob(failure)
        if isinstance(failure, Exception):
            with pytest.raises(RuntimeError):
                monitor.execute("hourly", hour, replace=True)
        else:
            again = monitor.execute("hourly", hour, replace=True)
            assert again.status == "Failed" and again.failure_reason == "No data to analyze (the run of this hour that ended CompletedWithViolations is kept)"
        (after,) = monitor.schedules.list_executions("hourly")
    assert {k: v for k, v in after.items() if k != "LastModifiedTime"} == {k: v for k, v in before.items() if k != "LastModifiedTime"}
    assert after["ReportUri"] == f"{OUTPUT}/ep/hourly/2026/11/20/11" and after["Violations"] == 3


def test_a_retraining_handle_is_shown_and_kept_as_the_execution_it_became(home: Home) -> None:
    retrainer = FakeRetrainer()
    arn = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/creditdefaultpipeline/execution/abc"
    with Monitor(home, retrainer=retrainer, job=FixedJob(JobOutcome("Completed"))) as monitor:
        monitor.schedules.record_decision("drift", "retrain started", "drift > 0.1", "pending:4242:/tmp/drift.log")
        assert monitor.decisions("drift")[0]["pipeline_execution_arn"] == "pending:4242:/tmp/drift.log"  # still running
        retrainer.resolved["pending:4242:/tmp/drift.log"] = arn  # the run ended and said its execution
        assert monitor.decisions("drift")[0]["pipeline_execution_arn"] == arn
        assert monitor.schedules.decisions("drift")[0]["pipeline_execution_arn"] == arn  # recorded
