"""``mlops monitor`` as a user drives it: baseline, schedule, scheduler over past hours, violations, alarms."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from pipelines.cli import main as mlops
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from pipelines.monitor.queries import violations_frame
from steps.preprocess import plain_decimals
from tests.helpers.capture_helpers import capture_frame

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def cli(home: Path, *args: str) -> int:
    return mlops.main(["--home", str(home), "monitor", *args])


@pytest.fixture
def home(tmp_path: Path, evaluated: Path, scored_test: Path) -> Path:
    """A home with a baseline in the store and three hours of capture: clean, clean, drifted."""
    root = tmp_path / "home"
    assert cli(root, "baseline", "--dataset", str(evaluated / "baseline" / "baseline.csv"), "--output", "s3://b/baselines/v1") == 0
    test = pd.read_csv(scored_test, dtype={"prediction": str})
    capture_root = ObjectStore(Home.resolve(root).store).path("s3://b/capture")
    for hour in range(3):
        frame = test.sample(400, random_state=hour)
        if hour == 2:
            frame = frame.assign(EDUCATION=-frame["EDUCATION"].astype(int))
        capture_frame(plain_decimals(frame), capture_root, T0 + timedelta(hours=hour), timedelta(minutes=59), endpoint="credit-staging")
    return root


def test_the_whole_monitoring_loop_from_the_cli(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "schedule", "create", "--name", "hourly", "--endpoint", "credit-staging", "--baseline-statistics", "s3://b/baselines/v1/statistics.json",
               "--baseline-constraints", "s3://b/baselines/v1/constraints.json", "--capture", "s3://b/capture", "--output", "s3://b/monitoring") == 0  # fmt: skip
    assert cli(home, "alarm", "create", "--name", "drift", "--schedule", "hourly", "--feature", "EDUCATION", "--threshold", "0.1", "--periods", "1") == 0
    capsys.readouterr()
    assert cli(home, "scheduler", "--once", "--now", "2026-11-20T13:05:00Z", "--backfill-from", "2026-11-20T10:00:00Z", "--wait-for-retraining") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[2] for line in lines] == ["Completed", "Completed", "CompletedWithViolations"]
    assert cli(home, "scheduler", "--once", "--now", "2026-11-20T13:30:00Z") == 0  # nothing due: says so
    assert capsys.readouterr().out == "nothing due at 2026-11-20T13:30:00Z: 1 schedule(s) ran every execution due so far\n"

    assert cli(home, "violations", "--schedule", "hourly") == 0
    table = capsys.readouterr().out
    assert "hourly at 2026-11-20T13:00:00Z: CompletedWithViolations" in table and "EDUCATION" in table and "baseline_drift_check" in table
    frame = violations_frame(Home.resolve(home), "hourly")
    assert list(frame.columns) == ["feature_name", "constraint_check_type", "description"]
    assert "EDUCATION" in set(frame["feature_name"])

    assert cli(home, "executions", "--json") == 0
    summaries = json.loads(capsys.readouterr().out)["MonitoringExecutionSummaries"]
    assert [s["MonitoringExecutionStatus"] for s in summaries] == ["CompletedWithViolations", "Completed", "Completed"]

    assert cli(home, "alarm", "list", "--json") == 0
    (alarm,) = json.loads(capsys.readouterr().out)
    # The alarm fired; with no model package deployed there is no training data to retrain on,
    # and the decision says so (test_retraining and the demo retrain on current, labelled data).
    assert alarm["state"] == "ALARM" and alarm["decisions"][0]["decision"] == "retrain skipped"
    assert alarm["decisions"][0]["reason"].startswith("feature_baseline_drift_EDUCATION")
    assert alarm["decisions"][0]["reason"].endswith("credit-staging serves no registered model package: there is no training data to start from")

    assert cli(home, "report", "--schedule", "hourly") == 0
    paths = capsys.readouterr().out
    timeline = Path(paths.split("timeline: ")[1].split("\n")[0])
    assert timeline.is_file() and "<svg" in timeline.read_text()

    assert cli(home, "schedule", "describe", "hourly") == 0
    described = json.loads(capsys.readouterr().out)
    assert described["LastMonitoringExecutionSummary"]["MonitoringExecutionStatus"] == "CompletedWithViolations"


def test_on_demand_run_and_an_empty_window(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli(home, "schedule", "create", "--name", "adhoc", "--endpoint", "credit-staging", "--baseline-statistics", "s3://b/baselines/v1/statistics.json",
        "--baseline-constraints", "s3://b/baselines/v1/constraints.json", "--capture", "s3://b/capture", "--output", "s3://b/monitoring")  # fmt: skip
    capsys.readouterr()
    assert cli(home, "run", "--endpoint", "credit-staging", "--start", "2026-11-20T10:00:00Z", "--end", "2026-11-20T12:00:00Z") == 0
    out = capsys.readouterr().out
    assert "Completed" in out and "report: s3://b/monitoring/credit-staging/adhoc/2026/11/20/12/report.html" in out
    assert cli(home, "run", "--endpoint", "credit-staging", "--start", "2026-11-21T10:00:00Z", "--end", "2026-11-21T11:00:00Z") == 1
    assert "Failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("schedule", "describe", "nope"), "no monitoring schedule 'nope'"),
        (("schedule", "create", "--name", "x", "--endpoint", "e", "--capture", "s3://b/c", "--baseline-statistics", "a", "--baseline-constraints", "b", "--cron", "rate(1 hour)"), "is not one SageMaker accepts"),
        (("schedule", "create", "--name", "x", "--endpoint", "e", "--baseline-statistics", "a", "--baseline-constraints", "b"), "--capture: Could not find endpoint 'e'; deploy it first, or give --capture"),
        (("run", "--schedule", "x", "--start", "yesterday", "--end", "2026-11-20T11:00:00Z"), "--start: 'yesterday' is not an ISO-8601 time"),
        (("violations",), "no monitoring execution with a report yet"),
        (("violations", "--schedule", "nope"), "not found: no monitoring schedule 'nope'"),
    ],
)
def test_mistakes_are_one_line(tmp_path: Path, args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path / "home", *args) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
