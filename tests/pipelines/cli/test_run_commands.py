"""The real pipeline end to end on the local engine, as a user drives it from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from pipelines import run_pipeline
from pipelines.cli import main as mlops

pytestmark = pytest.mark.long  # run first (conftest.py)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlops-home")


@pytest.fixture(scope="module")
def first_run(home: Path) -> dict:
    """One cold run of the default pipeline on the bundled data, shared by the tests below."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = mlops.main(["--home", str(home), "run", "--json"])
    return {"code": code, "result": json.loads(out.getvalue()), "stderr": err.getvalue()}


def test_default_run_succeeds_and_reports_the_auc(first_run: dict) -> None:
    assert first_run["code"] == 0, first_run["stderr"]
    result = first_run["result"]
    assert result["PipelineExecutionStatus"] == "Succeeded" and "FailureReason" not in result
    steps = {s["StepName"]: s for s in result["Steps"]}
    assert {s for s in steps if steps[s]["StepStatus"] == "Succeeded"} == {
        "Preprocess", "Train", "Evaluate", "DataQualityBaseline", "ModelQualityBaseline", "BiasReport", "Explain", "CheckAuc", "CheckBias", "Register", "CheckApproval",
    }  # fmt: skip
    # The bias gate: every facet group's disparate impact within the four-fifths band.
    lowest, highest = (float(part.split()[0]) for part in steps["CheckBias"]["Detail"].split("; "))
    assert 0.8 <= lowest <= highest <= 1.25
    assert steps["CheckBias"]["Detail"].endswith("LessThanOrEqualTo 1.25: true")
    auc = float(steps["CheckAuc"]["Detail"].split()[0])
    assert 0.75 < auc < 0.85
    assert steps["CheckAuc"]["Detail"].endswith("GreaterThanOrEqualTo 0.75: true")
    assert "validation:auc" in steps["Train"]["Detail"]
    assert steps["Register"]["Detail"].endswith("model-package/creditdefaultpackagegroup/1 PendingManualApproval")
    assert steps["CheckApproval"]["Detail"] == "'PendingManualApproval' Equals 'Approved': false"
    assert "CreateModel" not in steps  # not approved: no deployment
    assert "[ ok ] Evaluate" in first_run["stderr"]


def test_threshold_above_the_auc_fires_the_fail_step(first_run: dict, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["--home", str(home), "run", "--parameters", '{"AucThreshold": 0.99}', "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["PipelineExecutionStatus"] == "Failed"
    assert result["FailureReason"].startswith("Test AUC 0.") and "is below the threshold 0.99 for commit" in result["FailureReason"]
    steps = {s["StepName"]: s for s in result["Steps"]}
    assert steps["Preprocess"]["CacheHit"] and steps["Train"]["CacheHit"] and steps["Evaluate"]["CacheHit"]
    assert steps["AucTooLow"]["StepStatus"] == "Failed" and "Register" not in steps


def test_disparate_impact_outside_the_band_fails_naming_the_group(first_run: dict, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps = {s["StepName"]: s for s in first_run["result"]["Steps"]}
    lowest = float(steps["CheckBias"]["Detail"].split()[0])
    # A band whose lower end is just above this model's lowest disparate impact.
    parameters = {"DisparateImpactLower": round(lowest + 0.001, 3)}
    assert mlops.main(["--home", str(home), "run", "--parameters", json.dumps(parameters), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["PipelineExecutionStatus"] == "Failed"
    reason = result["FailureReason"]
    assert reason.startswith(f"Disparate impact outside {parameters['DisparateImpactLower']}-1.25: lowest {lowest}") and " for " in reason and "; commit " in reason
    steps = {s["StepName"]: s for s in result["Steps"]}
    assert steps["Evaluate"]["CacheHit"] and steps["Explain"]["CacheHit"]
    assert steps["BiasOutsideBand"]["StepStatus"] == "Failed" and "Register" not in steps


def test_broken_input_fails_with_the_jobs_stderr(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Label,AGE\n0,30\n1,40\n")
    assert mlops.main(["--home", str(home), "run", "--parameters", json.dumps({"InputDataUrl": str(bad)}), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["FailureReason"].startswith("Step Preprocess failed: AlgorithmError: preprocess.py exited with code 2; stderr tail:")
    assert "missing columns: PAY_AMT1" in result["FailureReason"]


def test_unknown_parameter_is_refused(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["--home", str(home), "run", "--parameters", '{"AucTreshold": 0.5}']) == 1
    err = capsys.readouterr().err
    assert "usage error: --parameters: unknown parameter(s) AucTreshold; the pipeline has: " in err


def test_executions_list_and_describe(first_run: dict, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arn = first_run["result"]["PipelineExecutionArn"]
    execution_id = arn.rsplit("/", 1)[1]
    assert mlops.main(["--home", str(home), "executions", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["PipelineExecutionSummaries"]
    assert arn in [item["PipelineExecutionArn"] for item in listed]
    assert mlops.main(["--home", str(home), "executions", "describe", execution_id, "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["PipelineExecutionStatus"] == "Succeeded"
    assert {s["StepName"] for s in described["PipelineExecutionSteps"]} >= {"Preprocess", "Train", "Evaluate", "CheckAuc"}
    params = {p["Name"]: p["Value"] for p in described["PipelineParameters"]}
    assert params["InputDataUrl"].endswith("credit_default.csv")
    assert mlops.main(["--home", str(home), "executions", "describe", execution_id]) == 0
    assert "Preprocess" in capsys.readouterr().out
    assert mlops.main(["--home", str(home), "executions", "describe", "nope"]) == 1
    assert "no execution 'nope'" in capsys.readouterr().err


def test_run_from_a_definition_file(first_run: dict, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["definition", "render", "-o", str(tmp_path / "definition.json")]) == 0
    assert mlops.main(["--home", str(home), "run", "--file", str(tmp_path / "definition.json"), "--pipeline-name", "CreditDefaultPipeline", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert all(s["CacheHit"] for s in result["Steps"] if s["StepType"] in ("Processing", "Training"))


def test_a_step_the_engine_cannot_run_is_refused_and_a_skipped_one_never_succeeds(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pipeline with an AutoML step: refused up front; with --skip, the AutoML and the Fail
    step that needs its output are left out, and the execution ends Stopped (exit 1), not Succeeded."""
    transform = {"Name": "Batch", "Type": "AutoML", "Arguments": {}}
    gate = {
        "Name": "Gate", "Type": "Condition",
        "Arguments": {
            "Conditions": [{"Type": "Equals", "LeftValue": {"Get": "Steps.Batch.AutoMLJobStatus"}, "RightValue": "Completed"}],
            "IfSteps": [], "ElseSteps": [{"Name": "Broken", "Type": "Fail", "Arguments": {"ErrorMessage": "the batch did not complete"}}],
        },
    }  # fmt: skip
    ok = {"Name": "Fine", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}, "DependsOn": ["Batch"]}
    (tmp_path / "d.json").write_text(json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": [transform, gate, ok]}))
    assert mlops.main(["--home", str(home), "run", "--file", str(tmp_path / "d.json")]) == 1
    err = capsys.readouterr().err
    assert "definition error: the definition has 1 problem(s):" in err
    assert "/Steps/0/Type: step Batch: type AutoML does not run on the local engine" in err
    assert mlops.main(["--home", str(home), "run", "--file", str(tmp_path / "d.json"), "--skip", "Batch", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["PipelineExecutionStatus"] == "Stopped"
    assert result["FailureReason"] == "1 step(s) left out on request: Batch (AutoML); not run without them: Gate, Broken, Fine"
    steps = {s["StepName"]: s for s in result["Steps"]}
    assert {name: s["StepStatus"] for name, s in steps.items()} == {"Batch": "Stopped", "Gate": "Stopped", "Broken": "Stopped", "Fine": "Stopped"}
    assert steps["Batch"]["FailureReason"] == "Left out on request: this run was asked to skip Batch"
    assert steps["Gate"]["FailureReason"] == "Not run: it needs Batch, left out on request"
    assert steps["Broken"]["FailureReason"] == "Not run: its condition Gate was left out on request"  # the Fail step is shown, not dropped


def test_approved_runs_deploy_the_endpoint(first_run: dict, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["--home", str(home), "run", "--parameters", '{"ModelApprovalStatus": "Approved"}', "--json"]) == 0
    steps = {s["StepName"]: s for s in json.loads(capsys.readouterr().out)["Steps"]}
    assert [steps[n]["StepStatus"] for n in ("CreateModel", "EndpointConfig", "Deploy")] == ["Succeeded"] * 3
    assert steps["Deploy"]["Detail"] == "credit-default-staging InService"


def test_run_pipeline_local_carries_the_commit(first_run: dict, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo = git.Repo.init(tmp_path / "repo")
    (tmp_path / "repo" / "f").write_text("x")
    repo.index.add(["f"])
    repo.index.commit("Local try")
    monkeypatch.chdir(tmp_path / "repo")
    monkeypatch.setenv("MLOPS_HOME", str(home))
    monkeypatch.delenv("CODEBUILD_RESOLVED_SOURCE_VERSION", raising=False)
    assert run_pipeline.main(["--local"]) == 0
    arn = capsys.readouterr().out.strip().splitlines()[-1]
    assert mlops.main(["--home", str(home), "executions", "describe", arn, "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    sha = repo.head.commit.hexsha
    assert described["PipelineExecutionDisplayName"] == f"git-{sha[:12]}"
    assert {"Name": "GitCommit", "Value": sha} in described["PipelineParameters"]
    assert described["PipelineExecutionDescription"] == f"{sha[:12]} Local try"


@pytest.mark.parametrize(("content", "message"), [("[1, 2]", "not a list"), ('"hello"', "not a string"), ("null", "not a null"), ('{"Steps": [1]}', "/Steps/0: a step is a JSON object, not a number")])
def test_a_definition_file_of_the_wrong_shape_is_one_line_not_a_traceback(tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "definition.json"
    path.write_text(content)
    assert mlops.main(["--home", str(tmp_path / "home"), "run", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("definition error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "home" / "executions").exists()  # nothing ran, nothing recorded


def test_a_missing_execution_is_not_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["--home", str(tmp_path / "home"), "executions", "describe", "nope"]) == 1
    assert capsys.readouterr().err.startswith("not found: no execution 'nope'")


def test_both_baselines_register_the_same_files(first_run: dict, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """monitoring="model-monitor" (the QualityCheckStep) and the builtin analyzer step make the
    same baseline from the same rows, and ask to register it the same way; the model being the
    same (Train is a cache hit), the second run registers no copy of it."""
    from pipelines.engine.records import Records
    from pipelines.local.home import Home

    assert first_run["code"] == 0, first_run["stderr"]
    assert mlops.main(["--home", str(home), "run", "--kwargs", '{"monitoring": "model-monitor"}', "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    steps = {s["StepName"]: s for s in result["Steps"]}
    assert steps["DataQualityBaseline"]["StepStatus"] == "Succeeded" and steps["Evaluate"]["CacheHit"]
    assert steps["Register"]["Detail"] == "arn:aws:sagemaker:us-east-1:000000000000:model-package/creditdefaultpackagegroup/1 PendingManualApproval: the model is byte for byte this registered package's; not registered again"
    local = Home.resolve(home)
    executions = [first_run["result"]["PipelineExecutionArn"], result["PipelineExecutionArn"]]
    with Records(local) as records:
        packages = [records.step_arguments(arn.rsplit("/", 1)[1], "Register") for arn in executions]  # what each run asked to register
    store = local.objects()
    for key in ("Statistics", "Constraints"):
        builtin, model_monitor = (package["DriftCheckBaselines"]["ModelDataQuality"][key]["S3Uri"] for package in packages)
        assert builtin != model_monitor and store.path(builtin).read_bytes() == store.path(model_monitor).read_bytes(), key
        assert [p["ModelMetrics"]["ModelDataQuality"][key]["S3Uri"] for p in packages] == [builtin, model_monitor]
        # Model quality: the same metrics and constraints (the statistics carry their evaluation time).
        builtin, model_monitor = (package["DriftCheckBaselines"]["ModelQuality"][key]["S3Uri"] for package in packages)
        documents = [json.loads(store.path(uri).read_text()) for uri in (builtin, model_monitor)]
        for document in documents:
            document.get("dataset", {}).pop("evaluation_time", None)
        assert builtin != model_monitor and documents[0] == documents[1], key
        assert [p["ModelMetrics"]["ModelQuality"][key]["S3Uri"] for p in packages] == [builtin, model_monitor]
    assert steps["ModelQualityBaseline"]["StepStatus"] == "Succeeded"


def test_a_definition_nested_too_deep_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    assert mlops.main(["--home", str(tmp_path / "home"), "run", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == f"usage error: {path}: arrays or objects nested more than 100 deep\n"


def test_the_pipeline_name_made_from_a_files_name_is_a_valid_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.runs import local_run

    assert local_run.name_from_file(Path("escape_out.json")) == "escape-out"
    assert local_run.name_from_file(Path("my pipeline.v2.json")) == "my-pipeline-v2"
    path = tmp_path / "___.json"
    path.write_text('{"Version": "2020-12-01", "Steps": []}')
    assert mlops.main(["--home", str(tmp_path / "home"), "run", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"usage error: --file {path}: the pipeline's name comes from the file's name, and '' is not a valid PipelineName") and err.endswith("give one with --pipeline-name\n")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ('{"AucThreshold": NaN}', "--parameters: AucThreshold is a Float parameter (a finite number), got nan"),
        ('{"AucThreshold": -Infinity}', "--parameters: AucThreshold is a Float parameter (a finite number), got -inf"),
        ('{"MaxDepth": 99999999999999999999}', "--parameters: MaxDepth is an Integer parameter (a signed 64-bit number, -9223372036854775808 to 9223372036854775807), got 99999999999999999999"),
    ],
)
def test_parameter_values_no_parameter_type_holds_are_refused_before_anything_runs(tmp_path: Path, overrides: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    assert mlops.main(["--home", str(home), "run", "--parameters", overrides]) == 1
    assert capsys.readouterr().err == f"usage error: {message}\n"
    assert not (home / "executions").exists()
