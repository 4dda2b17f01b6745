"""The model-quality analysis: a baseline from labelled predictions, a window merged and checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from pipelines.monitor.job import environment
from pipelines.monitor.job.common.result import JobFailed
from pipelines.monitor.job.model_quality import analysis as model_quality
from pipelines.monitor.job.model_quality import quality
from tests.helpers.capture_helpers import captured, hour_file, label

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    labels = (rng.random(3000) < 0.22).astype(int)
    return pd.DataFrame({"label": labels, "probability": np.clip(rng.normal(0.3 + 0.35 * labels, 0.2), 0, 1).round(6)})


@pytest.fixture()
def baseline(tmp_path: Path, labelled: pd.DataFrame) -> Path:
    labelled.to_csv(tmp_path / "labelled.csv", index=False)
    model_quality.baseline(tmp_path / "labelled.csv", tmp_path / "baseline", "probability", "label", evaluation_time="2026-11-20T00:00:00.000Z")
    return tmp_path / "baseline"


def test_baseline_files(baseline: Path, labelled: pd.DataFrame) -> None:
    stats = json.loads((baseline / "statistics.json").read_text())
    assert stats["version"] == 0.0 and stats["dataset"] == {"item_count": 3000, "evaluation_time": "2026-11-20T00:00:00.000Z"}
    assert stats["binary_classification_metrics"]["auc"]["value"] == pytest.approx(sk.roc_auc_score(labelled["label"], labelled["probability"]), abs=1e-12)
    constraints = json.loads((baseline / "constraints.json").read_text())
    # By default the thresholds leave room for what a window of 500 rows varies; the report says how they were made.
    assert constraints["binary_classification_constraints"]["auc"]["threshold"] < stats["binary_classification_metrics"]["auc"]["value"]
    assert json.loads((baseline / "analysis_report.json").read_text())["constraints"] == {"rule": "window", "window_rows": 500, "false_alarm_rate": 0.01}


def test_aws_plain_rule_stays_selectable(tmp_path: Path, labelled: pd.DataFrame) -> None:
    labelled.to_csv(tmp_path / "labelled.csv", index=False)
    model_quality.baseline(tmp_path / "labelled.csv", tmp_path / "plain", "probability", "label", rule="baseline")
    stats = json.loads((tmp_path / "plain" / "statistics.json").read_text())["binary_classification_metrics"]
    constraints = json.loads((tmp_path / "plain" / "constraints.json").read_text())["binary_classification_constraints"]
    assert {name: rule["threshold"] for name, rule in constraints.items()} == {name: stats[name]["value"] for name in quality.CONSTRAINED}
    with pytest.raises(JobFailed, match="constraint rule 'strict' is not one of window, baseline"):
        model_quality.baseline(tmp_path / "labelled.csv", tmp_path / "other", "probability", "label", rule="strict")
    assert not (tmp_path / "other").exists()


def serve(tmp_path: Path, frame: pd.DataFrame, label_hour: datetime) -> None:
    """Captured predictions in hour T0 (ids as InferenceId), their labels collected at label_hour."""
    hour_file(tmp_path / "capture" / "ep" / "AllTraffic", T0, [captured(f"e{i}", repr(p), T0 + timedelta(seconds=i), inference_id=f"row-{i}") for i, p in enumerate(frame["probability"])])
    hour_file(tmp_path / "truth", label_hour, [label(f"row-{i}", str(y)) for i, y in enumerate(frame["label"])])


def test_a_window_merged_with_its_labels_measured_and_checked(tmp_path: Path, baseline: Path, labelled: pd.DataFrame) -> None:
    worse = labelled.head(600).assign(probability=lambda f: np.where(np.arange(len(f)) % 2 == 0, 1 - f["probability"], f["probability"]))
    serve(tmp_path, worse, T0 + timedelta(hours=1))
    result = model_quality.monitor(tmp_path / "capture" / "ep", tmp_path / "truth", tmp_path / "out", baseline / "constraints.json",
                                   T0, T0 + timedelta(hours=1), until=T0 + timedelta(hours=2), publish_metrics=True)  # fmt: skip
    stats = json.loads((tmp_path / "out" / "statistics.json").read_text())
    assert stats["dataset"]["item_count"] == 600
    assert stats["binary_classification_metrics"]["auc"]["value"] == pytest.approx(sk.roc_auc_score(worse["label"], worse["probability"]), abs=1e-12)
    violations = json.loads((tmp_path / "out" / "constraint_violations.json").read_text())["violations"]
    assert "auc" in {v["metric_name"] for v in violations} and result.status == "CompletedWithViolations"
    published = json.loads((tmp_path / "out" / "cloudwatch_metrics.json").read_text())
    assert published["namespace"] == "aws/sagemaker/Endpoints/model-metrics"
    assert published["metrics"]["auc"] == stats["binary_classification_metrics"]["auc"]["value"]
    assert json.loads((tmp_path / "out" / "analysis_report.json").read_text())["merge"]["matched"] == 600


def test_labels_not_there_yet_fail_with_both_sides_counts_then_a_later_run_finds_them(tmp_path: Path, baseline: Path, labelled: pd.DataFrame) -> None:
    serve(tmp_path, labelled.head(300), T0 + timedelta(hours=3))
    run = dict(capture=tmp_path / "capture" / "ep", ground_truth=tmp_path / "truth", output=tmp_path / "out", baseline_constraints=baseline / "constraints.json", start=T0, end=T0 + timedelta(hours=1))
    with pytest.raises(JobFailed, match=r"No data to analyze: no captured prediction between 2026-11-20T10:00:00\+00:00 and 2026-11-20T11:00:00\+00:00 .* has a ground-truth label .* \(300 prediction\(s\) in the window, 0 label\(s\) read\)"):
        model_quality.monitor(**run, until=T0 + timedelta(hours=2))
    assert not (tmp_path / "out").exists()
    result = model_quality.monitor(**run, until=T0 + timedelta(hours=4))
    assert result.counters["matched"] == 300


def test_a_data_quality_constraints_file_is_refused_by_name(tmp_path: Path, labelled: pd.DataFrame) -> None:
    serve(tmp_path, labelled.head(10), T0)
    (tmp_path / "dq.json").write_text(json.dumps({"version": 0.0, "features": []}))
    with pytest.raises(JobFailed, match="dq.json: no binary_classification_constraints object"):
        model_quality.monitor(tmp_path / "capture", tmp_path / "truth", tmp_path / "out", tmp_path / "dq.json", T0, T0 + timedelta(hours=1))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"probability_attribute": "score"}, "probability_attribute 'score' is not a column (label, probability)"),
        ({"probability_threshold_attribute": "high"}, "probability_threshold_attribute 'high' is not a number"),
        ({"problem_type": "Regression"}, "problem_type 'Regression': only BinaryClassification is supported"),
        ({"ground_truth_attribute": ""}, "a model-quality baseline needs ground_truth_attribute"),
    ],
)
def test_the_containers_environment_contract_and_its_mistakes(tmp_path: Path, labelled: pd.DataFrame, change: dict, message: str) -> None:
    labelled.to_csv(tmp_path / "labelled.csv", index=False)
    environ = {"analysis_type": "MODEL_QUALITY", "problem_type": "BinaryClassification", "dataset_source": str(tmp_path / "labelled.csv"),
               "output_path": str(tmp_path / "out"), "probability_attribute": "probability", "ground_truth_attribute": "label",
               "probability_threshold_attribute": "0.5", "dataset_format": json.dumps({"csv": {"header": True}})}  # fmt: skip
    assert environment.run(environ).kind == "baseline"
    with pytest.raises(JobFailed) as raised:
        environment.run({**environ, **change})
    assert message in str(raised.value)


def test_python_dash_m_runs_the_monitoring_window_from_the_environment(tmp_path: Path, baseline: Path, labelled: pd.DataFrame) -> None:
    serve(tmp_path, labelled.head(250), T0 + timedelta(hours=1))
    environ = dict(os.environ, PYTHONPATH=str(ROOT), analysis_type="MODEL_QUALITY", problem_type="BinaryClassification",
                   dataset_source=str(tmp_path / "capture"), ground_truth_source=str(tmp_path / "truth"), output_path=str(tmp_path / "out"),
                   baseline_constraints=str(baseline), probability_attribute="0", start_time="2026-11-20T10:00:00Z", end_time="2026-11-20T11:00:00Z",
                   ground_truth_until="2026-11-20T12:00:00Z", publish_cloudwatch_metrics="Enabled")  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "pipelines.monitor.job.environment"], env=environ, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "statistics.json").read_text())["dataset"]["item_count"] == 250
    assert set(json.loads((tmp_path / "out" / "cloudwatch_metrics.json").read_text())["metrics"]) == set(quality.scalar_metrics(json.loads((tmp_path / "out" / "statistics.json").read_text())["binary_classification_metrics"]))
