"""The git commit an execution is built from.

CodeBuild checks out a detached commit and says which in ``CODEBUILD_RESOLVED_SOURCE_VERSION``;
elsewhere the repository's HEAD is read with GitPython. A working tree with uncommitted
changes does not match any commit: it is refused unless the caller allows it, and then the
commit is marked dirty.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.core.errors import UsageError

CODEBUILD_VARIABLE = "CODEBUILD_RESOLVED_SOURCE_VERSION"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Commit:
    sha: str
    branch: str | None = None
    remote_url: str | None = None
    author: str | None = None
    date: str | None = None
    subject: str | None = None
    dirty: bool = False

    @property
    def short(self) -> str:
        return self.sha[:12]

    @property
    def display_name(self) -> str:
        """``git-<sha12>`` (``-dirty`` appended): letters, digits and hyphens, as SageMaker allows."""
        return f"git-{self.short}" + ("-dirty" if self.dirty else "")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def resolve(path: Path | str = ".", allow_dirty: bool = False) -> Commit:
    """The commit to run: CodeBuild's, else HEAD of the repository containing ``path``."""
    from_codebuild = os.environ.get(CODEBUILD_VARIABLE, "").strip()
    try:
        import git
    except ImportError:  # pragma: no cover - GitPython is a runtime dependency
        git = None
    repo = None
    if git is not None:
        try:
            repo = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            repo = None
    if from_codebuild:
        details = _details(repo, from_codebuild) if repo is not None else {}
        return Commit(sha=from_codebuild, **details)
    if repo is None:
        raise UsageError(f"{Path(path).resolve()} is not inside a git repository; run from a clone or set {CODEBUILD_VARIABLE}")
    try:
        sha = repo.head.commit.hexsha
    except ValueError as exc:
        raise UsageError("the repository has no commit yet; commit your work first") from exc
    dirty = repo.is_dirty(untracked_files=False)
    if dirty and not allow_dirty:
        changed = sorted({item.a_path for item in repo.index.diff(None)} | {item.a_path for item in repo.index.diff("HEAD")})
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise UsageError(
            f"the working tree has uncommitted changes ({shown}); commit them, or pass --allow-dirty "
            "to run anyway (the execution is then marked dirty)"
        )
    return Commit(sha=sha, dirty=dirty, **_details(repo, sha))


def _details(repo: object, sha: str) -> dict[str, str | None]:
    import git

    assert isinstance(repo, git.Repo)
    try:
        commit = repo.commit(sha)
    except (ValueError, git.BadName):
        return {}
    try:
        branch: str | None = repo.active_branch.name
    except TypeError:  # detached HEAD
        branch = os.environ.get("CODEBUILD_SOURCE_VERSION") or None
    remote_url = None
    if repo.remotes:
        remote = repo.remotes[0]
        remote_url = _without_credentials(next(iter(remote.urls), None))
    return {
        "branch": branch,
        "remote_url": remote_url,
        "author": f"{commit.author.name} <{commit.author.email}>",
        "date": commit.committed_datetime.isoformat(),
        "subject": commit.summary if isinstance(commit.summary, str) else commit.summary.decode(),
    }


def _without_credentials(url: str | None) -> str | None:
    """Drop any ``user:token@`` from an https remote URL: a secret never goes into a tag."""
    if url and "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url
