"""The rendered credit-default definition: structure, references, content and a golden file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.build import code_assets, definition
from pipelines.core import graph
from pipelines.core.errors import DefinitionError, UsageError

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "credit_default_definition.json"
EXECUTION_VARIABLES = {"PipelineExecutionId", "PipelineExecutionArn", "PipelineName", "StartDateTime", "CurrentDateTime"}
JOB_STEPS = ("Preprocess", "Train", "Evaluate", "DataQualityBaseline")


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    return definition.render(definition.build(definition.DEFAULT_MODULE, {}))


@pytest.fixture(scope="module")
def nodes(rendered: dict[str, Any]) -> dict[str, graph.Node]:
    return {node.name: node for node in graph.steps(rendered)}


def normalise(document: dict[str, Any]) -> str:
    """Canonical text with the volatile part (job-script digests) masked."""
    return re.sub(r"/code/[0-9a-f]{16}/", "/code/<digest>/", definition.dumps(document))


def test_step_graph(nodes: dict[str, graph.Node]) -> None:
    shape = {name: (node.type, node.branch, node.upstream) for name, node in nodes.items()}
    assert shape == {
        "Preprocess": ("Processing", None, []),
        "Train": ("Training", None, ["Preprocess"]),
        "Evaluate": ("Processing", None, ["Preprocess", "Train"]),
        "DataQualityBaseline": ("Processing", None, ["Evaluate"]),
        "ModelQualityBaseline": ("Processing", None, ["Evaluate"]),
        "BiasReport": ("Processing", None, ["Evaluate", "Preprocess"]),
        "Explain": ("Processing", None, ["Preprocess", "Train"]),
        "CheckAuc": ("Condition", None, ["Evaluate"]),
        "CheckBias": ("Condition", "CheckAuc.if", ["BiasReport", "CheckAuc"]),
        "BiasOutsideBand": ("Fail", "CheckBias.else", ["BiasReport", "CheckBias"]),
        "Register": ("RegisterModel", "CheckBias.if", ["BiasReport", "CheckBias", "DataQualityBaseline", "Explain", "ModelQualityBaseline", "Train"]),
        "CheckApproval": ("Condition", "CheckBias.if", ["CheckBias", "Register"]),
        "CreateModel": ("Model", "CheckApproval.if", ["CheckApproval", "Register", "Train"]),
        "EndpointConfig": ("EndpointConfig", "CheckApproval.if", ["CheckApproval", "CreateModel"]),
        "Deploy": ("Endpoint", "CheckApproval.if", ["CheckApproval", "EndpointConfig"]),
        "AucTooLow": ("Fail", "CheckAuc.else", ["CheckAuc", "Evaluate"]),
    }


def ancestors(nodes: dict[str, graph.Node], name: str) -> set[str]:
    seen: set[str] = set()
    stack = list(nodes[name].upstream)
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(nodes[current].upstream)
    return seen


def outputs_of(step: dict[str, Any]) -> set[str]:
    return {o["OutputName"] for o in step["Arguments"].get("ProcessingOutputConfig", {}).get("Outputs", [])}


PROPERTY_PATTERNS = {
    "Processing": r"ProcessingOutputConfig\.Outputs\['(?P<output>[^']+)'\]\.S3Output\.S3Uri|PropertyFiles\.(?P<file>\w+)",
    "Training": r"ModelArtifacts\.S3ModelArtifacts|FinalMetricDataList\[.+\]\.Value|TrainingJobName",
    "QualityCheck": r"CalculatedBaselineStatistics|CalculatedBaselineConstraints|BaselineUsedForDriftCheckStatistics|BaselineUsedForDriftCheckConstraints",
    "Model": r"ModelName",
    "RegisterModel": r"ModelPackageArn",
}


def test_every_get_resolves(rendered: dict[str, Any], nodes: dict[str, graph.Node]) -> None:
    parameters = {p["Name"] for p in rendered["Parameters"]}
    checked = 0
    for name, node in nodes.items():
        for ref in node.references:
            checked += 1
            where = f"{name} at {ref.pointer}: {ref.target}"
            if ref.kind == "Parameters":
                assert ref.target.split(".", 1)[1] in parameters, where
            elif ref.kind == "Execution":
                assert ref.target.split(".", 1)[1] in EXECUTION_VARIABLES, where
            elif ref.kind == "Steps":
                source = nodes.get(ref.step or "")
                assert source is not None, f"{where}: no such step"
                assert ref.step in ancestors(nodes, name), f"{where}: not an earlier step"
                prop = ref.target.split(".", 2)[2]
                match = re.fullmatch(PROPERTY_PATTERNS[source.type], prop)
                assert match, f"{where}: {source.type} has no property {prop}"
                if match.groupdict().get("output"):
                    assert match["output"] in outputs_of(source.step), where
                if match.groupdict().get("file"):
                    files = {f["PropertyFileName"] for f in source.step.get("PropertyFiles", [])}
                    assert match["file"] in files, where
            else:
                pytest.fail(f"{where}: unknown reference kind")
    assert checked >= 30


def json_gets(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if "Std:JsonGet" in node:
            found.append(node["Std:JsonGet"])
        for value in node.values():
            found.extend(json_gets(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(json_gets(value))
    return found


def test_every_json_get_path_exists_in_what_its_job_writes(
    rendered: dict[str, Any], nodes: dict[str, graph.Node], model_dir: Path, preprocessed: Path, tmp_path: Path
) -> None:
    """Each Std:JsonGet's path is in the file its property file names, as the job writes it:
    evaluation.json of steps/evaluate.py, bias_summary.json of the bias job."""
    from pipelines.monitor.job.clarify import jobs as clarify_job
    from steps import evaluate

    test = str(preprocessed / "test")
    assert evaluate.main(["--model-dir", str(model_dir), "--test-dir", test, "--output-dir", str(tmp_path / "evaluation"), "--predictions-dir", str(tmp_path / "predictions")]) == 0
    bias_args = [a for a in nodes["BiasReport"].step["Arguments"]["AppSpecification"]["ContainerArguments"] if isinstance(a, str)]
    facets = [bias_args[i + 1] for i, a in enumerate(bias_args) if a == "--facet"]
    assert clarify_job.main(["bias", "--dataset", test, "--predictions", str(tmp_path / "predictions"), *[a for f in facets for a in ("--facet", f)], "--output", str(tmp_path / "bias")]) == 0
    written = {
        ("Evaluate", "EvaluationReport"): json.loads((tmp_path / "evaluation" / evaluate.REPORT_FILE).read_text()),
        ("BiasReport", "BiasSummary"): json.loads((tmp_path / "bias" / clarify_job.SUMMARY).read_text()),
    }
    gets = json_gets(rendered["Steps"])
    # CheckAuc's condition and AucTooLow's message; CheckBias's two conditions and BiasOutsideBand's four.
    assert len(gets) == 8
    for get in gets:
        step_name, file_name = re.fullmatch(r"Steps\.(\w+)\.PropertyFiles\.(\w+)", get["PropertyFile"]["Get"]).groups()  # type: ignore[union-attr]
        step = nodes[step_name].step
        (property_file,) = [f for f in step["PropertyFiles"] if f["PropertyFileName"] == file_name]
        assert property_file["OutputName"] in outputs_of(step)
        assert property_file["FilePath"] == {"EvaluationReport": evaluate.REPORT_FILE, "BiasSummary": clarify_job.SUMMARY}[file_name]
        value: Any = written[(step_name, file_name)]
        for part in get["Path"].split("."):
            assert isinstance(value, dict) and part in value, f"{get['Path']} not in {property_file['FilePath']}"
            value = value[part]
        assert isinstance(value, float) or (get["Path"].endswith(".group") and isinstance(value, str))


def test_commit_reaches_jobs_registration_and_failure_message(nodes: dict[str, graph.Node]) -> None:
    commit = {"Get": "Parameters.GitCommit"}
    for name in ("Preprocess", "Train", "Evaluate"):
        assert nodes[name].step["Arguments"]["Environment"]["GIT_COMMIT"] == commit, name
    register = nodes["Register"].step["Arguments"]
    assert register["CustomerMetadataProperties"] == {"GitCommit": commit}
    assert register["MetadataProperties"] == {"CommitId": commit}
    message = nodes["AucTooLow"].step["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert commit in message and {"Get": "Parameters.AucThreshold"} in message
    assert any("Std:JsonGet" in part for part in message if isinstance(part, dict))


def test_training_uses_builtin_xgboost_with_string_hyperparameters(nodes: dict[str, graph.Node]) -> None:
    arguments = nodes["Train"].step["Arguments"]
    assert arguments["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:1.7-1")
    hyper = arguments["HyperParameters"]
    assert hyper["objective"] == "binary:logistic" and hyper["eval_metric"] == "auc"
    for key, value in hyper.items():
        assert isinstance(value, str) or set(value) == {"Std:Join"}, key  # CreateTrainingJob takes strings
    assert {c["ChannelName"] for c in arguments["InputDataConfig"]} == {"train", "validation"}
    assert all(c["ContentType"] == "text/csv" for c in arguments["InputDataConfig"])


def test_registration_carries_metrics_and_baselines(nodes: dict[str, graph.Node]) -> None:
    register = nodes["Register"].step["Arguments"]
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    for document, step in (("ModelDataQuality", "DataQualityBaseline"), ("ModelQuality", "ModelQualityBaseline")):
        written = {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"}
        for key in ("DriftCheckBaselines", "ModelMetrics"):
            quality = register[key][document]
            assert quality["Statistics"]["S3Uri"] == {"Std:Join": {"On": "/", "Values": [written, "statistics.json"]}}, (key, document)
            assert quality["Constraints"]["S3Uri"] == {"Std:Join": {"On": "/", "Values": [written, "constraints.json"]}}, (key, document)
    assert register["InferenceSpecification"]["Containers"][0]["Environment"] == {}  # no script-mode variables


EVALUATED_ROWS = {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"}


def test_builtin_baseline_runs_the_analyzer_bundle_on_the_evaluated_rows(nodes: dict[str, graph.Node]) -> None:
    arguments = nodes["DataQualityBaseline"].step["Arguments"]
    inputs = {i["InputName"]: i["S3Input"] for i in arguments["ProcessingInputs"]}
    assert inputs["baseline_dataset_input"]["S3Uri"] == EVALUATED_ROWS
    assert Path(inputs["code"]["S3Uri"]).name == "monitor-analyzer.pyz"
    container = arguments["AppSpecification"]
    assert container["ContainerEntrypoint"] == ["python3", "/opt/ml/processing/input/code/monitor-analyzer.pyz"]
    assert container["ContainerArguments"][0] == "baseline"
    assert "sagemaker-scikit-learn" in container["ImageUri"]  # the stock image, not Model Monitor's analyzer


def test_builtin_model_quality_baseline_measures_the_test_predictions(nodes: dict[str, graph.Node]) -> None:
    arguments = nodes["ModelQualityBaseline"].step["Arguments"]
    inputs = {i["InputName"]: i["S3Input"] for i in arguments["ProcessingInputs"]}
    assert inputs["baseline_dataset_input"]["S3Uri"] == {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['predictions'].S3Output.S3Uri"}
    assert Path(inputs["code"]["S3Uri"]).name == "monitor-analyzer.pyz"
    assert arguments["AppSpecification"]["ContainerArguments"][:5] == ["quality-baseline", "--probability-attribute", "probability", "--ground-truth-attribute", "label"]


def test_model_monitor_baseline_is_the_quality_check_step() -> None:
    rendered = definition.render(definition.build(definition.DEFAULT_MODULE, {"monitoring": "model-monitor"}))
    nodes = {node.name: node for node in graph.steps(rendered)}
    step = nodes["DataQualityBaseline"].step
    assert step["Type"] == "QualityCheck"
    assert step["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] == EVALUATED_ROWS
    assert step["CheckType"] == "DATA_QUALITY" and step["RegisterNewBaseline"] is True and step["SkipCheck"] is True
    env = step["Arguments"]["Environment"]
    assert json.loads(env["dataset_format"]) == {"csv": {"header": True, "output_columns_position": "START"}}
    drift = nodes["Register"].step["Arguments"]["DriftCheckBaselines"]["ModelDataQuality"]
    assert drift["Statistics"]["S3Uri"] == {"Get": "Steps.DataQualityBaseline.BaselineUsedForDriftCheckStatistics"}
    assert drift["Constraints"]["S3Uri"] == {"Get": "Steps.DataQualityBaseline.BaselineUsedForDriftCheckConstraints"}
    quality = nodes["ModelQualityBaseline"].step
    assert quality["Type"] == "QualityCheck" and quality["CheckType"] == "MODEL_QUALITY"
    env = quality["Arguments"]["Environment"]  # what the SDK's ModelQualityCheckConfig sets for the container
    assert {k: env[k] for k in ("analysis_type", "problem_type", "probability_attribute", "ground_truth_attribute", "probability_threshold_attribute")} == {
        "analysis_type": "MODEL_QUALITY", "problem_type": "BinaryClassification", "probability_attribute": "probability",
        "ground_truth_attribute": "label", "probability_threshold_attribute": "0.5",
    }  # fmt: skip
    drift = nodes["Register"].step["Arguments"]["DriftCheckBaselines"]["ModelQuality"]
    assert drift["Constraints"]["S3Uri"] == {"Get": "Steps.ModelQualityBaseline.BaselineUsedForDriftCheckConstraints"}


def test_unknown_monitoring_is_named() -> None:
    with pytest.raises(DefinitionError, match="monitoring must be one of builtin, model-monitor"):
        definition.build(definition.DEFAULT_MODULE, {"monitoring": "clarify"})


def test_deployment_captures_data_and_only_runs_when_approved(nodes: dict[str, graph.Node]) -> None:
    condition = nodes["CheckApproval"].step["Arguments"]["Conditions"]
    assert condition == [{"Type": "Equals", "LeftValue": {"Get": "Parameters.ModelApprovalStatus"}, "RightValue": "Approved"}]
    capture = nodes["EndpointConfig"].step["Arguments"]["DataCaptureConfig"]
    assert capture["EnableCapture"] is True and capture["InitialSamplingPercentage"] == 100
    assert capture["CaptureContentTypeHeader"]["CsvContentTypes"] == ["text/csv"]
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}


def test_caching_on_every_job_step(nodes: dict[str, graph.Node]) -> None:
    for name in JOB_STEPS:
        assert nodes[name].step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}, name


def test_parameters(rendered: dict[str, Any]) -> None:
    parameters = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in rendered["Parameters"]}
    assert parameters["ModelApprovalStatus"] == ("String", "PendingManualApproval")
    assert parameters["AucThreshold"][0] == "Float"
    assert {"InputDataUrl", "ProcessingInstanceType", "TrainingInstanceType", "GitCommit", "MaxDepth", "Eta", "NumRound"} <= set(parameters)


def test_code_assets_are_the_job_scripts(rendered: dict[str, Any]) -> None:
    assets = code_assets.find(rendered)
    assert sorted(a.path.name for a in assets) == ["evaluate.py", "monitor-analyzer.pyz", "preprocess.py"]
    for asset in assets:
        assert asset.uri.startswith("s3://sagemaker-us-east-1-mlops/credit-default/code/")


def test_stale_code_digest_is_reported(rendered: dict[str, Any]) -> None:
    text = json.dumps(rendered)
    uri = code_assets.find(rendered)[0].uri
    stale = json.loads(text.replace(uri, re.sub(r"/code/[0-9a-f]{16}/", "/code/0000000000000000/", uri)))
    with pytest.raises(DefinitionError, match=r"/Steps/\d+/Arguments/ProcessingInputs/\d+/S3Input/S3Uri: .* another version of steps/"):
        code_assets.find(stale)


def test_golden_file(rendered: dict[str, Any]) -> None:
    text = normalise(rendered)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert GOLDEN.is_file(), "run UPDATE_GOLDEN=1 pytest tests/pipelines to create the golden file"
    assert text == GOLDEN.read_text(), "the definition changed: review, then UPDATE_GOLDEN=1 to accept"


def test_kwargs_change_what_they_should() -> None:
    other = definition.render(
        definition.build(
            definition.DEFAULT_MODULE,
            {"region": "eu-west-1", "default_bucket": "my-bucket", "base_job_prefix": "cc", "capture_sampling_percentage": 20},
        )
    )
    text = json.dumps(other)
    assert "dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1" in text
    assert "s3://my-bucket/cc/code/" in text and "sagemaker-us-east-1" not in text
    (config,) = [n for n in graph.steps(other) if n.type == "EndpointConfig"]
    assert config.step["Arguments"]["DataCaptureConfig"]["InitialSamplingPercentage"] == 20


def test_unknown_kwarg_lists_valid_keys() -> None:
    with pytest.raises(UsageError, match=r"unknown key\(s\) regoin; valid keys: .*region"):
        definition.build(definition.DEFAULT_MODULE, {"regoin": "x"})


def test_kwarg_of_wrong_type_is_named() -> None:
    with pytest.raises(UsageError, match="split_seed must be a int, got \"7\""):
        definition.build(definition.DEFAULT_MODULE, {"split_seed": "7"})
    with pytest.raises(UsageError, match="train_ratio must be a int/float, got true"):
        definition.build(definition.DEFAULT_MODULE, {"train_ratio": True})


def test_bad_ratios_are_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="sum to 1"):
        definition.build(definition.DEFAULT_MODULE, {"train_ratio": 0.5})


def test_unknown_module_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no such module"):
        definition.build("pipelines.nope.pipeline", {})


def test_console_script_is_offline_and_byte_identical(rendered: dict[str, Any], guarded_env: dict[str, str], tmp_path: Path) -> None:
    """A fresh process, with the network guard installed, prints exactly the in-process render."""
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.get_pipeline_definition", "--module-name", definition.DEFAULT_MODULE],
        capture_output=True, text=True, env=guarded_env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == definition.dumps(rendered)
    assert result.stderr == ""
    log = Path(guarded_env["MLOPS_NETGUARD_LOG"])
    assert not log.exists() or log.read_text() == "", f"network attempted:\n{log.read_text()}"
