"""The object store keeps S3's semantics where jobs rely on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.errors import DefinitionError
from pipelines.local.store import ObjectStore


def test_uri_maps_to_a_path_and_back(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "s3")
    path = store.path("s3://bucket/a/b.csv")
    assert path == tmp_path / "s3" / "bucket" / "a" / "b.csv"
    path.parent.mkdir(parents=True)
    path.write_text("x")
    assert store.uri(path) == "s3://bucket/a/b.csv"


@pytest.mark.parametrize("uri", ["s3://bucket/../etc/passwd", "s3://../x", "/local/path", "s3://"])
def test_uris_that_leave_the_store_are_refused(tmp_path: Path, uri: str) -> None:
    with pytest.raises(DefinitionError):
        ObjectStore(tmp_path).path(uri)


def test_prefix_covers_objects_on_slash_boundaries(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    for key in ("p/train/a.csv", "p/train/sub/b.csv", "p/train_other/c.csv"):
        target = store.path(f"s3://b/{key}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(key)
    assert [name for name, _ in store.objects("s3://b/p/train")] == ["a.csv", "sub/b.csv"]
    assert [name for name, _ in store.objects("s3://b/p/train/a.csv")] == ["a.csv"]
    count = store.materialize("s3://b/p/train", tmp_path / "dest")
    assert count == 2 and (tmp_path / "dest" / "sub" / "b.csv").read_text() == "p/train/sub/b.csv"
    with pytest.raises(FileNotFoundError):
        store.materialize("s3://b/p/nothing", tmp_path / "dest2")


def test_local_paths_are_inputs_too(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "s3")
    (tmp_path / "data.csv").write_text("1,2\n")
    assert store.materialize(str(tmp_path / "data.csv"), tmp_path / "in") == 1
    assert (tmp_path / "in" / "data.csv").read_text() == "1,2\n"


def test_publish_replaces_the_whole_prefix(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "s3")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "old.txt").write_text("old")
    (second / "new.txt").write_text("new")
    store.publish(first, "s3://b/out")
    store.publish(second, "s3://b/out")
    assert [name for name, _ in store.objects("s3://b/out")] == ["new.txt"]
    assert not [p for p in (tmp_path / "s3" / "b").iterdir() if p.name.startswith(".")]


def test_digest_follows_content(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "s3")
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a").write_text("1")
    before = store.digest(str(folder))
    assert before == store.digest(str(folder))
    (folder / "a").write_text("2")
    assert store.digest(str(folder)) != before
    assert store.digest(str(tmp_path / "missing")) == ""


def test_upload_adds_to_the_prefix_as_s3_does(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "s3")
    first, second = tmp_path / "first" / "10", tmp_path / "second" / "11"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    (first / "report.json").write_text("ten")
    (second / "report.json").write_text("eleven")
    assert store.upload(first.parent, "s3://b/hours") == 1
    assert store.upload(second.parent, "s3://b/hours/") == 1
    assert [name for name, _ in store.objects("s3://b/hours")] == ["10/report.json", "11/report.json"]
    (first / "report.json").write_text("ten, again")
    store.upload(first.parent, "s3://b/hours")
    assert store.path("s3://b/hours/10/report.json").read_text() == "ten, again"
    assert not [p for p in store.path("s3://b/hours").rglob(".*")]
