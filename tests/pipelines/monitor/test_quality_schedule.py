"""Model-quality schedules over simulated hours: ground truth uploaded late, metrics per hour,
an AUC alarm that retrains, and a backfill that finds labels which came after their run."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from pipelines.cli import main as mlops
from pipelines.local.home import Home
from pipelines.monitor.job.model_quality import analysis as model_quality
from pipelines.monitor.scheduler import Monitor
from pipelines.monitor.schedules import MonitoringStore
from pipelines.monitoring.local import PipelineJob
from steps import evaluate
from tests.helpers.capture_helpers import captured, hour_file
from tests.helpers.retrainers import FakeRetrainer

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
CAPTURE = "s3://bucket/data-capture"
TRUTH = "s3://bucket/ground-truth"


@pytest.fixture(scope="module")
def predictions(model_dir: Path, preprocessed: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The real model's probability for each test row, with the row's label."""
    out = tmp_path_factory.mktemp("evaluated-quality")
    args = ["--model-dir", str(model_dir), "--test-dir", str(preprocessed / "test"), "--output-dir", str(out), "--predictions-dir", str(out / "predictions")]
    assert evaluate.main(args) == 0
    return pd.read_csv(out / "predictions" / "predictions.csv")


@pytest.fixture(scope="module")
def reviewed_baseline(predictions: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model-quality baseline of 2,000 predictions (its bootstrap takes half a second),
    made once for the module; each test publishes it into its own home."""
    folder = tmp_path_factory.mktemp("quality-baseline")
    predictions.iloc[:2000].to_csv(folder / "baseline.csv", index=False)
    model_quality.baseline(folder / "baseline.csv", folder / "mq", "probability", "label")
    # Reviewed, as AWS advises for suggested constraints (the baseline's own values): AUC only,
    # 0.1 under the baseline's, so an hour's sampling noise is no violation.
    constraints = json.loads((folder / "mq" / "constraints.json").read_text())
    auc = constraints["binary_classification_constraints"]["auc"]["threshold"]
    constraints["binary_classification_constraints"] = {"auc": {"threshold": round(auc - 0.1, 4), "comparison_operator": "LessThanThreshold"}}
    (folder / "mq" / "constraints.json").write_text(json.dumps(constraints, indent=2))
    return folder / "mq"


@pytest.fixture
def home(tmp_path: Path, reviewed_baseline: Path) -> Home:
    home = Home.resolve(tmp_path / "home")
    home.objects().publish(reviewed_baseline, "s3://bucket/baselines/mq")
    return home


def serve(home: Home, rows: pd.DataFrame, hour: datetime) -> None:
    """The rows' predictions captured in ``hour``, each with its InferenceId."""
    lines = [captured(f"e-{i}", repr(float(p)), hour + timedelta(seconds=n), inference_id=f"row-{i}") for n, (i, p) in enumerate(rows["probability"].items())]
    hour_file(home.objects().path(f"{CAPTURE}/ep/AllTraffic"), hour, lines, f"{hour:%H}.jsonl")


def upload(home: Home, tmp_path: Path, rows: pd.DataFrame, collected: datetime) -> None:
    labels = tmp_path / f"labels-{collected:%H%M}.csv"
    pd.DataFrame({"inference_id": [f"row-{i}" for i in rows.index], "label": rows["label"]}).to_csv(labels, index=False)
    code = mlops.main(["--home", str(home.root), "monitor", "ground-truth", "upload", str(labels), "--endpoint", "ep", "--ground-truth", TRUTH, "--collected-at", collected.strftime("%Y-%m-%dT%H:%M:%SZ")])
    assert code == 0


def schedule(home: Home) -> None:
    assert mlops.main([
        "--home", str(home.root), "monitor", "schedule", "create", "--type", "model-quality", "--name", "quality", "--endpoint", "ep",
        "--baseline-statistics", "s3://bucket/baselines/mq/statistics.json", "--baseline-constraints", "s3://bucket/baselines/mq/constraints.json",
        "--capture", CAPTURE, "--ground-truth", TRUTH,
    ]) == 0  # fmt: skip


def test_hours_with_late_labels_measured_against_scikit_learn_and_an_auc_alarm_retrains(home: Home, tmp_path: Path, predictions: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    good = predictions.iloc[2000:2500]
    worse = predictions.iloc[2500:3000].copy()
    worse.loc[worse.index[::2], "probability"] = 1 - worse["probability"].iloc[::2]  # the model gets half the rows backwards
    serve(home, good, T0)
    serve(home, worse, T0 + timedelta(hours=1))
    upload(home, tmp_path, good, T0 + timedelta(hours=1, minutes=5))  # labels an hour late
    upload(home, tmp_path, worse, T0 + timedelta(hours=2, minutes=5))
    schedule(home)
    assert mlops.main(["--home", str(home.root), "monitor", "alarm", "create", "--name", "auc-drop", "--schedule", "quality", "--metric", "auc", "--periods", "1"]) == 0
    assert "auc < " in capsys.readouterr().out  # the threshold: the baseline's AUC, from its constraints
    retrainer = FakeRetrainer()
    with Monitor(home, retrainer, PipelineJob(home)) as monitor:
        outcomes = monitor.run_due(now=T0 + timedelta(hours=3, minutes=30), backfill_from=T0)
    # Executions at T0+1h (window T0-1h..T0: nothing served), T0+2h (T0..T0+1h), T0+3h (T0+1h..T0+2h).
    assert [(o.scheduled - T0, o.status) for o in outcomes] == [
        (timedelta(hours=1), "Failed"), (timedelta(hours=2), "Completed"), (timedelta(hours=3), "CompletedWithViolations"),
    ]  # fmt: skip
    assert "No data to analyze" in (outcomes[0].failure_reason or "")
    with MonitoringStore(home) as store:
        executions = store.list_executions("quality", ascending=True)
    aucs = [e.get("Metrics", {}).get("auc") for e in executions]
    assert aucs[1] == pytest.approx(roc_auc_score(good["label"], good["probability"]), abs=1e-12)
    assert aucs[2] == pytest.approx(roc_auc_score(worse["label"], worse["probability"]), abs=1e-12)
    assert aucs[2] < aucs[1] - 0.2
    assert all(e["MonitoringType"] == "ModelQuality" for e in executions)
    # The AUC alarm fired once, on the worse hour, and asked for retraining.
    assert len(retrainer.calls) == 1 and retrainer.calls[0][1].startswith("auc = ")
    report = json.loads(home.objects().path(f"{executions[2]['ReportUri']}/constraint_violations.json").read_text())["violations"]
    assert "auc" in {v["metric_name"] for v in report}
    timeline = home.objects().path("s3://bucket/monitoring/ep/quality/timeline.html").read_text()
    assert "Model quality over time" in timeline and 'data-feature="auc"' in timeline
    # The same commands read model-quality executions: the violations name metrics.
    capsys.readouterr()
    assert mlops.main(["--home", str(home.root), "monitor", "violations", "--schedule", "quality"]) == 0
    table = capsys.readouterr().out
    assert "CompletedWithViolations" in table and "metric_name" in table and "auc" in table
    assert mlops.main(["--home", str(home.root), "monitor", "report", "--schedule", "quality"]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("2026/11/20/13/statistics.json")


def test_labels_that_come_after_their_run_are_found_by_a_backfill(home: Home, tmp_path: Path, predictions: pd.DataFrame) -> None:
    rows = predictions.iloc[2000:2300]
    serve(home, rows, T0)
    schedule(home)
    with Monitor(home, FakeRetrainer(), PipelineJob(home)) as monitor:
        (first,) = monitor.run_due(now=T0 + timedelta(hours=2), backfill_from=T0 + timedelta(hours=1))
    # No label yet: the window is estimated from its 300 predictions (the baseline's calibration).
    assert first.status == "Completed" and not first.violations
    with MonitoringStore(home) as store:
        (estimated,) = store.list_executions("quality")
    assert set(estimated["Metrics"]) == {"estimated_auc", "estimated_accuracy", "estimated_precision", "estimated_recall", "estimated_f1"}
    upload(home, tmp_path, rows, T0 + timedelta(hours=5))  # far later than the run
    assert mlops.main(["--home", str(home.root), "monitor", "run", "--schedule", "quality", "--start", "2026-11-20T10:00:00Z", "--end", "2026-11-20T11:00:00Z"]) == 0
    with MonitoringStore(home) as store:
        (execution,) = store.list_executions("quality")
    assert execution["ScheduledTime"] == "2026-11-20T12:00:00Z"  # the same execution, replaced
    assert execution["MonitoringExecutionStatus"] == "Completed"
    assert execution["Metrics"]["auc"] == pytest.approx(roc_auc_score(rows["label"], rows["probability"]), abs=1e-12)
    # The estimate made before the labels came is still there beside what they measured.
    assert execution["Metrics"]["estimated_auc"] == estimated["Metrics"]["estimated_auc"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("inference_id,label\nrow-1,1\nrow-2,maybe\n", "row 3: label 'maybe' is not 0 or 1"),
        ("id,score\nrow-1,1\n", "the header has no column for a label"),
        ('{"groundTruthData": {"data": "1"}}\n', "line 1 lacks groundTruthData or eventMetadata"),
        ("", "no labels in it"),
        # What the tried user sent: a third value in a headerless row, and ids the endpoint refuses.
        ("t1-a,1\nt1-x,0,extra\n", "row 2 has 3 value(s); expected an inference id and a label"),
        ("inference_id,label\nt1-a,1,extra\n", "row 2 has 3 value(s); the header names 2"),
        ("t1-a,1\n\"t1\x00x\",0\n", "row 2: inference id 't1\\x00x' is not one the endpoint takes"),
        ("t1-a,1\n\"t1\nx\",0\n", "row 2: inference id 't1\\nx' is not one the endpoint takes"),
        (" t1-a,1\n", "row 1: inference id ' t1-a' is not one the endpoint takes"),
        ('{"groundTruthData": {"data": "1"}, "eventMetadata": {"eventId": "a\\u0000b"}}\n', "line 1: inference id 'a\\x00b' is not one the endpoint takes"),
        # A value over the csv module's 128 KB field limit: a refusal naming the row, not _csv.Error.
        ("t1-a,1\nt1-b," + "1" * 200_000 + "\n", "row 2: a value of more than 131072 characters"),
    ],
)
def test_a_wrong_labels_file_is_refused_by_row_and_nothing_is_written(home: Home, tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(content)
    assert mlops.main(["--home", str(home.root), "monitor", "ground-truth", "upload", str(path), "--endpoint", "ep", "--ground-truth", TRUTH]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not home.objects().path(TRUTH).exists()


def test_uploaded_labels_are_sagemakers_ground_truth_records(home: Home, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("row-1,1\nrow-2,0.0\n")  # no header: id, label
    assert mlops.main(["--home", str(home.root), "monitor", "ground-truth", "upload", str(path), "--endpoint", "ep", "--ground-truth", TRUTH, "--collected-at", "2026-11-20T14:05:00Z"]) == 0
    (written,) = home.objects().path(f"{TRUTH}/ep/2026/11/20/14").glob("*.jsonl")
    records = [json.loads(line) for line in written.read_text().splitlines()]
    assert records == [
        {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "row-1"}, "eventVersion": "0"},
        {"groundTruthData": {"data": "0", "encoding": "CSV"}, "eventMetadata": {"eventId": "row-2"}, "eventVersion": "0"},
    ]
    # The same records uploaded as JSON Lines give the same file content.
    again = tmp_path / "again.jsonl"
    again.write_text(written.read_text())
    assert mlops.main(["--home", str(home.root), "monitor", "ground-truth", "upload", str(again), "--endpoint", "ep", "--ground-truth", TRUTH, "--collected-at", "2026-11-20T14:06:00Z"]) == 0
    assert sorted(p.read_text() for p in home.objects().path(f"{TRUTH}/ep/2026/11/20/14").glob("*.jsonl")) == [written.read_text()] * 2


def test_model_quality_schedule_rules(home: Home) -> None:
    from pipelines.core.errors import UsageError

    for uri in ("s3://b/s.json", "s3://b/c.json"):
        home.objects().path(uri).parent.mkdir(parents=True, exist_ok=True)
        home.objects().path(uri).write_text("{}")
    with MonitoringStore(home) as store:
        with pytest.raises(UsageError, match="a ModelQuality schedule needs the ground truth's S3 prefix"):
            store.create_schedule("q", "ep", "cron(0 * ? * * *)", CAPTURE, "s3://b/s.json", "s3://b/c.json", "s3://b/out", monitoring_type="ModelQuality")
        store.create_schedule("q", "ep", "cron(0 * ? * * *)", CAPTURE, "s3://b/s.json", "s3://b/c.json", "s3://b/out", monitoring_type="ModelQuality", ground_truth_uri=TRUTH)
        with pytest.raises(UsageError, match="alarm on one of its metrics"):
            store.create_alarm("a", "q", "EDUCATION", 0.1, 1)
        described = store.describe_schedule("q")
    assert described["MonitoringType"] == "ModelQuality"
    assert described["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["Environment"]["ground_truth_source"] == TRUTH

