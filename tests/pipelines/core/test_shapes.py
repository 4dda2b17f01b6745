"""The botocore shapes the twin checks values against: botocore's own, kept per botocore version."""

from __future__ import annotations

import json
from pathlib import Path

import botocore
import botocore.session
import pytest

from pipelines.core import shapes, user_cache


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return user_cache.folder("botocore")


def test_a_shape_is_botocores_and_is_kept_for_this_botocore(cache: Path) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    assert shapes._metadata("sagemaker", "Url") == model.shape_for("Url").metadata
    kept = json.loads((cache / f"{botocore.__version__}-sagemaker.json").read_text())
    assert kept["Url"] == model.shape_for("Url").metadata
    assert shapes._metadata("sagemaker", "DataCaptureConfig")["members"]["DestinationS3Uri"] == model.shape_for("DataCaptureConfig").members["DestinationS3Uri"].name


def test_what_is_kept_is_what_is_used_and_a_damaged_file_is_read_again(cache: Path) -> None:
    shapes._metadata("sagemaker", "EndpointName")
    path = cache / f"{botocore.__version__}-sagemaker.json"
    kept = json.loads(path.read_text())
    path.write_text(json.dumps({**kept, "EndpointName": {**kept["EndpointName"], "max": 7}}))
    assert shapes._metadata("sagemaker", "EndpointName")["max"] == 7  # read from the file, not botocore
    path.write_text("{not json")
    assert shapes._metadata("sagemaker", "EndpointName")["max"] == 63  # botocore's again
