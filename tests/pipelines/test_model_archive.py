"""Model archives and the URIs that point at them: refused before anything unsafe is unpacked or stored."""

from __future__ import annotations

import gzip
import io
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from pipelines.core import model_archive, shapes
from pipelines.core.errors import UsageError
from pipelines.local.home import Home
from pipelines.registry.store import ModelRegistry
from pipelines.serving.endpoints import EndpointStore

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def bomb(path: Path, unpacked: int, name: str = "xgboost-model") -> Path:
    """A gzip bomb: one tar entry of ``unpacked`` zero bytes, a few KB to a few MB on disk.

    Written as gzip members one after another (a megabyte of zeros compressed once and its member
    repeated), which gzip and tarfile read as one stream: deflating 1.5 GB took three seconds."""
    info = tarfile.TarInfo(name)
    info.size = unpacked
    megabyte = gzip.compress(b"\0" * (1 << 20), compresslevel=9, mtime=0)
    with path.open("wb") as out:
        out.write(gzip.compress(info.tobuf(), mtime=0))
        for _ in range(unpacked >> 20):
            out.write(megabyte)
        out.write(gzip.compress(b"\0" * (unpacked % (1 << 20) + 1024), mtime=0))
    return path


def test_the_issues_gzip_bomb_is_refused_at_its_header_without_unpacking(tmp_path: Path) -> None:
    path = bomb(tmp_path / "model.tar.gz", 1_500_000_000)  # 1.5 GB from about 7 MB
    assert path.stat().st_size < 10_000_000
    peak = refused_reading_headers(path, r"unpacks to more than 1\.0 GiB \(entry 'xgboost-model' declares 1\.4 GiB\); refused")
    assert peak < 5_000_000  # what it read to decide: headers, not the 1.5 GB


def refused_reading_headers(path: Path, message: str) -> int:
    """Read ``path`` expecting the refusal ``message``; the peak memory it took to decide."""
    tracemalloc.start()
    try:
        with pytest.raises(model_archive.ArchiveError, match=message):
            model_archive.read_model(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_model_that_packs_far_tighter_than_any_model_is_refused_at_its_header(tmp_path: Path) -> None:
    """The issue's 900 MB xgboost-model in under 1 MB: under the 1 GiB limit, but no model packs so tight."""
    path = bomb(tmp_path / "model.tar.gz", 300_000_000)
    assert path.stat().st_size * 100 < 300_000_000
    peak = refused_reading_headers(path, r"declares 286\.1 MiB unpacked from .* \(entry 'xgboost-model'\), more than 100 times its size, which no model packs to; refused")
    assert peak < 5_000_000  # the header decided it: the 300 MB were not read


def test_entries_that_add_up_past_the_limit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for index in range(3):
            info = tarfile.TarInfo(f"part-{index}")
            info.size = 400_000
            tar.addfile(info, io.BytesIO(b"\0" * info.size))
    with pytest.raises(model_archive.ArchiveError, match=r"unpacks to more than 976\.6 KiB \(entry 'part-2' declares 390\.6 KiB\)"):
        model_archive.read_model(path, limit=1_000_000)


def test_too_many_entries_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_archive, "MAX_ENTRIES", 5)
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for index in range(6):
            tar.addfile(tarfile.TarInfo(f"empty-{index}"), io.BytesIO(b""))
    with pytest.raises(model_archive.ArchiveError, match="more than 5 entries"):
        model_archive.read_model(path)


def test_a_truncated_archive_is_a_clear_error(tmp_path: Path) -> None:
    whole = bomb(tmp_path / "whole.tar.gz", 2_000_000)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(model_archive.ArchiveError, match="not a readable tar archive"):
        model_archive.read_model(cut)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://b/../../etc/model.tar.gz", "without '.' or '..' segments"),
        ("s3://../x/model.tar.gz", "without '.' or '..' segments"),
        ("/tmp/model.tar.gz", "is not an s3:// or https:// URI"),
        ("file:///tmp/model.tar.gz", "is not an s3:// or https:// URI"),
        ("https://example.com/model.tar.gz", "keeps objects at s3:// URIs in its store, not https://"),
        ("s3://b/" + "k" * 1100, "at most 1024 characters"),
        (5, "5 is not an s3:// or https:// URI"),
    ],
)
def test_model_data_urls_follow_botocores_shape_and_the_store(url: object, message: str) -> None:
    assert message in (shapes.uri_problem(url, "Url") or "")


def test_botocores_shapes_are_the_source() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    assert model.shape_for("ModelPackageContainerDefinition").members["ModelDataUrl"].name == "Url"
    assert model.shape_for("ContainerDefinition").members["ModelDataUrl"].name == "Url"
    assert shapes.capture_destination_shape() == model.shape_for("DataCaptureConfig").members["DestinationS3Uri"].name
    assert shapes.uri_problem("s3://bucket/credit-default/model.tar.gz") is None


def package(url: str) -> dict:
    return {"InferenceSpecification": {"Containers": [{"Image": IMAGE, "ModelDataUrl": url}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}}


@pytest.fixture
def registry(tmp_path: Path):  # type: ignore[no-untyped-def]
    home = Home.resolve(tmp_path / "home")
    opened = ModelRegistry(home)
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://b/../../model.tar.gz", "InferenceSpecification.Containers[0].ModelDataUrl: s3://b/../../model.tar.gz: an s3://bucket/key URI without '.' or '..'"),
        ("/etc/model.tar.gz", "InferenceSpecification.Containers[0].ModelDataUrl: '/etc/model.tar.gz' is not an s3:// or https:// URI"),
        ("s3://b/missing/model.tar.gz", "InferenceSpecification.Containers[0].ModelDataUrl: "),
    ],
)
def test_the_registry_refuses_what_it_could_not_serve(registry: ModelRegistry, url: str, message: str) -> None:
    with pytest.raises(UsageError) as error:
        registry.register("G", package(url))
    assert message in str(error.value)
    assert registry.list_packages() == []  # nothing half-registered


def test_the_registry_refuses_a_gzip_bomb(registry: ModelRegistry, tmp_path: Path) -> None:
    registry.store.put_file(bomb(tmp_path / "model.tar.gz", 1_200_000_000), "s3://b/bomb/model.tar.gz")
    with pytest.raises(UsageError, match=r"unpacks to more than 1\.0 GiB"):
        registry.register("G", package("s3://b/bomb/model.tar.gz"))
    assert registry.list_packages() == []


def test_endpoints_refuse_models_and_capture_outside_the_store(tmp_path: Path) -> None:
    store = EndpointStore(Home.resolve(tmp_path))
    try:
        with pytest.raises(UsageError, match=r"model m: PrimaryContainer\.ModelDataUrl: '/tmp/model\.tar\.gz' is not an s3://"):
            store.create_model("m", {"PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": "/tmp/model.tar.gz"}})
        store.create_model("m", {"PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": "s3://b/m/model.tar.gz"}})
        config = {"ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m"}], "DataCaptureConfig": {"EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": "s3://b/../../../../tmp/capture"}}
        with pytest.raises(UsageError, match=r"DataCaptureConfig\.DestinationS3Uri: .*without '\.' or '\.\.' segments"):
            store.create_endpoint_config("c", config)
    finally:
        store.close()
