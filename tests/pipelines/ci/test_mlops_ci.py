"""``mlops ci`` on a fresh clone: this project's own buildspec.yml, run as CodeBuild runs it,
against a private twin, starts an execution that carries the commit; ``mlops ci install-hook``
makes every commit start a build."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from pipelines.api import sagemaker as api
from pipelines.ci import hook
from pipelines.local.home import Home

ROOT = Path(__file__).resolve().parents[3]


def mlops(home: Home, arguments: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The console script, as a user runs it (``python -m`` would import the clone's own package
    from the working directory)."""
    return subprocess.run([str(Path(sys.executable).parent / "mlops"), "--home", str(home.root), *arguments], cwd=cwd, capture_output=True, text=True, timeout=1800)


@pytest.mark.long  # run first (conftest.py)
def test_the_projects_buildspec_builds_a_fresh_clone_to_an_execution_of_its_commit(tmp_path: Path) -> None:
    clone = git.Repo.clone_from(str(ROOT), tmp_path / "clone")
    sha = clone.head.commit.hexsha
    home = Home.resolve(tmp_path / "home")
    done = mlops(home, ["ci", "run", "--skip", "pre_build"], Path(clone.working_dir))  # pre_build is the whole test suite
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Skipping phase INSTALL: the build runs in this Python environment" in done.stdout
    assert "Phase complete: BUILD State: SUCCEEDED" in done.stdout
    assert f"of {sha[:12]}: SUCCEEDED (install SKIPPED, pre_build SKIPPED, build SUCCEEDED)" in done.stderr
    # What the build left on the twin, through the SageMaker API it used.
    (execution,) = api.call(home, "ListPipelineExecutions", {"PipelineName": "CreditDefaultPipeline"})["PipelineExecutionSummaries"]
    assert execution["PipelineExecutionStatus"] == "Succeeded" and execution["PipelineExecutionDisplayName"] == f"git-{sha[:12]}"
    pipeline = api.call(home, "DescribePipeline", {"PipelineName": "CreditDefaultPipeline"})
    tags = {t["Key"]: t["Value"] for t in api.call(home, "ListTags", {"ResourceArn": pipeline["PipelineArn"]})["Tags"]}
    assert tags["GitCommit"] == sha
    assert api.call(home, "DescribePipeline", {"PipelineName": "CreditDefaultMonitoring"})["PipelineStatus"] == "Active"  # upserted, not started
    assert clone.git.worktree("list").count("\n") == 0  # the build's checkout is gone
    clone.close()  # GitPython's cat-file processes


def test_the_hook_builds_each_commit_in_the_background(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "repo")
    work = Path(repo.working_dir)
    (work / "buildspec.yml").write_text("version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"built $CODEBUILD_RESOLVED_SOURCE_VERSION\"\n")
    repo.index.add(["buildspec.yml"])
    repo.index.commit("a buildspec")
    home = Home.resolve(tmp_path / "home")
    missing = mlops(home, ["ci", "run", "--buildspec", "nope.yml"], work)
    assert missing.returncode == 1 and f"nope.yml: not in commit {repo.head.commit.hexsha[:12]} of {work}; the build reads the committed buildspec" in missing.stderr
    assert "Traceback" not in missing.stderr and repo.git.worktree("list").count("\n") == 0  # its checkout removed
    installed = mlops(home, ["ci", "install-hook"], work)
    assert installed.returncode == 0, installed.stderr
    path = work / ".git" / "hooks" / "post-commit"
    assert path.stat().st_mode & 0o111 and hook.MARK in path.read_text()
    (work / "change.txt").write_text("x")
    repo.index.add(["change.txt"])
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "a change"], cwd=work, check=True)  # git itself, so its hook runs
    sha = repo.head.commit.hexsha
    log = home.root / "ci" / f"{sha}.log"
    give_up = time.monotonic() + 600  # a guard against a hung build, not a pace
    while "mlops ci: exit status" not in (log.read_text() if log.exists() else ""):  # the hook's last line
        assert time.monotonic() < give_up, "the hook's build did not finish"
        time.sleep(0.2)
    said = log.read_text()
    assert f"built {sha}" in said and f"of {sha[:12]}: SUCCEEDED" in said and said.endswith("mlops ci: exit status 0\n"), said[-2000:]
    # A hook of the user's is never replaced.
    assert mlops(home, ["ci", "install-hook", "--remove"], work).returncode == 0 and not path.exists()
    path.write_text("#!/bin/sh\necho mine\n")
    refused = mlops(home, ["ci", "install-hook"], work)
    assert refused.returncode == 1 and "exists and is not mlops ci's" in refused.stderr and path.read_text() == "#!/bin/sh\necho mine\n"
    repo.close()  # GitPython's cat-file processes
