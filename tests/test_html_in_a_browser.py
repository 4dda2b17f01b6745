"""The HTML reports, rendered by a real browser (headless Chromium): every chart is there.

.ci/run installs Debian's chromium; on a machine without it this test is skipped, saying so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from pipelines.monitor.job.data_quality import analyzer
from pipelines.monitor.scheduler import Monitor
from pipelines.monitoring.local import PipelineJob
from steps.preprocess import plain_decimals
from tests.helpers.capture_helpers import capture_frame
from tests.helpers.retrainers import FakeRetrainer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def rendered_dom(page: Path, profile: Path) -> str:
    """The DOM after Chromium has loaded and laid out the page."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}"]
    done = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (.ci/run installs it)")
def test_reports_render_every_chart(tmp_path: Path, evaluated: Path, scored_test: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    analyzer.baseline(evaluated / "baseline" / "baseline.csv", tmp_path / "baseline")
    ObjectStore(home.store).publish(tmp_path / "baseline", "s3://b/baseline")
    frame = pd.read_csv(scored_test, dtype={"prediction": str})
    for hour in range(2):
        part = frame.sample(300, random_state=hour)
        if hour == 1:
            part = part.assign(EDUCATION=-part["EDUCATION"].astype(int))
        capture_frame(plain_decimals(part), ObjectStore(home.store).path("s3://b/capture"), T0 + timedelta(hours=hour), timedelta(minutes=50))
    monitor = Monitor(home, retrainer=FakeRetrainer(), job=PipelineJob(home))
    monitor.schedules.create_schedule("hourly", "ep", "cron(0 * ? * * *)", "s3://b/capture", "s3://b/baseline/statistics.json", "s3://b/baseline/constraints.json", "s3://b/monitoring")
    outcomes = monitor.run_due(now=T0 + timedelta(hours=2, minutes=1), backfill_from=T0)
    monitor.close()
    assert [o.status for o in outcomes] == ["Completed", "CompletedWithViolations"]
    store = ObjectStore(home.store)
    report = rendered_dom(store.path(outcomes[-1].report) / "report.html", tmp_path / "chrome-1")
    assert len(re.findall(r'<svg class="chart distribution"', report)) == 24, "a distribution chart is missing"
    assert len(re.findall(r'<svg class="chart gauge"', report)) == 24, "a drift gauge is missing"
    assert "EDUCATION" in report and "CompletedWithViolations" in report
    timeline = rendered_dom(store.path("s3://b/monitoring/ep/hourly") / "timeline.html", tmp_path / "chrome-2")
    assert len(re.findall(r'data-series="drift"', timeline)) == 24, "a drift-over-time chart is missing"
    assert len(re.findall(r'data-series="mean"', timeline)) == 24, "a mean-over-time chart is missing"
    assert re.search(r"<polyline[^>]+points=\"[\d.]+,[\d.]+ [\d.]+,[\d.]+\"", timeline), "the lines have no points"


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (.ci/run installs it)")
def test_bias_and_explainability_reports_render_every_chart(tmp_path: Path, preprocessed: Path, model_dir: Path) -> None:
    from pipelines.monitor.job.clarify import jobs as clarify_job
    from steps import evaluate

    test = str(preprocessed / "test")
    assert evaluate.main(["--model-dir", str(model_dir), "--test-dir", test, "--output-dir", str(tmp_path / "evaluation"), "--predictions-dir", str(tmp_path / "predictions")]) == 0
    assert clarify_job.main(["bias", "--dataset", test, "--predictions", str(tmp_path / "predictions"), "--train", str(preprocessed / "train"),
                             "--facet", "SEX=2", "--facet", "MARRIAGE=2", "--facet", "AGE>40", "--group-variable", "EDUCATION", "--output", str(tmp_path / "bias")]) == 0  # fmt: skip
    assert clarify_job.main(["explain", "--model", str(model_dir), "--dataset", test, "--output", str(tmp_path / "explainability")]) == 0
    bias = rendered_dom(tmp_path / "bias" / "report.html", tmp_path / "chrome-1")
    assert len(re.findall(r'<svg class="chart band"', bias)) == 3, "a disparate-impact band is missing"
    assert len(re.findall(r'<svg class="chart metrics"', bias)) == 6, "a facet group's metrics are missing"
    assert len(re.findall(r"<rect [^>]*><title>", bias)) >= 3 * (8 + 12), "metric bars are missing"
    explained = rendered_dom(tmp_path / "explainability" / "report.html", tmp_path / "chrome-2")
    assert len(re.findall(r"<text[^>]*>(PAY_0|LIMIT_BAL|EDUCATION|MARRIAGE)</text>", explained)) >= 4
    assert explained.count("<circle") == 12 * 400, "the beeswarm's dots are missing"
