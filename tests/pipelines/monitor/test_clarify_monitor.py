"""Clarify's two monitors on captured traffic, run from the bundle as the monitoring pipeline runs
them: bias drift (captured requests merged with late ground truth) and feature-attribution drift,
on a clean hour and on the workshop's drift (EDUCATION and MARRIAGE negated)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.monitor import bundle
from pipelines.monitor.job.clarify import attribution, bias
from pipelines.monitor.job.clarify import jobs as clarify_job
from pipelines.monitor.job.clarify import monitor as clarify_monitor
from pipelines.monitor.job.common.objects import ROOT_VARIABLE
from steps import evaluate
from tests.helpers.capture_helpers import hour_file, label, record

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
CAPTURE, GROUND_TRUTH = "s3://bucket/data-capture/ep", "s3://bucket/ground-truth/ep"
ROWS = 800


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle.build(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def baselines(preprocessed: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build pipeline's BiasReport and Explain outputs for the session's model."""
    out = tmp_path_factory.mktemp("clarify-baselines")
    test = str(preprocessed / "test")
    assert evaluate.main(["--model-dir", str(model_dir), "--test-dir", test, "--output-dir", str(out / "evaluation"), "--predictions-dir", str(out / "predictions")]) == 0
    facets = ["--facet", "SEX=2", "--facet", "MARRIAGE=2", "--facet", "AGE>40"]
    assert clarify_job.main(["bias", "--dataset", test, "--predictions", str(out / "predictions"), *facets, "--group-variable", "EDUCATION", "--output", str(out / "bias")]) == 0
    assert clarify_job.main(["explain", "--model", str(model_dir), "--dataset", test, "--output", str(out / "explainability")]) == 0
    return out


@pytest.fixture(scope="module")
def traffic(preprocessed: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, pd.DataFrame]]:
    """Two hours of captured requests with InferenceIds, each row's label collected the hour
    after: hour 0 clean test rows, hour 1 the workshop's drift (EDUCATION and MARRIAGE negated)."""
    booster = evaluate.load_model(model_dir, tmp_path_factory.mktemp("model"))
    test = pd.read_csv(preprocessed / "test" / "test.csv")
    root = tmp_path_factory.mktemp("s3")
    frames = {}
    for hour in range(2):
        frame = test.sample(ROWS, random_state=hour).reset_index(drop=True)
        if hour == 1:
            frame = frame.assign(EDUCATION=-frame["EDUCATION"], MARRIAGE=-frame["MARRIAGE"])
        features = frame.iloc[:, 1:]
        import xgboost

        frame["probability"] = booster.predict(xgboost.DMatrix(features.to_numpy(dtype=np.float32)))
        lines, labels = [], []
        for i, row in enumerate(features.itertuples(index=False)):
            item = record(",".join(repr(float(v)) for v in row), repr(float(frame["probability"][i])), T0 + timedelta(hours=hour, seconds=4 * i))
            item["eventMetadata"]["inferenceId"] = f"h{hour}-{i}"
            lines.append(json.dumps(item))
            labels.append(label(f"h{hour}-{i}", str(int(frame["Label"][i]))))
        hour_file(root / "bucket" / "data-capture" / "ep" / "AllTraffic", T0 + timedelta(hours=hour), lines)
        hour_file(root / "bucket" / "ground-truth" / "ep", T0 + timedelta(hours=hour + 1), labels, name=f"labels-{hour}.jsonl")
        frames[hour] = frame
    return root, frames


def run_bundle(pyz: Path, store: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env[ROOT_VARIABLE] = str(store)
    return subprocess.run([sys.executable, "-I", str(pyz), *args, "--message", str(tmp_path / "message")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def bias_args(baselines: Path, tmp_path: Path, scheduled: datetime) -> list[str]:
    return [
        "bias-monitor", "--capture", CAPTURE, "--ground-truth", GROUND_TRUTH, "--scheduled-time", f"{scheduled:%Y-%m-%dT%H:%M:%SZ}",
        "--constraints", str(baselines / "bias" / "analysis.json"), "--config", str(baselines / "bias" / "analysis_config.json"),
        "--output", str(tmp_path / "out"), "--endpoint", "ep", "--schedule", "bias-hourly",
    ]  # fmt: skip


def attribution_args(baselines: Path, model_dir: Path, tmp_path: Path, scheduled: datetime, *extra: str) -> list[str]:
    return [
        "attribution-monitor", "--capture", CAPTURE, "--scheduled-time", f"{scheduled:%Y-%m-%dT%H:%M:%SZ}",
        "--constraints", str(baselines / "explainability" / "analysis.json"), "--model", str(model_dir / "model.tar.gz"),
        "--output", str(tmp_path / "out"), "--endpoint", "ep", "--schedule", "attribution-hourly", *extra,
    ]  # fmt: skip


def test_bias_drift_of_a_clean_hour_equals_the_metrics_of_its_rows(pyz: Path, baselines: Path, traffic: tuple, tmp_path: Path) -> None:
    store, frames = traffic
    done = run_bundle(pyz, store, tmp_path, *bias_args(baselines, tmp_path, T0 + timedelta(hours=2)))  # hour 0, labels collected at hour 1
    assert done.returncode == 0, done.stderr
    written = tmp_path / "out" / f"{T0 + timedelta(hours=2):%Y/%m/%d/%H}"
    assert sorted(p.name for p in written.iterdir()) == ["analysis.json", "analysis_report.json", "cloudwatch_metrics.json", "constraint_violations.json", "report.html"]
    document = json.loads((written / "analysis.json").read_text())
    config = bias.BiasConfig.from_dict(json.loads((baselines / "bias" / "analysis_config.json").read_text()))
    frame = frames[0]
    names = list(frame.columns[1:24])
    table = bias.Table({n: frame[n].to_numpy(dtype=float) for n in names}, bias.favourable(frame["Label"].to_numpy(dtype=float), config),
                       bias.predicted_favourable(frame["probability"].to_numpy(dtype=float), config), names)  # fmt: skip
    assert document == json.loads(json.dumps(bias.analysis(bias.pre_training(table, config), bias.post_training(table, config))))
    report = json.loads((written / "analysis_report.json").read_text())
    assert report["matched"] == ROWS and report["capture"]["rows"] == ROWS
    violations = json.loads((written / "constraint_violations.json").read_text())
    assert violations["version"] == "1.0"
    # Beyond what the window's size explains: the window's standard errors, by its own rows.
    assert violations["violations"] == bias.violations(document, json.loads((baselines / "bias" / "analysis.json").read_text()), bias.standard_errors(table, config))
    assert report["constraint_rule"] == "window"
    assert all(v["constraint_check_type"] == "bias_drift_check" for v in violations["violations"])
    metrics = json.loads((written / "cloudwatch_metrics.json").read_text())
    assert metrics["namespace"] == "aws/sagemaker/Endpoints/bias-metrics"
    (sex_di,) = [v for f, g, v in bias.values(document, "DI") if f == "SEX"]
    assert metrics["metrics"]["bias_metric_DI.SEX=2"] == sex_di
    assert "bias_metric_DI.AGE=40" in metrics["metrics"]  # a continuous facet by its threshold


def test_attribution_metric_data_has_clarifys_names_and_dimensions() -> None:
    """docs.aws.amazon.com/sagemaker/latest/dg/clarify-feature-attribute-drift-cw.html: feature_<name>
    and ExpectedValue, with Endpoint, MonitoringSchedule, ExplainabilityMethod (KernelShap), Label
    (label0) and ValueType (GlobalShapValues or ExpectedValue)."""
    data = clarify_monitor.attribution_metric_data({"feature_PAY_0": 0.5, "ExpectedValue": -1.4, "feature_attribution_ndcg": 0.97}, "ep", "attribution-hourly", T0)
    by_name = {d["MetricName"]: [(x["Name"], x["Value"]) for x in d["Dimensions"]] for d in data}
    common = [("Endpoint", "ep"), ("MonitoringSchedule", "attribution-hourly"), ("ExplainabilityMethod", "KernelShap"), ("Label", "label0")]
    assert by_name["feature_PAY_0"] == [*common, ("ValueType", "GlobalShapValues")]
    assert by_name["ExpectedValue"] == [*common, ("ValueType", "ExpectedValue")]
    assert by_name["feature_attribution_ndcg"] == common[:2]  # ours: Clarify publishes no nDCG


def test_bias_drift_metric_data_has_clarifys_names_and_dimensions(baselines: Path) -> None:
    document = json.loads((baselines / "bias" / "analysis.json").read_text())
    data = clarify_monitor.bias_metric_data(document, "ep", "bias-hourly", T0)
    di = next(d for d in data if d["MetricName"] == "bias_metric_DI")
    assert [(d["Name"], d["Value"]) for d in di["Dimensions"]] == [
        ("Endpoint", "ep"), ("MonitoringSchedule", "bias-hourly"), ("BiasStage", "Post-Training"), ("Label", "Label"),
        ("LabelValue", "0"), ("Facet", "SEX"), ("FacetValue", "2"),
    ]  # fmt: skip
    stages = {next(x["Value"] for x in d["Dimensions"] if x["Name"] == "BiasStage") for d in data}
    assert stages == {"Pre-training", "Post-Training"}
    assert {d["MetricName"] for d in data} >= {"bias_metric_CI", "bias_metric_DPL", "bias_metric_DPPL", "bias_metric_FT"}
    # Infinity as Clarify publishes it; undefined values not at all.
    entry = {"value_or_threshold": "2", "metrics": [{"name": "TE", "value": "Infinity"}, {"name": "AD", "value": None, "error": "x"}]}
    odd = clarify_monitor.bias_metric_data({"post_training_bias_metrics": {"label": "Label", "label_value_or_threshold": "0", "facets": {"SEX": [entry]}}}, "ep", "s", T0)
    assert [(d["MetricName"], d["Value"]) for d in odd] == [("bias_metric_TE", 2.348543e108)]


def test_the_workshops_drift_empties_the_single_group_and_moves_the_attributions(pyz: Path, baselines: Path, model_dir: Path, traffic: tuple, tmp_path: Path) -> None:
    store, _ = traffic
    done = run_bundle(pyz, store, tmp_path, *bias_args(baselines, tmp_path, T0 + timedelta(hours=3)))  # the drifted hour
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "out" / f"{T0 + timedelta(hours=3):%Y/%m/%d/%H}" / "analysis.json").read_text())
    # MARRIAGE is negated: no row is 2 (single) any more, and Clarify's report says so.
    (marriage,) = [v for f, g, v in bias.values(document, "DI") if f == "MARRIAGE"]
    assert marriage is None
    attributions, moved = {}, {}
    for hour in range(2):
        out = tmp_path / f"attribution-{hour}"
        scheduled = T0 + timedelta(hours=hour + 1)
        done = run_bundle(pyz, store, out.parent, *attribution_args(baselines, model_dir, tmp_path, scheduled)[:-6], "--output", str(out), "--endpoint", "ep", "--schedule", "attribution-hourly")
        assert done.returncode == 0, done.stderr
        written = out / f"{scheduled:%Y/%m/%d/%H}"
        attributions[hour] = attribution.global_from(json.loads((written / "analysis.json").read_text()))
        metrics = json.loads((written / "cloudwatch_metrics.json").read_text())
        assert metrics["namespace"] == "aws/sagemaker/Endpoints/explainability-metrics"
        report = json.loads((written / "analysis_report.json").read_text())
        assert metrics["metrics"]["feature_attribution_ndcg"] == report["ndcg"]["label0"]
        document = json.loads((written / "analysis.json").read_text())["explanations"]["kernel_shap"]["label0"]
        # Clarify's names: feature_<feature> for each global SHAP value, ExpectedValue.
        assert {k: v for k, v in metrics["metrics"].items() if k.startswith("feature_") and k != "feature_attribution_ndcg"} == {
            f"feature_{name}": value for name, value in document["global_shap_values"].items()
        }
        assert metrics["metrics"]["ExpectedValue"] == document["expected_value"]
        violations = json.loads((written / "constraint_violations.json").read_text())["violations"]
        ranked = [v for v in violations if v["description"].startswith("Feature attribution drift ")]
        assert bool(ranked) == (report["ndcg"]["label0"] < 0.9)  # Clarify's nDCG check
        moved[hour] = sorted(re.match(r"Feature attribution of (\S+) ", v["description"])[1] for v in violations if v not in ranked)
    # The clean hour moves no feature's attribution beyond what its 400 rows explain; the drifted
    # one moves the negated features' (and AGE's, through the trees' interactions), which nDCG,
    # above 0.9, does not see.
    assert moved[0] == [] and {"EDUCATION", "MARRIAGE"} <= set(moved[1]), moved
    baseline = attribution.global_from(json.loads((baselines / "explainability" / "analysis.json").read_text()))
    # The clean hour ranks the features as the baseline does; the drifted one moves the two negated features.
    assert attribution.ndcg(baseline, attributions[0]) > 0.99
    for name in ("EDUCATION", "MARRIAGE"):
        clean, drifted = attributions[0][name], attributions[1][name]
        assert abs(drifted - clean) > 0.25 * clean, (name, clean, drifted)


def test_a_strict_threshold_is_a_violation_and_an_empty_window_fails(pyz: Path, baselines: Path, model_dir: Path, traffic: tuple, tmp_path: Path) -> None:
    store, _ = traffic
    done = run_bundle(pyz, store, tmp_path, *attribution_args(baselines, model_dir, tmp_path, T0 + timedelta(hours=2), "--threshold", "0.99999", "--constraint-rule", "baseline"))
    assert done.returncode == 0, done.stderr
    violations = json.loads((tmp_path / "out" / f"{T0 + timedelta(hours=2):%Y/%m/%d/%H}" / "constraint_violations.json").read_text())["violations"]
    assert [(v["label"], v["metric_name"], v["constraint_check_type"]) for v in violations] == [("label0", "shap", "feature_attribution_drift_check")]
    assert violations[0]["description"].startswith("Feature attribution drift 0.9") and violations[0]["description"].endswith("exceeds threshold 0.99999")
    done = run_bundle(pyz, store, tmp_path, *attribution_args(baselines, model_dir, tmp_path, T0 + timedelta(hours=9)))
    assert done.returncode == 1
    assert (tmp_path / "message").read_text().startswith(f"No data to analyze: no captured request between {T0 + timedelta(hours=8):%Y-%m-%dT%H:%M:%S}")
    assert (tmp_path / "message").read_text().count(CAPTURE) == 1
