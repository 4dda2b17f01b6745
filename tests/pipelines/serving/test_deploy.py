"""Deployment's defaults and refusals: where capture goes, and what the local store cannot hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.errors import UsageError
from pipelines.local.home import Home
from pipelines.registry.store import ModelRegistry
from pipelines.serving import deploy
from tests.helpers.serving_helpers import GROUP, XGBOOST_IMAGE


@pytest.mark.parametrize(
    ("model", "capture"),
    [
        ("s3://sagemaker-us-east-1-mlops/credit-default/models/p/output/model.tar.gz", "s3://sagemaker-us-east-1-mlops/credit-default/data-capture"),
        ("s3://evil/good.tar.gz", "s3://evil/data-capture"),  # at the bucket's top level: not under the model's own key
        ("s3://b//model.tar.gz", "s3://b/data-capture"),
        ("s3://b/folder/model.tar.gz", "s3://b/folder/data-capture"),
    ],
)
def test_the_default_capture_destination_is_a_folder_beside_the_model(model: str, capture: str) -> None:
    assert deploy.capture_destination(model) == capture


def _approved(home: Home, uri: str, archive: Path) -> str:
    home.objects().put_file(archive, uri)
    with ModelRegistry(home) as registry:
        package = registry.register(GROUP, {
            "ModelApprovalStatus": "Approved",
            "InferenceSpecification": {"Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": uri}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        })  # fmt: skip
    return package["ModelPackageArn"]


def test_a_model_at_a_buckets_top_level_is_deployed_with_a_capture_that_can_be_written(tmp_path: Path, model_dir: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    described = deploy.deploy_package(home, _approved(home, "s3://evil/good.tar.gz", model_dir / "model.tar.gz"), "ep")
    assert described["DataCaptureConfig"]["DestinationS3Uri"] == "s3://evil/data-capture"


def test_a_capture_destination_under_an_object_is_refused_before_anything_is_deployed(tmp_path: Path, model_dir: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    arn = _approved(home, "s3://evil/good.tar.gz", model_dir / "model.tar.gz")
    with pytest.raises(UsageError) as refused:
        deploy.deploy_package(home, arn, "ep", destination="s3://evil/good.tar.gz/data-capture")
    assert "DataCaptureConfig.DestinationS3Uri s3://evil/good.tar.gz/data-capture: s3://evil/good.tar.gz is an object" in str(refused.value)
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        assert store.list_endpoints() == []
