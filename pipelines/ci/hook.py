"""The git hook that runs ``mlops ci`` on every commit, as CodePipeline starts a build on every
push: ``post-commit``, which cannot stop a commit, starts the build in the background and
leaves its log in ``$MLOPS_HOME/ci/<commit>.log``, whose last line is ``mlops ci: exit status N``.

A hook that is not this one is never replaced: the user's hooks are theirs.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

from pipelines.core.errors import UsageError
from pipelines.core.fileio import write_text_atomic
from pipelines.local.home import Home

NAME = "post-commit"
MARK = "# mlops ci install-hook"


def hooks_folder(root: Path) -> Path:
    """The repository's hooks folder (``core.hooksPath`` when set)."""
    import git

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"{root} is not inside a git repository; run mlops ci install-hook from a clone") from None
    with repo.config_reader() as config:
        configured = config.get_value("core", "hooksPath", default="")
    folder = Path(str(configured)) if configured else Path(repo.git_dir) / "hooks"
    return folder if folder.is_absolute() else Path(repo.working_tree_dir or root) / folder


def text(home: Home, arguments: list[str]) -> str:
    """The hook: this interpreter's mlops, this home, the same arguments, in the background."""
    # The console script, not ``python -m``: that would put the repository first on sys.path, and
    # a repository with a ``pipelines`` package of its own (AWS's templates have one) would win.
    script = Path(sys.executable).parent / "mlops"
    program = [str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli.main"]
    mlops = " ".join(shlex.quote(part) for part in [*program, "--home", str(home.root), "ci", *arguments])
    logs = shlex.quote(str(home.root / "ci"))
    return (
        "#!/bin/sh\n"
        f"{MARK}: a local CodeBuild run of buildspec.yml for each commit; its log is in {home.root / 'ci'}/<commit>.log\n"
        f"mkdir -p {logs}\n"
        f'commit=$(git rev-parse HEAD)\n'
        "# git runs hooks with GIT_DIR, GIT_INDEX_FILE and others set for this repository; the build makes its own checkout\n"
        "for name in $(env | sed -n 's/^\\(GIT_[A-Z_]*\\)=.*/\\1/p'); do unset \"$name\"; done\n"
        f'( nohup {mlops}; echo "mlops ci: exit status $?" ) > {logs}/"$commit".log 2>&1 < /dev/null &\n'
    )


def install(root: Path, home: Home, arguments: list[str]) -> Path:
    """Write the hook; refuse to replace one that is not ours."""
    path = hooks_folder(root) / NAME
    if path.exists() and MARK not in path.read_text(errors="replace"):
        raise UsageError(f"{path} exists and is not mlops ci's; add this line to it yourself, or move it away: {text(home, arguments).splitlines()[-1]}")
    write_text_atomic(path, text(home, arguments))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def uninstall(root: Path) -> Path | None:
    """Remove the hook if it is ours; the path removed, or None."""
    path = hooks_folder(root) / NAME
    if path.exists() and MARK in path.read_text(errors="replace"):
        os.unlink(path)
        return path
    return None
