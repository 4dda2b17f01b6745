"""The whole local story in another region: one region per home, so one ARN per thing.

Before Home was the only source of the region, the engine registered a package under the
execution's region while approvals opened the registry in us-east-1: one package had two ARNs
and lineage recorded two artifacts for it. The tests elsewhere pin us-east-1 and cannot see that.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main as mlops
from pipelines.lineage.store import LineageStore
from pipelines.local.home import Home


@pytest.mark.long  # run first (conftest.py)
def test_the_story_in_eu_west_1_keeps_one_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    root = tmp_path / "home"
    assert mlops.main(["--home", str(root), "run", "--json"]) == 0
    execution = json.loads(capsys.readouterr().out)
    assert execution["PipelineExecutionArn"].startswith("arn:aws:sagemaker:eu-west-1:000000000000:pipeline/")
    package = next(s for s in execution["Steps"] if s["StepName"] == "Register")["Detail"].split()[0]
    assert package.startswith("arn:aws:sagemaker:eu-west-1:000000000000:model-package/")
    assert mlops.main(["--home", str(root), "registry", "approve", package, "--reason", "reviewed"]) == 0
    assert mlops.main(["--home", str(root), "endpoint", "describe", "credit-default-staging", "--json"]) == 0
    out = capsys.readouterr().out
    endpoint = json.loads(out[out.index("{\n") :])
    assert endpoint["EndpointArn"] == "arn:aws:sagemaker:eu-west-1:000000000000:endpoint/credit-default-staging"
    home = Home.resolve(root)
    assert home.region == "eu-west-1"
    with LineageStore(home) as store:
        packages = store.find("artifact", "ModelPackage")
        assert [p["SourceUri"] for p in packages] == [package]  # one artifact for the one package
        arns = [entity["Arn"] for kind in ("artifact", "action", "context") for entity in store.find(kind)]
    assert arns and all(":eu-west-1:" in arn for arn in arns)
