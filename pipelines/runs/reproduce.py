"""Reproducing a model package: the same commit, the same parameters, run again from scratch.

The package names its commit (CustomerMetadataProperties.GitCommit) and the pipeline execution
that registered it; the commit is checked out in a temporary git worktree, and the pipeline
runs from that worktree's code on the local engine, without the cache, with the original
execution's parameters (the bundled data taken from the worktree when that is what was used).
Then the two executions are compared: do the data digests match, and how far did the metrics move.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipelines.core.errors import UsageError
from pipelines.local.home import Home
from pipelines.registry.store import ModelRegistry
from pipelines.runs import experiments

ROOT = Path(__file__).resolve().parents[2]


def reproduce(home: Home, package: str, repository: Path = ROOT) -> dict[str, Any]:
    registry = ModelRegistry(home)
    try:
        described = registry.describe(package)
    finally:
        registry.close()
    commit = (described.get("CustomerMetadataProperties") or {}).get("GitCommit")
    creator = (described.get("CreatedBy") or {}).get("UserProfileName") or ""
    if not commit or commit == "unknown":
        raise UsageError(f"{described['ModelPackageArn']} carries no commit (CustomerMetadataProperties.GitCommit); it cannot be reproduced")
    if not creator.startswith("pipeline:arn:"):
        raise UsageError(f"{described['ModelPackageArn']} was not registered by a local pipeline execution; its parameters are unknown here")
    original_id = creator.rsplit("/", 1)[1]
    original = experiments.summary(home, original_id)
    parameters = {k: _typed(v) for k, v in original["Parameters"].items() if k != "GitCommit"}
    import git

    try:
        repo = git.Repo(repository, search_parent_directories=True)
        repo.commit(commit)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError, git.BadName) as exc:
        raise UsageError(f"commit {commit[:12]} is not in the repository at {repository}; fetch it first") from exc
    top = Path(repo.working_tree_dir or repository)
    workdir = Path(tempfile.mkdtemp(prefix="mlops-reproduce-"))
    tree = workdir / "tree"
    repo.git.worktree("add", "--detach", str(tree), commit)
    try:
        data = parameters.get("InputDataUrl")
        if isinstance(data, str) and not data.startswith("s3://"):
            path = Path(data)
            if path.is_absolute() and top in path.parents:
                parameters["InputDataUrl"] = str(tree / path.relative_to(top))
        command = [sys.executable, "-m", "pipelines.cli.main", "--home", str(home.root), "run", "--no-cache", "--json", "--parameters", json.dumps(parameters), "--description", f"reproduce {described['ModelPackageArn']}"]
        done = subprocess.run(command, cwd=tree, env=_env(tree), capture_output=True, text=True)
        if not done.stdout.strip().startswith("{"):
            raise UsageError(f"the reproduction run did not finish: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no output'}")
        result = json.loads(done.stdout)
    finally:
        repo.git.worktree("remove", "--force", str(tree))
        shutil.rmtree(workdir, ignore_errors=True)
    again = experiments.summary(home, result["PipelineExecutionArn"])
    digests = {name: (digest, again["DataDigests"].get(name)) for name, digest in original["DataDigests"].items() if name.startswith(("Preprocess/", "Evaluate/baseline"))}
    metrics = {name: (value, again["Metrics"].get(name)) for name, value in original["Metrics"].items()}
    return {
        "ModelPackageArn": described["ModelPackageArn"],
        "Commit": commit,
        "OriginalExecution": original["ExecutionArn"],
        "ReproducedExecution": again["ExecutionArn"],
        "Status": again["Status"],
        "DataDigestsMatch": all(a == b for a, b in digests.values()),
        "DataDigests": digests,
        "Metrics": {name: {"original": a, "reproduced": b, "difference": None if b is None else b - a} for name, (a, b) in metrics.items()},
    }


def _typed(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            continue
    return value


def _env(tree: Path) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)  # that commit's code, not the installed one
    return env
