"""The monitoring job that replaces Model Monitor, run as a processing job runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from pipelines.monitor import bundle
from pipelines.monitor.job import main as job
from pipelines.monitor.job.common import metrics
from pipelines.monitor.job.common.objects import ROOT_VARIABLE, Objects
from pipelines.monitor.job.common.result import JobFailed
from pipelines.monitor.job.data_quality import analyzer
from pipelines.monitor.job.model_quality import analysis as model_quality
from steps.preprocess import plain_decimals
from tests.helpers.capture_helpers import capture_frame, captured, hour_file, label

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
STEPS = Path(__file__).resolve().parents[3] / "steps"  # the job scripts beside the package
CAPTURE = "s3://bucket/data-capture/ep"


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle.build(tmp_path_factory.mktemp("bundle"))


@pytest.fixture
def store(tmp_path: Path, scored_test: Path, evaluated: Path) -> Path:
    """A store with a baseline and three hours of capture: clean, clean, drifted."""
    root = tmp_path / "s3"
    analyzer.baseline(evaluated / "baseline" / "baseline.csv", tmp_path / "baseline")
    test = pd.read_csv(scored_test, dtype={"prediction": str})
    capture_root = root / "bucket" / "data-capture"
    for hour in range(3):
        frame = test.sample(300, random_state=hour)
        if hour == 2:
            frame = frame.assign(EDUCATION=-frame["EDUCATION"].astype(int))
        capture_frame(plain_decimals(frame), capture_root, T0 + timedelta(hours=hour), timedelta(minutes=59), endpoint="ep")
    return root


def run_bundle(pyz: Path, store: Path, tmp_path: Path, *args: str, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``python -I [python...] monitor-analyzer.pyz args...`` over the store."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env[ROOT_VARIABLE] = str(store)
    return subprocess.run([sys.executable, "-I", *python, str(pyz), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def monitor_args(tmp_path: Path, hour: int, *extra: str) -> list[str]:
    return [
        "monitor", "--capture", CAPTURE, "--scheduled-time", f"{T0 + timedelta(hours=hour):%Y-%m-%dT%H:%M:%SZ}",
        "--statistics", str(tmp_path / "baseline" / "statistics.json"), "--constraints", str(tmp_path / "baseline" / "constraints.json"),
        "--output", str(tmp_path / "output"), "--endpoint", "ep", "--schedule", "hourly", "--message", str(tmp_path / "message"), *extra,
    ]  # fmt: skip


def test_the_bundle_is_the_same_bytes_for_the_same_code_and_holds_only_the_analyzer(tmp_path: Path) -> None:
    import zipfile

    assert bundle.contents() == bundle.contents()
    with zipfile.ZipFile(bundle.build(tmp_path)) as archive:
        names = archive.namelist()
    assert names[0] == "__main__.py" and set(names[1:]) == {f"pipelines/{m}" for m in bundle.modules()}
    assert not any("engine" in n or "serving" in n or "cli" in n for n in names)


def test_the_bundle_keeps_to_python_3_9_as_the_scikit_learn_image_has_it() -> None:
    """SageMaker's scikit-learn 1.2-1 image runs Python 3.9 (its Dockerfile): vermin says the
    bundle's modules need nothing newer."""
    preprocess = STEPS / "preprocess.py"  # the Preprocess step runs there too
    done = subprocess.run([str(Path(sys.executable).with_name("vermin")), "--no-tips", "--violations", "-t=3.9-", *map(str, bundle.files()), str(preprocess)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_explain_job_keeps_to_python_3_8_as_the_xgboost_image_has_it() -> None:
    """The built-in XGBoost 1.7-1 image runs Python 3.8.13 (aws/sagemaker-xgboost-container,
    docker/1.7-1/base/Dockerfile.cpu): the modules the explain job imports, and the Evaluate
    step (steps/evaluate.py runs there), need nothing newer."""
    modules = bundle.python_38_files() + [STEPS / "evaluate.py"]
    done = subprocess.run([str(Path(sys.executable).with_name("vermin")), "--no-tips", "--violations", "-t=3.8-", *map(str, modules)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_hour_through_the_job_is_the_analyzers_own_result_byte_for_byte(pyz: Path, store: Path, tmp_path: Path) -> None:
    done = run_bundle(pyz, store, tmp_path, *monitor_args(tmp_path, 3))  # analyses the drifted hour, 12:00-13:00
    assert done.returncode == 0, done.stderr
    written = tmp_path / "output" / f"{T0 + timedelta(hours=3):%Y/%m/%d/%H}"
    assert {p.name for p in written.iterdir()} == {"statistics.json", "constraint_violations.json", "cloudwatch_metrics.json", "analysis_report.json", "report.html"}
    direct = analyzer.monitor(
        store / "bucket" / "data-capture" / "ep", tmp_path / "direct", tmp_path / "baseline" / "statistics.json", tmp_path / "baseline" / "constraints.json",
        capture=True, start=T0 + timedelta(hours=2), end=T0 + timedelta(hours=3), publish_metrics=True,
    )  # fmt: skip
    for name in ("statistics.json", "constraint_violations.json", "cloudwatch_metrics.json"):
        assert (written / name).read_bytes() == (tmp_path / "direct" / name).read_bytes(), name
    flagged = {v["feature_name"] for v in direct.violations if v["constraint_check_type"] == "baseline_drift_check"}
    assert "EDUCATION" in flagged
    assert (tmp_path / "message").read_text() == direct.message


AND_WHAT_IT_LOADED = (
    "import runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
    "finally:\n"
    "    print('loaded:', ' '.join(sorted(name for name, module in sys.modules.items() if module is not None)), file=sys.stderr)\n"
)  # the bundle run as python runs it, then the modules its process loaded


def test_the_job_never_imports_pandas_which_pyarrow_would_import_for_nothing(pyz: Path, store: Path, tmp_path: Path) -> None:
    """pyarrow imports pandas (0.15 s) the first time it converts values, to ask whether they are
    pandas objects; the job's process makes it unimportable (common/process.without_pandas), and the hour's
    files are still the analyzer's own (the test above)."""
    done = run_bundle(pyz, store, tmp_path, *monitor_args(tmp_path, 3), python=("-c", AND_WHAT_IT_LOADED))
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(done.stderr.split("loaded: ", 1)[1].split())
    assert {"pyarrow.compute", "numpy"} <= loaded  # what it does need
    assert not {name for name in loaded if name.split(".")[0] == "pandas"}


def test_an_empty_window_fails_as_model_monitor_did(pyz: Path, store: Path, tmp_path: Path) -> None:
    done = run_bundle(pyz, store, tmp_path, *monitor_args(tmp_path, 9))
    assert done.returncode == 1
    assert (tmp_path / "message").read_text().startswith("No data to analyze")
    assert "analysis failed: No data to analyze" in done.stderr


def test_a_baseline_through_the_job(pyz: Path, store: Path, tmp_path: Path, evaluated: Path) -> None:
    done = run_bundle(pyz, store, tmp_path, "baseline", "--dataset", str(evaluated / "baseline"), "--output", str(tmp_path / "job-baseline"))
    assert done.returncode == 0, done.stderr
    for name in ("statistics.json", "constraints.json"):
        assert (tmp_path / "job-baseline" / name).read_bytes() == (tmp_path / "baseline" / name).read_bytes()


def test_on_aws_it_reads_s3_and_publishes_model_monitors_metrics(store: Path, tmp_path: Path) -> None:
    """Against moto: the capture and the baseline are read from S3, the hour's files are left in
    the ProcessingOutput's folder, and CloudWatch gets Model Monitor's metric names, namespace
    and dimensions."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bucket")
        for path in (store / "bucket").rglob("*.jsonl"):
            s3.upload_file(str(path), "bucket", path.relative_to(store / "bucket").as_posix())
        for name in ("statistics.json", "constraints.json"):
            s3.upload_file(str(tmp_path / "baseline" / name), "bucket", f"baselines/v1/{name}")
        s3.put_object(Bucket="bucket", Key="baselines/v10/statistics.json", Body=b"{}")  # beside v1, not in it
        # The baseline as the registry has it: the statistics object, and (as a ProcessingInput
        # could take it) the folder of the constraints.
        args = job.parse_args([*monitor_args(tmp_path, 3, "--publish-metrics"), "--statistics", "s3://bucket/baselines/v1/statistics.json", "--constraints", "s3://bucket/baselines/v1"])
        result = job.run_monitor(args, Objects(client=s3))
        with pytest.raises(JobFailed, match="baseline s3://bucket/baselines/v2: expected constraints.json there, found nothing"):
            job.run_monitor(job.parse_args([*monitor_args(tmp_path, 3), "--constraints", "s3://bucket/baselines/v2"]), Objects(client=s3))
        assert (tmp_path / "output" / f"{T0 + timedelta(hours=3):%Y/%m/%d/%H}" / "constraint_violations.json").is_file()  # for the ProcessingOutput
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        listed = cloudwatch.list_metrics(Namespace=metrics.NAMESPACE)["Metrics"]
    names = {m["MetricName"] for m in listed}
    assert "feature_baseline_drift_EDUCATION" in names and "feature_non_null_LIMIT_BAL" in names and "feature_data_MARRIAGE" in names
    assert not any(n.startswith(("feature_mean_", "feature_data_type_")) for n in names)
    assert all({d["Name"]: d["Value"] for d in m["Dimensions"]} == {"Endpoint": "ep", "MonitoringSchedule": "hourly"} for m in listed)
    assert len(names) == len(metrics.published(result.metrics))
    drift = {k[len("feature_baseline_drift_"):]: v for k, v in result.metrics.items() if k.startswith("feature_baseline_drift_")}
    assert drift["EDUCATION"] > 0.1


def test_drift_metrics_equal_the_violations_distances(pyz: Path, store: Path, tmp_path: Path) -> None:
    assert run_bundle(pyz, store, tmp_path, *monitor_args(tmp_path, 3)).returncode == 0
    written = tmp_path / "output" / f"{T0 + timedelta(hours=3):%Y/%m/%d/%H}"
    published = json.loads((written / "cloudwatch_metrics.json").read_text())["metrics"]
    for violation in json.loads((written / "constraint_violations.json").read_text())["violations"]:
        if violation["constraint_check_type"] == "baseline_drift_check":
            distance = float(violation["description"].split("distance: ")[1].split(" exceeds")[0])
            assert published[f"feature_baseline_drift_{violation['feature_name']}"] == distance


# -- model quality ------------------------------------------------------------------------
@pytest.fixture
def quality_store(tmp_path: Path) -> Path:
    """Hour T0's predictions (with InferenceIds) in the capture, their labels collected an hour
    later under the ground-truth prefix, and a model-quality baseline made by the job."""
    import numpy as np

    rng = np.random.default_rng(9)
    labels = (rng.random(2400) < 0.22).astype(int)
    scores = np.clip(rng.normal(0.3 + 0.35 * labels, 0.2), 0, 1).round(6)
    pd.DataFrame({"label": labels[:2000], "probability": scores[:2000]}).to_csv(tmp_path / "labelled.csv", index=False)
    root = tmp_path / "s3"
    served = range(2000, 2400)
    hour_file(root / "bucket" / "data-capture" / "ep" / "AllTraffic", T0, [captured(f"e{i}", repr(float(scores[i])), T0 + timedelta(seconds=i), inference_id=f"row-{i}") for i in served])
    hour_file(root / "bucket" / "ground-truth" / "ep", T0 + timedelta(hours=1), [label(f"row-{i}", str(labels[i])) for i in served])
    return root


def quality_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "quality-monitor", "--capture", CAPTURE, "--ground-truth", "s3://bucket/ground-truth/ep", "--scheduled-time", f"{T0 + timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}",
        "--constraints", str(tmp_path / "quality-baseline" / "constraints.json"), "--output", str(tmp_path / "quality"),
        "--endpoint", "ep", "--schedule", "quality-hourly", "--message", str(tmp_path / "message"), *extra,
    ]  # fmt: skip


def test_model_quality_through_the_job_late_labels_included(pyz: Path, quality_store: Path, tmp_path: Path) -> None:
    done = run_bundle(pyz, quality_store, tmp_path, "quality-baseline", "--dataset", str(tmp_path / "labelled.csv"), "--output", str(tmp_path / "quality-baseline"))
    assert done.returncode == 0, done.stderr
    model_quality.monitor(quality_store / "bucket" / "data-capture" / "ep", quality_store / "bucket" / "ground-truth" / "ep", tmp_path / "direct",
                                   tmp_path / "quality-baseline" / "constraints.json", T0, T0 + timedelta(hours=1), until=T0 + timedelta(hours=2),
                                   publish_metrics=True, evaluation_time="x")  # fmt: skip
    done = run_bundle(pyz, quality_store, tmp_path, *quality_args(tmp_path))  # the window T-2h..T-1h, labels until T
    assert done.returncode == 0, done.stderr
    written = tmp_path / "quality" / f"{T0 + timedelta(hours=2):%Y/%m/%d/%H}"
    stats = json.loads((written / "statistics.json").read_text())
    assert stats["dataset"]["item_count"] == 400
    expected = json.loads((tmp_path / "direct" / "statistics.json").read_text())
    assert stats["binary_classification_metrics"] == expected["binary_classification_metrics"]
    assert (written / "constraint_violations.json").read_bytes() == (tmp_path / "direct" / "constraint_violations.json").read_bytes()
    # The measured run carries the estimate made from the same 400 predictions, beside the measured values.
    estimated = json.loads((written / "estimated_metrics.json").read_text())
    assert estimated["predictions"] == 400 and set(estimated["measured_metrics"]) == set(estimated["estimated_metrics"]) == {"auc", "accuracy", "precision", "recall", "f1"}
    # An hour earlier the labels had not been collected: the window is estimated from its predictions alone ...
    early = [*quality_args(tmp_path), "--scheduled-time", f"{T0 + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}", "--start-offset", "-PT1H", "--end-offset", "-PT0H"]
    done = run_bundle(pyz, quality_store, tmp_path, *early)
    assert done.returncode == 0, done.stderr
    before = tmp_path / "quality" / f"{T0 + timedelta(hours=1):%Y/%m/%d/%H}"
    assert sorted(p.name for p in before.iterdir()) == ["analysis_report.json", "cloudwatch_metrics.json", "constraint_violations.json", "estimated_metrics.json"]
    assert set(json.loads((before / "cloudwatch_metrics.json").read_text())["metrics"]) == {"estimated_auc", "estimated_accuracy", "estimated_precision", "estimated_recall", "estimated_f1"}
    # ... and without the baseline's calibration (Model Monitor's baseline has none) it fails as Model Monitor's did.
    (tmp_path / "quality-baseline" / "calibration.json").unlink()
    done = run_bundle(pyz, quality_store, tmp_path, *early)
    assert done.returncode == 1
    assert (tmp_path / "message").read_text().startswith(
        f"No data to analyze: no captured prediction between 2026-11-20T10:00:00+00:00 and 2026-11-20T11:00:00+00:00 in {CAPTURE} "
        "has a ground-truth label in s3://bucket/ground-truth/ep (400 prediction(s) in the window, 0 label(s) read)"
    )


def test_model_quality_on_aws_publishes_model_monitors_model_metrics(quality_store: Path, tmp_path: Path) -> None:
    import boto3
    from moto import mock_aws

    assert model_quality.baseline(tmp_path / "labelled.csv", tmp_path / "quality-baseline", "probability", "label").kind == "baseline"
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bucket")
        for path in (quality_store / "bucket").rglob("*.jsonl"):
            s3.upload_file(str(path), "bucket", path.relative_to(quality_store / "bucket").as_posix())
        s3.upload_file(str(tmp_path / "quality-baseline" / "constraints.json"), "bucket", "baselines/q1/constraints.json")
        args = job.parse_args([*quality_args(tmp_path, "--publish-metrics"), "--constraints", "s3://bucket/baselines/q1"])
        result = job.run_quality(args, Objects(client=s3))
        listed = boto3.client("cloudwatch", region_name="us-east-1").list_metrics(Namespace="aws/sagemaker/Endpoints/model-metrics")["Metrics"]
    names = {m["MetricName"] for m in listed}
    assert {"auc", "f1", "accuracy", "precision", "recall", "false_positive_rate", "f1_best_constant_classifier"} <= names
    assert names == set(result.metrics)
    assert all({d["Name"]: d["Value"] for d in m["Dimensions"]} == {"Endpoint": "ep", "MonitoringSchedule": "quality-hourly"} for m in listed)
