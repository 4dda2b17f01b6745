"""Bias and feature-attribution schedules over simulated hours on the local engine: the monitoring
pipeline's Clarify branches, their timelines, violations and alarms that retrain."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost

from pipelines.cli import main as mlops
from pipelines.local.home import Home
from pipelines.monitor.job.clarify import jobs as clarify_job
from pipelines.monitor.scheduler import Monitor
from pipelines.monitor.schedules import MonitoringStore
from pipelines.monitoring.local import PipelineJob
from pipelines.serving import deploy
from steps import evaluate
from tests.helpers.capture_helpers import hour_file, label, record
from tests.helpers.retrainers import FakeRetrainer

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
CAPTURE, TRUTH, MODEL = "s3://bucket/data-capture", "s3://bucket/ground-truth", "s3://bucket/models/m1/model.tar.gz"


@pytest.fixture
def home(tmp_path: Path, preprocessed: Path, model_dir: Path) -> Home:
    """A home with the model deployed to endpoint ep, and the BiasReport's and Explain's baselines."""
    home = Home.resolve(tmp_path / "home")
    store = home.objects()
    store.path(MODEL).parent.mkdir(parents=True)
    store.path(MODEL).write_bytes((model_dir / "model.tar.gz").read_bytes())
    deploy.create_model(home, "m1", {"PrimaryContainer": {"Image": "xgboost:1.7-1", "ModelDataUrl": MODEL}, "ExecutionRoleArn": "arn:aws:iam::000000000000:role/r"})
    deploy.create_endpoint_config(home, "c1", {"ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]})
    deploy.activate(home, "ep", "c1")
    test = str(preprocessed / "test")
    out = tmp_path / "baselines"
    assert evaluate.main(["--model-dir", str(model_dir), "--test-dir", test, "--output-dir", str(out / "evaluation"), "--predictions-dir", str(out / "predictions")]) == 0
    assert clarify_job.main(["bias", "--dataset", test, "--predictions", str(out / "predictions"), "--facet", "SEX=2", "--facet", "MARRIAGE=2", "--facet", "AGE>40",
                             "--group-variable", "EDUCATION", "--output", str(out / "bias")]) == 0  # fmt: skip
    assert clarify_job.main(["explain", "--model", str(model_dir), "--dataset", test, "--output", str(out / "explainability")]) == 0
    store.publish(out / "bias", "s3://bucket/baselines/bias")
    store.publish(out / "explainability", "s3://bucket/baselines/explainability")
    return home


def serve(home: Home, frame: pd.DataFrame, booster: object, hour: datetime, tag: str) -> None:
    """The rows requested in ``hour`` with InferenceIds; their labels collected an hour later."""
    features = frame.iloc[:, 1:]
    scores = booster.predict(xgboost.DMatrix(features.to_numpy(dtype=np.float32)))  # type: ignore[attr-defined]
    lines, labels = [], []
    for i, (row, score) in enumerate(zip(features.itertuples(index=False), scores, strict=True)):
        item = record(",".join(repr(float(v)) for v in row), repr(float(score)), hour + timedelta(seconds=3 * i))
        item["eventMetadata"]["inferenceId"] = f"{tag}-{i}"
        lines.append(json.dumps(item))
        labels.append(label(f"{tag}-{i}", str(int(frame["Label"].iloc[i]))))
    hour_file(home.objects().path(f"{CAPTURE}/ep/AllTraffic"), hour, lines, f"{tag}.jsonl")
    hour_file(home.objects().path(f"{TRUTH}/ep"), hour + timedelta(hours=1, minutes=5), labels, f"{tag}.jsonl")


def test_bias_and_attribution_schedules_watch_the_workshops_drift(home: Home, preprocessed: Path, model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    booster = evaluate.load_model(model_dir, tmp_path / "model")
    test = pd.read_csv(preprocessed / "test" / "test.csv")
    clean, drifted = test.sample(700, random_state=1), test.sample(700, random_state=2)
    drifted = drifted.assign(EDUCATION=-drifted["EDUCATION"], MARRIAGE=-drifted["MARRIAGE"])
    serve(home, clean, booster, T0, "clean")
    serve(home, drifted, booster, T0 + timedelta(hours=1), "drifted")
    cli = ["--home", str(home.root), "monitor"]
    assert mlops.main([*cli, "schedule", "create", "--type", "bias", "--name", "bias", "--endpoint", "ep", "--capture", CAPTURE, "--ground-truth", TRUTH,
                       "--baseline-config", "s3://bucket/baselines/bias/analysis_config.json", "--baseline-constraints", "s3://bucket/baselines/bias/analysis.json"]) == 0  # fmt: skip
    assert mlops.main([*cli, "schedule", "create", "--type", "feature-attribution", "--name", "attribution", "--endpoint", "ep", "--capture", CAPTURE,
                       "--baseline-config", "s3://bucket/baselines/explainability/analysis_config.json",
                       "--baseline-constraints", "s3://bucket/baselines/explainability/analysis.json"]) == 0  # fmt: skip
    # A DI of single applicants below the four-fifths rule, and the MARRIAGE attribution above 0.2, both for one execution, retrain.
    assert mlops.main([*cli, "alarm", "create", "--name", "single-di", "--schedule", "bias", "--metric", "bias_metric_DI.SEX=2", "--periods", "1"]) == 0
    assert "bias_metric_DI.SEX=2 < 0.8" in capsys.readouterr().out
    assert mlops.main([*cli, "alarm", "create", "--name", "marriage-attribution", "--schedule", "attribution", "--metric", "feature_MARRIAGE", "--threshold", "0.2", "--periods", "1"]) == 0
    retrainer = FakeRetrainer()
    with Monitor(home, retrainer, PipelineJob(home)) as monitor:
        outcomes = monitor.run_due(now=T0 + timedelta(hours=3, minutes=30), backfill_from=T0)
    by = {(o.schedule, o.scheduled - T0): o.status for o in outcomes}
    # Bias looks at the hour before last (labels come an hour late); attribution at the last hour.
    assert by[("bias", timedelta(hours=1))] == by[("attribution", timedelta(hours=3))] == "Failed"  # nothing served in their windows
    assert by[("bias", timedelta(hours=2))] == "Completed"  # a clean hour of 700 rows: no metric worse than its size explains
    assert by[("attribution", timedelta(hours=1))] == "Completed"
    # nDCG 0.96 (MARRIAGE had little weight in the baseline's ranking), but the negated features'
    # own attributions moved beyond what 700 rows explain: the per-feature check names them.
    assert by[("attribution", timedelta(hours=2))] == "CompletedWithViolations"
    with MonitoringStore(home) as store:
        bias_runs = {e["ScheduledTime"]: e for e in store.list_executions("bias")}
        attribution_runs = {e["ScheduledTime"]: e for e in store.list_executions("attribution")}
    clean_bias, drifted_bias = bias_runs["2026-11-20T12:00:00Z"], bias_runs["2026-11-20T13:00:00Z"]
    assert 0.8 < clean_bias["Metrics"]["bias_metric_DI.SEX=2"] < 1.25 and "bias_metric_DI.MARRIAGE=2" in clean_bias["Metrics"]
    assert "bias_metric_DI.MARRIAGE=2" not in drifted_bias["Metrics"]  # no single applicant left: undefined, not published
    clean_attribution, drifted_attribution = attribution_runs["2026-11-20T11:00:00Z"], attribution_runs["2026-11-20T12:00:00Z"]
    assert clean_attribution["Metrics"]["feature_attribution_ndcg"] > 0.99
    assert drifted_attribution["Metrics"]["feature_MARRIAGE"] > 5 * clean_attribution["Metrics"]["feature_MARRIAGE"]
    assert 0.9 < drifted_attribution["Metrics"]["feature_attribution_ndcg"] < clean_attribution["Metrics"]["feature_attribution_ndcg"]
    # The attribution alarm saw it and retrained; the DI alarm did not fire.
    assert [call[0] for call in retrainer.calls] == ["marriage-attribution"]
    assert retrainer.calls[0][1].startswith("feature_MARRIAGE = ")
    for schedule, title in (("bias", "Bias drift over time"), ("attribution", "Feature attribution drift over time")):
        timeline = home.objects().path(f"s3://bucket/monitoring/ep/{schedule}/timeline.html").read_text()
        assert title in timeline
    # The same commands read Clarify's executions.
    capsys.readouterr()
    assert mlops.main([*cli, "violations", "--schedule", "bias"]) == 0
    assert capsys.readouterr().out.splitlines() == ["bias at 2026-11-20T13:00:00Z: Completed", "no violations"]  # no metric of a group it still has moved
    assert mlops.main([*cli, "schedule", "describe", "attribution"]) == 0
    described = json.loads(capsys.readouterr().out)
    definition = described["MonitoringScheduleConfig"]["MonitoringJobDefinition"]
    assert described["MonitoringType"] == "ModelExplainability"
    assert definition["MonitoringAppSpecification"]["ConfigUri"].endswith("explainability/analysis_config.json")
    assert definition["BaselineConfig"] == {"ConstraintsResource": {"S3Uri": "s3://bucket/baselines/explainability/analysis.json"}}


def test_clarify_schedules_refuse_what_they_cannot_use(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    cli = ["--home", str(home.root), "monitor"]
    base = ["schedule", "create", "--name", "b", "--endpoint", "ep", "--capture", CAPTURE, "--baseline-constraints", "s3://bucket/baselines/bias/analysis.json"]
    assert mlops.main([*cli, *base, "--type", "bias", "--baseline-statistics", "s3://x/statistics.json"]) == 1
    assert "--type bias takes --baseline-config, not --baseline-statistics" in capsys.readouterr().err
    assert mlops.main([*cli, *base, "--type", "feature-attribution", "--baseline-config", "s3://bucket/c.json", "--ground-truth", TRUTH]) == 1
    assert "--ground-truth is for --type model-quality and --type bias" in capsys.readouterr().err
    assert mlops.main([*cli, *base, "--type", "bias", "--baseline-config", "s3://bucket/baselines/bias/analysis_config.json"]) == 0
    assert mlops.main([*cli, "alarm", "create", "--name", "a", "--schedule", "b", "--metric", "auc"]) == 1
    assert "alarm on a metric of a facet group, e.g. bias_metric_DI.SEX=2" in capsys.readouterr().err
    assert mlops.main([*cli, "alarm", "create", "--name", "a", "--schedule", "b", "--metric", "bias_metric_DPPL.SEX=2"]) == 1
    assert "bias_metric_DPPL.SEX=2 has no default" in capsys.readouterr().err
