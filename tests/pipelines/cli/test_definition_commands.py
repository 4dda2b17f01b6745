"""The definition commands as a user runs them: output, files, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines import get_pipeline_definition
from pipelines.cli import main as mlops


def test_get_pipeline_definition_writes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / "definition.json"
    assert get_pipeline_definition.main(["--file-name", str(target)]) == 0
    document = json.loads(target.read_text())
    assert document["Version"] == "2020-12-01"
    assert [p.name for p in target.parent.iterdir()] == ["definition.json"]  # no temporary left
    assert capsys.readouterr().out == ""


def test_template_style_single_dash_kwargs(capsys: pytest.CaptureFixture[str]) -> None:
    assert get_pipeline_definition.main(["-n", "pipelines.credit_default.pipeline", "-kwargs", '{"pipeline_name": "P1"}']) == 0
    assert '"Name": "Preprocess"' in capsys.readouterr().out


def test_unknown_kwarg_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert get_pipeline_definition.main(["--kwargs", '{"bucket": "x"}']) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("usage error: --kwargs: unknown key(s) bucket; valid keys: ") and "\n" not in err


def test_mlops_graph_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["definition", "render", "-o", str(tmp_path / "d.json")]) == 0
    assert mlops.main(["definition", "graph", "--file", str(tmp_path / "d.json"), "--json"]) == 0
    nodes = json.loads(capsys.readouterr().out)
    assert [n["Name"] for n in nodes][:4] == ["Preprocess", "Train", "Evaluate", "DataQualityBaseline"]
    assert mlops.main(["definition", "graph", "--file", str(tmp_path / "d.json")]) == 0
    assert "Register" in capsys.readouterr().out


def test_mlops_graph_of_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text("{ nope")
    assert mlops.main(["definition", "graph", "--file", str(tmp_path / "bad.json")]) == 1
    assert "bad.json: not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--help"], ["definition", "--help"], ["definition", "render", "--help"], ["definition", "graph", "--help"]])
def test_every_command_has_help_with_an_example(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(args) == 0
    assert "Example" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["defnition"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_audit_lists_findings_and_exits_1_then_passes_with_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main(["definition", "render", "-o", str(tmp_path / "d.json")]) == 0
    capsys.readouterr()
    assert mlops.main(["audit", "--policy", "workshop", "--file", str(tmp_path / "d.json"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["Compliant"] is False
    assert {f["Step"] for f in report["Findings"]} == {"Preprocess", "Train", "Evaluate", "DataQualityBaseline", "ModelQualityBaseline", "BiasReport", "Explain", "CreateModel", "EndpointConfig"}
    assert all(f["Path"].startswith("/Steps/") for f in report["Findings"])
    env = tmp_path / "workshop.env"
    env.write_text("SubnetIds=subnet-1\nSecurityGroupIds=sg-1\nKmsKeyArn=arn:aws:kms:us-east-1:111122223333:key/k\n")
    assert mlops.main(["audit", "--policy", "workshop", "--kwargs", json.dumps({"environment_file": str(env)})]) == 0
    assert capsys.readouterr().out.startswith("compliant with policy workshop: 16 steps checked")


def test_audit_with_a_missing_policy_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert mlops.main(["audit", "--policy", str(tmp_path / "policy.json")]) == 1
    assert capsys.readouterr().err.strip() == f"usage error: policy {tmp_path / 'policy.json'} does not exist"
