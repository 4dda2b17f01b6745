from __future__ import annotations

from pathlib import Path

import git
import pytest

from pipelines.core.errors import UsageError
from pipelines.runs import commit


def make_repo(path: Path) -> git.Repo:
    repo = git.Repo.init(path)
    (path / "a.txt").write_text("a\n")
    repo.index.add(["a.txt"])
    actor = git.Actor("Grace Hopper", "grace@example.com")
    repo.index.commit("First commit", author=actor, committer=actor)
    return repo


def test_head_with_details(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(commit.CODEBUILD_VARIABLE, raising=False)
    repo = make_repo(tmp_path)
    found = commit.resolve(tmp_path)
    assert found.sha == repo.head.commit.hexsha and not found.dirty
    assert found.author == "Grace Hopper <grace@example.com>" and found.subject == "First commit"
    assert found.display_name == f"git-{found.sha[:12]}" and len(found.display_name) <= 82


def test_not_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(commit.CODEBUILD_VARIABLE, raising=False)
    with pytest.raises(UsageError, match="is not inside a git repository"):
        commit.resolve(tmp_path)


def test_repository_without_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(commit.CODEBUILD_VARIABLE, raising=False)
    git.Repo.init(tmp_path)
    with pytest.raises(UsageError, match="no commit yet"):
        commit.resolve(tmp_path)


def test_dirty_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(commit.CODEBUILD_VARIABLE, raising=False)
    make_repo(tmp_path)
    (tmp_path / "a.txt").write_text("changed\n")
    with pytest.raises(UsageError, match=r"uncommitted changes \(a.txt\)"):
        commit.resolve(tmp_path)
    assert commit.resolve(tmp_path, allow_dirty=True).dirty


def test_codebuild_variable_wins_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(commit.CODEBUILD_VARIABLE, "f" * 40)
    found = commit.resolve(tmp_path)
    assert found.sha == "f" * 40 and found.author is None
