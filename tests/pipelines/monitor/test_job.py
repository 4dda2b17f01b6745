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

from pipelines.monitor import analyzer, bundle, job, metrics
from pipelines.monitor.objects import ROOT_VARIABLE, Objects
from steps.preprocess import plain_decimals

from capture_helpers import capture_frame

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
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


def run_bundle(pyz: Path, store: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env[ROOT_VARIABLE] = str(store)
    return subprocess.run([sys.executable, "-I", str(pyz), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


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
    assert names[0] == "__main__.py" and set(names[1:]) == {f"pipelines/{m}" for m in bundle.MODULES}
    assert not any("engine" in n or "serving" in n or "cli" in n for n in names)


def test_the_bundle_keeps_to_python_3_9_as_the_scikit_learn_image_has_it() -> None:
    """SageMaker's scikit-learn 1.2-1 image runs Python 3.9 (its Dockerfile): vermin says the
    bundle's modules need nothing newer."""
    done = subprocess.run([str(Path(sys.executable).with_name("vermin")), "--no-tips", "--violations", "-t=3.9-", *map(str, bundle.files())], capture_output=True, text=True)
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
        with pytest.raises(job.JobFailed, match="baseline s3://bucket/baselines/v2: expected constraints.json there, found nothing"):
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
