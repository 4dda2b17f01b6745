"""mlops registry, deploy and endpoint as a user drives them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main as mlops
from pipelines.local.home import Home
from tests.helpers.serving_helpers import GROUP, broken_archive, register


@pytest.fixture
def home(tmp_path: Path, model_dir: Path) -> Path:
    root = tmp_path / "home"
    register(Home.resolve(root), model_dir / "model.tar.gz", "v1")
    return root


def cli(home: Path, *args: str) -> int:
    return mlops.main(["--home", str(home), *args])


def test_approval_deploys_to_staging_with_full_capture(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "registry", "list") == 0
    assert "PendingManualApproval" in capsys.readouterr().out
    assert cli(home, "registry", "approve", f"{GROUP}/1", "--reason", "AUC reviewed") == 0
    out = capsys.readouterr().out
    assert "Approved (AUC reviewed)" in out and "deployed to staging: credit-default-staging InService" in out
    assert cli(home, "endpoint", "describe", "credit-default-staging", "--json") == 0
    described = json.loads(capsys.readouterr().out)
    assert described["EndpointStatus"] == "InService"
    assert described["DataCaptureConfig"]["CurrentSamplingPercentage"] == 100
    assert described["DataCaptureConfig"]["DestinationS3Uri"] == "s3://sagemaker-us-east-1-mlops/credit-default/data-capture"
    assert described["CaptureCounts"] == {"Captured": 0, "Dropped": 0, "Written": 0}
    assert cli(home, "registry", "describe", f"{GROUP}/1", "--json") == 0
    history = json.loads(capsys.readouterr().out)["ApprovalHistory"]
    assert [h["To"] for h in history] == ["PendingManualApproval", "Approved"]


def test_a_filter_that_matches_nothing_says_so_while_packages_exist(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for filters, says in (
        (["--status", "Approved"], "no model packages with status Approved"),
        (["--group", "nope"], "no model packages in group nope"),
        (["--group", "nope", "--status", "Rejected"], "no model packages in group nope, with status Rejected"),
    ):
        assert cli(home, "registry", "list", *filters) == 0
        assert capsys.readouterr().out == says + "\n"


def test_endpoint_describe_says_how_many_records_were_written_and_dropped(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "registry", "approve", f"{GROUP}/1", "--reason", "ok") == 0
    stats = Home.resolve(home).capture_stats
    stats.mkdir(parents=True, exist_ok=True)
    # Two server processes' counts: "captured" (taken into the buffer) includes what the disk then refused.
    (stats / "credit-default-staging.101.json").write_text('{"captured": 5000, "dropped": 1500, "written": 3500}')
    (stats / "credit-default-staging.102.json").write_text('{"captured": 3424, "dropped": 580, "written": 2844}')
    capsys.readouterr()
    assert cli(home, "endpoint", "describe", "credit-default-staging") == 0
    assert "(6344 written, 2080 dropped)" in capsys.readouterr().out


def test_rejection_deploys_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "registry", "reject", f"{GROUP}/1", "--reason", "not yet") == 0
    assert cli(home, "endpoint", "list", "--json") == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):]) == {"Endpoints": []}


def test_deploy_refuses_unapproved_and_prod_samples_80(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "deploy", "--model-package", f"{GROUP}/1", "--stage", "prod") == 1
    assert "is PendingManualApproval; only an Approved package is deployed" in capsys.readouterr().err
    assert cli(home, "registry", "approve", f"{GROUP}/1", "--reason", "ok", "--no-deploy") == 0
    assert cli(home, "deploy", "--model-package", f"{GROUP}/1", "--stage", "prod", "--json") == 0
    out = capsys.readouterr().out
    described = json.loads(out[out.index("{"):])
    assert described["EndpointName"] == "credit-default-prod" and described["DataCaptureConfig"]["CurrentSamplingPercentage"] == 80


def test_a_broken_model_fails_its_endpoint_clearly(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register(Home.resolve(home), broken_archive(tmp_path / "b"), "broken", status="Approved")
    assert cli(home, "deploy", "--model-package", f"{GROUP}/2") == 1
    assert "Failed" in capsys.readouterr().out
    assert cli(home, "endpoint", "delete", "credit-default-staging") == 0
    assert cli(home, "endpoint", "describe", "credit-default-staging") == 1
    assert "Could not find endpoint" in capsys.readouterr().err


def test_an_approval_whose_deployment_fails_exits_1_and_the_deployment_can_be_retried(home: Path, tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.local.store import ObjectStore

    root = Home.resolve(home)
    register(root, broken_archive(tmp_path / "b"), "broken")
    assert cli(home, "registry", "approve", f"{GROUP}/2", "--reason", "reviewed") == 1
    captured = capsys.readouterr()
    assert f"{GROUP}/2 is Approved, but its deployment to staging failed:" in captured.err
    assert "is not an XGBoost model" in captured.err
    assert f"deploy it again: mlops deploy --model-package {GROUP}/2 --stage staging" in captured.err
    # The user fixes the model where the package points, then retries the deployment.
    ObjectStore(root.store).put_file(model_dir / "model.tar.gz", "s3://sagemaker-us-east-1-mlops/credit-default/models/broken/output/model.tar.gz")
    assert cli(home, "deploy", "--model-package", f"{GROUP}/2", "--stage", "staging") == 0
    assert "credit-default-staging: InService" in capsys.readouterr().out
