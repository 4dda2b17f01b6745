"""The registry: SageMaker's shapes, versions, and approval transitions with who, when and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.errors import Conflict, UsageError
from pipelines.local.home import Home
from pipelines.registry.store import ModelRegistry
from tests.helpers.serving_helpers import GROUP, register


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home")


def test_versions_and_describe_shape(home: Home, model_dir: Path) -> None:
    first = register(home, model_dir / "model.tar.gz", "a")
    second = register(home, model_dir / "model.tar.gz", "b", status="Approved")
    assert (first["ModelPackageVersion"], second["ModelPackageVersion"]) == (1, 2)
    assert first["ModelPackageArn"] == "arn:aws:sagemaker:us-east-1:000000000000:model-package/creditdefaultpackagegroup/1"
    for key in ("ModelPackageGroupName", "ModelApprovalStatus", "InferenceSpecification", "CustomerMetadataProperties", "MetadataProperties", "CreationTime", "ModelPackageStatus"):
        assert key in first, key
    assert first["CustomerMetadataProperties"] == {"GitCommit": "0123456789abcdef"}
    registry = ModelRegistry(home)
    assert [p["ModelPackageVersion"] for p in registry.list_packages(GROUP)] == [2, 1]
    assert registry.latest_approved(GROUP)["ModelPackageVersion"] == 2
    assert registry.describe(f"{GROUP}/1") == registry.describe(first["ModelPackageArn"])
    registry.close()


def test_transitions_are_recorded_and_illegal_ones_refused(home: Home, model_dir: Path) -> None:
    package = register(home, model_dir / "model.tar.gz", "a")
    registry = ModelRegistry(home)
    heard: list[str] = []
    registry.on_approval(lambda p: heard.append(p["ModelPackageArn"]))
    registry.update_status(package["ModelPackageArn"], "Rejected", "bad AUC", by="alice")
    assert heard == []  # a rejection is not an approval
    registry.update_status(package["ModelPackageArn"], "Approved", "re-evaluated", by="bob")
    assert heard == [package["ModelPackageArn"]]
    with pytest.raises(Conflict, match="already Approved"):
        registry.update_status(package["ModelPackageArn"], "Approved", "again")
    with pytest.raises(UsageError, match="never moves one back to PendingManualApproval"):
        registry.update_status(package["ModelPackageArn"], "PendingManualApproval", "undo")
    with pytest.raises(UsageError, match="a reason is required"):
        registry.update_status(package["ModelPackageArn"], "Rejected", " ")
    history = registry.transitions(package["ModelPackageArn"])
    assert [(h["From"], h["To"], h["By"], h["Reason"]) for h in history] == [
        (None, "PendingManualApproval", history[0]["By"], "registered"),
        ("PendingManualApproval", "Rejected", "alice", "bad AUC"),
        ("Rejected", "Approved", "bob", "re-evaluated"),
    ]
    assert registry.describe(package["ModelPackageArn"])["ApprovalDescription"] == "re-evaluated"
    registry.close()


def test_unknown_packages_are_named(home: Home, model_dir: Path) -> None:
    register(home, model_dir / "model.tar.gz", "a")
    registry = ModelRegistry(home)
    with pytest.raises(UsageError, match="no model package group 'Nope'"):
        registry.describe("Nope/1")
    with pytest.raises(UsageError, match=f"{GROUP} has no version 9"):
        registry.describe(f"{GROUP}/9")
    with pytest.raises(UsageError, match="is not a model package ARN"):
        registry.describe("just-a-name")
    registry.close()
