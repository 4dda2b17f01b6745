"""The monitoring pipeline: rendered offline by the SDK, checked as the build pipeline is, and run
on the local engine it turns a captured hour into the analyzer's own files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.build import code_assets, definition
from pipelines.core import graph
from pipelines.engine.records import Records
from pipelines.engine.runtimes import Runtimes
from pipelines.engine.validation import validate
from pipelines.local.home import Home
from pipelines.monitor.job.data_quality import analyzer
from pipelines.runs import local_run
from steps.preprocess import plain_decimals
from tests.helpers.capture_helpers import capture_frame

MODULE = "pipelines.monitoring.pipeline"
GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "monitoring_definition.json"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    return definition.render(definition.build(MODULE, {}))


def normalise(document: dict[str, Any]) -> str:
    return re.sub(r"/code/[0-9a-f]{16}/", "/code/<digest>/", definition.dumps(document))


def test_one_processing_step_per_monitoring_type_over_the_window_with_the_schedules_parameters(rendered: dict[str, Any]) -> None:
    nodes = {node.name: node for node in graph.steps(rendered)}
    assert {name: (node.type, node.branch) for name, node in nodes.items()} == {
        "WhichMonitoring": ("Condition", None),
        "WhichClarifyMonitor": ("Condition", "WhichMonitoring.if"),
        "WhichModelMonitor": ("Condition", "WhichMonitoring.else"),
        "MonitorModelBias": ("Processing", "WhichClarifyMonitor.if"),
        "MonitorModelExplainability": ("Processing", "WhichClarifyMonitor.else"),
        "MonitorModelQuality": ("Processing", "WhichModelMonitor.if"),
        "MonitorDataQuality": ("Processing", "WhichModelMonitor.else"),
    }
    kind = {"Get": "Parameters.MonitoringType"}
    assert nodes["WhichMonitoring"].step["Arguments"]["Conditions"] == [{"Type": "In", "QueryValue": kind, "Values": ["ModelBias", "ModelExplainability"]}]
    assert nodes["WhichModelMonitor"].step["Arguments"]["Conditions"] == [{"Type": "Equals", "LeftValue": kind, "RightValue": "ModelQuality"}]
    assert nodes["WhichClarifyMonitor"].step["Arguments"]["Conditions"] == [{"Type": "Equals", "LeftValue": kind, "RightValue": "ModelBias"}]
    # The explainability monitor runs where xgboost is: the built-in XGBoost image.
    images = {name: nodes[name].step["Arguments"]["AppSpecification"]["ImageUri"] for name in nodes if name.startswith("Monitor")}
    assert images["MonitorModelExplainability"].endswith("/sagemaker-xgboost:1.7-1")
    assert {images[n].rsplit("/", 1)[1] for n in ("MonitorModelBias", "MonitorModelQuality", "MonitorDataQuality")} == {"sagemaker-scikit-learn:1.2-1-cpu-py3"}
    parameters = {p["Name"]: p for p in rendered["Parameters"]}
    assert {"ScheduledTime", "EndpointName", "ScheduleName", "CaptureUri", "BaselineStatisticsUri", "BaselineConstraintsUri", "OutputUri", "StartOffset", "EndOffset", "PublishMetrics",
            "MonitoringType", "GroundTruthUri", "ProbabilityThreshold", "GroundTruthUntil", "BiasConfigUri", "ModelDataUrl", "AttributionThreshold"} <= set(parameters)  # fmt: skip
    assert parameters["StartOffset"]["DefaultValue"] == "-PT1H" and parameters["ScheduleName"]["DefaultValue"] == "credit-default-hourly"
    assert parameters["MonitoringType"]["DefaultValue"] == "DataQuality" and parameters["MonitoringType"]["EnumValues"] == ["DataQuality", "ModelQuality", "ModelBias", "ModelExplainability"]
    arguments = nodes["MonitorModelQuality"].step["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert arguments[0] == "quality-monitor" and arguments[arguments.index("--ground-truth") + 1] == {"Std:Join": {"On": "/", "Values": [{"Get": "Parameters.GroundTruthUri"}, {"Get": "Parameters.EndpointName"}]}}
    validate(rendered, Runtimes(mapped={}))  # every Get resolves, every shape fits: the engine's checks


def test_its_code_is_the_analyzer_bundle(rendered: dict[str, Any]) -> None:
    (asset,) = code_assets.find(rendered)
    assert asset.uri.startswith("s3://sagemaker-us-east-1-mlops/credit-default/code/") and asset.path.name == "monitor-analyzer.pyz"


def test_golden_file(rendered: dict[str, Any]) -> None:
    text = normalise(rendered)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert GOLDEN.is_file(), "run UPDATE_GOLDEN=1 pytest tests/pipelines to create the golden file"
    assert text == GOLDEN.read_text(), "the definition changed: review, then UPDATE_GOLDEN=1 to accept"


def test_network_isolation_is_refused_with_the_reason(tmp_path: Path) -> None:
    """The workshop's environment file may ask for isolation; this job reads S3 and publishes
    metrics itself, so it says why it cannot."""
    from pipelines.core.errors import DefinitionError

    (tmp_path / "workshop.env").write_text("SubnetIds=subnet-1\nSecurityGroupIds=sg-1\nNetworkIsolation=true\n")
    with pytest.raises(DefinitionError, match="cannot run with network isolation"):
        definition.build(MODULE, {"environment_file": str(tmp_path / "workshop.env")})


def test_console_script_renders_it_offline(rendered: dict[str, Any], guarded_env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "pipelines.get_pipeline_definition", "--module-name", MODULE], capture_output=True, text=True, env=guarded_env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == definition.dumps(rendered)
    log = Path(guarded_env["MLOPS_NETGUARD_LOG"])
    assert not log.exists() or log.read_text() == ""


def test_on_the_local_engine_a_captured_hour_becomes_the_analyzers_own_files(tmp_path: Path, scored_test: Path, evaluated: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    store = home.objects()
    analyzer.baseline(evaluated / "baseline" / "baseline.csv", tmp_path / "baseline")
    store.publish(tmp_path / "baseline", "s3://b/baselines/v1")
    frame = pd.read_csv(scored_test, dtype={"prediction": str}).sample(400, random_state=3)
    capture_frame(plain_decimals(frame.assign(EDUCATION=-frame["EDUCATION"].astype(int))), store.path("s3://b/data-capture"), T0, timedelta(minutes=59), endpoint="ep")
    overrides = {
        "ScheduledTime": f"{T0 + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}", "EndpointName": "ep", "ScheduleName": "hourly", "CaptureUri": "s3://b/data-capture",
        "BaselineStatisticsUri": "s3://b/baselines/v1/statistics.json", "BaselineConstraintsUri": "s3://b/baselines/v1/constraints.json", "OutputUri": "s3://b/monitoring",
    }  # fmt: skip
    document, name = local_run.load_definition(MODULE, {}, None, None)
    result = local_run.run(home, document, name, overrides, None, tracking="off")
    assert result.status == "Succeeded", result.failure_reason
    written = store.path(f"s3://b/monitoring/ep/hourly/{T0 + timedelta(hours=1):%Y/%m/%d/%H}")
    direct = analyzer.monitor(store.path("s3://b/data-capture/ep"), tmp_path / "direct", tmp_path / "baseline" / "statistics.json", tmp_path / "baseline" / "constraints.json",
                              capture=True, start=T0, end=T0 + timedelta(hours=1), publish_metrics=True)  # fmt: skip
    for file in ("statistics.json", "constraint_violations.json", "cloudwatch_metrics.json"):
        assert (written / file).read_bytes() == (tmp_path / "direct" / file).read_bytes(), file
    assert "EDUCATION" in {v["feature_name"] for v in direct.violations}
    # The metrics it wrote are the distances its violations state (read from the files alone).
    metrics = json.loads((written / "cloudwatch_metrics.json").read_text())["metrics"]
    drifted = {v["feature_name"]: v["description"] for v in json.loads((written / "constraint_violations.json").read_text())["violations"] if v["constraint_check_type"] == "baseline_drift_check"}
    assert drifted
    for feature, description in drifted.items():
        stated = re.fullmatch(r"Baseline drift distance: (\S+) exceeds threshold: (\S+)", description)
        assert stated and metrics[f"feature_baseline_drift_{feature}"] == float(stated[1]) > float(stated[2])
    with Records(home) as records:
        steps = {s["StepName"]: s for s in records.list_steps(result.execution_id)}
        exit_message = records.step_properties(result.execution_id, "MonitorDataQuality")["ExitMessage"]
    assert set(steps) == {"WhichMonitoring", "WhichModelMonitor", "MonitorDataQuality"}  # no other branch ran
    assert steps["MonitorDataQuality"]["StepStatus"] == "Succeeded" and exit_message == direct.message


def test_an_hour_without_capture_fails_with_model_monitors_reason(tmp_path: Path, evaluated: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    analyzer.baseline(evaluated / "baseline" / "baseline.csv", tmp_path / "baseline")
    home.objects().publish(tmp_path / "baseline", "s3://b/baselines/v1")
    overrides = {"ScheduledTime": "2026-11-20T10:00:00Z", "EndpointName": "ep", "CaptureUri": "s3://b/data-capture", "OutputUri": "s3://b/monitoring",
                 "BaselineStatisticsUri": "s3://b/baselines/v1/statistics.json", "BaselineConstraintsUri": "s3://b/baselines/v1/constraints.json"}  # fmt: skip
    document, name = local_run.load_definition(MODULE, {}, None, None)
    result = local_run.run(home, document, name, overrides, None, tracking="off")
    assert result.status == "Failed" and "analysis failed: No data to analyze" in (result.failure_reason or "")
    with Records(home) as records:
        assert records.step_properties(result.execution_id, "MonitorDataQuality")["ExitMessage"].startswith("No data to analyze")
    assert json.dumps(result.as_dict())
