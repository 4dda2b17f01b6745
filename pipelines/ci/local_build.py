"""A buildspec run as CodeBuild runs it, on this machine.

As in CodeBuild (buildspec version 0.2), every command of every phase runs in one instance of
the shell, so a ``cd`` or an ``export`` carries on; a command that exits non-zero ends its
phase (its ``finally`` commands still run) and the build fails; after a failed ``install`` or
``pre_build`` nothing else runs, after a failed ``build`` the ``post_build`` phase still does,
with ``CODEBUILD_BUILD_SUCCEEDING=0``; ``on-failure: CONTINUE`` goes on to the next phase.
Variables, highest first: what the caller gives (``--env``, as a StartBuild override), the
project's (here: the local project's, ``project_variables``), the buildspec's ``env.variables``,
then CodeBuild's own (``CODEBUILD_RESOLVED_SOURCE_VERSION`` is the checkout's HEAD).

The log is CodeBuild's: ``[Container] <time> Entering phase BUILD``, ``Running command ...``,
``Phase complete: BUILD State: SUCCEEDED``. The outcome of each phase is read back from a status
file the script writes, not from the log.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pipelines.ci.buildspec import PHASES, Buildspec, Phase
from pipelines.local.home import Home

SUCCEEDED, FAILED, SKIPPED, NOT_RUN = "SUCCEEDED", "FAILED", "SKIPPED", "NOT_RUN"
_STATUS = "MLOPS_CI_STATUS_FILE"


@dataclass
class BuildResult:
    build_id: str
    commit: str
    phases: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return FAILED not in self.phases.values()


def project_variables(home: Home) -> dict[str, str]:
    """What the CodeBuild project of ``templates/`` gives buildspec.yml on AWS, for the twin's
    account: its roles, its artifact bucket, and the workshop's network and key (values in the
    twin's account; the local engine records them on the jobs, and the policy check sees them
    as on AWS)."""
    account, region = home.account, home.region
    return {
        "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
        "SAGEMAKER_PIPELINE_ROLE_ARN": f"arn:aws:iam::{account}:role/SageMakerPipelineRole",
        "MONITORING_ROLE_ARN": f"arn:aws:iam::{account}:role/SageMakerMonitoringRole",
        "ARTIFACT_BUCKET": f"sagemaker-{region}-{account}",
        "SUBNET_IDS": "subnet-0000000000000000a,subnet-0000000000000000b",
        "SECURITY_GROUP_IDS": "sg-0000000000000000a",
        "KMS_KEY_ARN": f"arn:aws:kms:{region}:{account}:key/00000000-0000-4000-8000-000000000000",
    }  # fmt: skip


# The raw data, where the pipeline's InputDataUrl points by default (s3://<bucket>/credit-default/...).
DATA = ("data/credit-card-default/credit_default.csv", "credit-default/data/credit_default.csv")


def prepare_account(home: Home, source: Path, bucket: str) -> None:
    """What the project has in its AWS account before CodeBuild runs, made in the twin's when
    missing: the artifact bucket (its template creates it) and the raw data in it (the README's
    AWS path uploads it, from the repository's own copy)."""
    from pipelines.api.s3 import Bucket

    root = Bucket(home, bucket).root
    root.mkdir(parents=True, mode=0o700, exist_ok=True)
    local, key = DATA
    objects = home.objects()
    if (source / local).is_file() and not objects.exists(f"s3://{bucket}/{key}"):
        objects.put_file(source / local, f"s3://{bucket}/{key}")


def codebuild_variables(root: Path, commit: str, branch: str | None, build_id: str) -> dict[str, str]:
    """CodeBuild's own environment variables, as far as they mean something here."""
    variables = {
        "CODEBUILD_BUILD_ID": build_id, "CODEBUILD_BUILD_ARN": f"local:codebuild:build/{build_id}",
        "CODEBUILD_BUILD_NUMBER": "1", "CODEBUILD_INITIATOR": "mlops-ci", "CODEBUILD_LOCAL": "true",
        "CODEBUILD_RESOLVED_SOURCE_VERSION": commit, "CODEBUILD_SRC_DIR": str(root),
        "CODEBUILD_BUILD_SUCCEEDING": "1",
    }  # fmt: skip
    if branch:
        variables["CODEBUILD_SOURCE_VERSION"] = branch
    return variables


def run(spec: Buildspec, root: Path, environment: dict[str, str], skip: dict[str, str], out: TextIO) -> BuildResult:
    """Run ``spec``'s phases in ``root`` with ``environment`` (the variables, merged by the
    caller), leaving out the phases in ``skip`` (each with the reason the log gives); each
    phase's outcome."""
    build_id = environment.get("CODEBUILD_BUILD_ID", str(uuid.uuid4()))
    result = BuildResult(build_id, environment.get("CODEBUILD_RESOLVED_SOURCE_VERSION", ""))
    with tempfile.TemporaryDirectory(prefix="mlops-ci-") as scratch:
        status = Path(scratch) / "status"
        script = Path(scratch) / "build.sh"
        script.write_text(_script(spec, skip))
        out.write(f"[Container] {_now()} Running the build {build_id} of {spec.path.name} in {root} with {spec.shell}\n")
        out.flush()
        done = subprocess.run([spec.shell, str(script)], cwd=root, env={**environment, _STATUS: str(status)}, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        seen = dict(line.split(" ", 1) for line in status.read_text().splitlines()) if status.exists() else {}
    for phase in PHASES:
        if phase in skip:
            result.phases[phase] = SKIPPED
        elif spec.phase(phase) is not None:
            result.phases[phase] = seen.get(phase, NOT_RUN)
    if done.returncode != 0 and FAILED not in result.phases.values():  # the shell itself ended early (an `exit` in a command)
        running = next((p for p, s in result.phases.items() if s == NOT_RUN), None)
        if running:
            result.phases[running] = FAILED
    return result


def _script(spec: Buildspec, skip: dict[str, str]) -> str:
    """One shell script for the whole build: one shell instance, as CodeBuild's 0.2 runs it."""
    lines = [
        "CODEBUILD_BUILD_SUCCEEDING=1; export CODEBUILD_BUILD_SUCCEEDING",
        "__mlops_go=1",
        '__mlops_log() { printf "[Container] %s %s\\n" "$(date -u "+%Y/%m/%d %H:%M:%S")" "$1"; }',
    ]
    for phase in spec.phases:
        if phase.name in skip:
            lines.append(f"__mlops_log {shlex.quote(f'Skipping phase {phase.name.upper()}: {skip[phase.name]}')}")
            continue
        lines += _phase_lines(phase)
    return "\n".join(lines) + "\n"


def _phase_lines(phase: Phase) -> list[str]:
    upper = phase.name.upper()
    # post_build runs after a failed build; any other phase only while the build is going.
    condition = '[ "$__mlops_go" = 1 ] || [ "$__mlops_after_build" = 1 ]' if phase.name == "post_build" else '[ "$__mlops_go" = 1 ]'
    lines = [f"if {condition}; then", f"  __mlops_log {shlex.quote(f'Entering phase {upper}')}", "  __mlops_state=SUCCEEDED"]
    for command in phase.commands:
        quoted = shlex.quote(command)
        lines += [
            '  if [ "$__mlops_state" = SUCCEEDED ]; then',
            f"    __mlops_log {shlex.quote('Running command ' + command)}",
            f"    eval {quoted}",
            "    __mlops_rc=$?",
            '    if [ "$__mlops_rc" -ne 0 ]; then',
            f'      __mlops_log "Command did not exit successfully {_escape(command)} exit status $__mlops_rc"',
            "      __mlops_state=FAILED; CODEBUILD_BUILD_SUCCEEDING=0",
            "    fi",
            "  fi",
        ]
    for command in phase.finally_:
        lines += [f"  __mlops_log {shlex.quote('Running command ' + command)}", f"  eval {shlex.quote(command)} || {{ __mlops_state=FAILED; CODEBUILD_BUILD_SUCCEEDING=0; }}"]
    lines += [
        f'  __mlops_log "Phase complete: {upper} State: $__mlops_state"',
        f'  printf "%s %s\\n" {phase.name} "$__mlops_state" >> "${_STATUS}"',
    ]
    if phase.name == "build":
        lines.append('  if [ "$__mlops_state" = FAILED ]; then __mlops_after_build=1; fi')
    if not phase.continue_on_failure:
        lines.append('  if [ "$__mlops_state" = FAILED ]; then __mlops_go=0; fi')
    lines.append("fi")
    return lines


def _escape(command: str) -> str:
    """``command`` inside a double-quoted shell string, printed as it is."""
    return command.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`").replace("\n", " ")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y/%m/%d %H:%M:%S")


def merged(spec: Buildspec, project: dict[str, str], overrides: dict[str, str], codebuild: dict[str, str]) -> dict[str, str]:
    """The build's environment: this process's, then the buildspec's variables, the project's,
    CodeBuild's own and the caller's overrides, each above the one before (CodeBuild's order)."""
    return {**os.environ, **spec.variables, **project, **codebuild, **overrides}


INSTALL_SKIPPED = "the build runs in this Python environment, which make installs from the same constraints.txt (the install phase would reinstall it from a checkout that is removed after the build)"


def build(root: Path, home: Home, buildspec_name: str, skip: frozenset[str], overrides: dict[str, str], out: TextIO) -> BuildResult:
    """HEAD of the repository at ``root`` built as CodeBuild would build it: a clean checkout of
    the commit (a git worktree, removed after), the buildspec read from it, a private
    ``mlops serve`` for ``home`` that every AWS client of the build talks to (the exports of
    ``mlops env``), and the commit's own code first on PYTHONPATH."""
    import git

    from pipelines.ci import buildspec
    from pipelines.core.errors import MlopsError, UsageError
    from pipelines.serving import address
    from pipelines.serving.auth import load_or_create
    from pipelines.serving.process import ServingProcess

    try:
        repo = git.Repo(root, search_parent_directories=True)
        sha = repo.head.commit.hexsha
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"{root} is not inside a git repository; mlops ci builds a commit") from None
    except ValueError:
        raise UsageError("the repository has no commit yet; commit your work first") from None
    branch = None if repo.head.is_detached else repo.active_branch.name
    build_id = f"mlops-ci:{uuid.uuid4()}"
    logs = home.root / "ci"
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlops-ci-src-") as scratch:
        source = Path(scratch) / "src"
        try:
            repo.git.worktree("add", "--detach", str(source), sha)
        except git.GitCommandError as exc:
            raise MlopsError(f"could not check out {sha[:12]} for the build (git worktree add): {str(exc.stderr).strip()}") from None
        try:
            if not (source / buildspec_name).is_file():
                raise UsageError(f"{buildspec_name}: not in commit {sha[:12]} of {repo.working_tree_dir}; the build reads the committed buildspec (commit it first)")
            spec = buildspec.load(source / buildspec_name)
            server = ServingProcess.start(home, logs / f"serve-{sha[:12]}.log")
            try:
                said = address.running(home, int(server.url.rsplit(":", 1)[1]))
                credentials = load_or_create(home)
                twin = address.exports(said, home.region, credentials.access_key_id, credentials.secret_access_key, home.proxy_ca)
                codebuild = codebuild_variables(source, sha, branch, build_id)
                project = project_variables(home)
                environment = merged(spec, {**project, **twin}, overrides, codebuild)
                prepare_account(home, source, environment["ARTIFACT_BUCKET"])
                environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(source), os.environ.get("PYTHONPATH", "")) if p)
                # This environment's python and console scripts (run-pipeline, mlops) first, as
                # the install phase would have put them.
                environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
                environment["MLOPS_HOME"] = str(home.root)
                for name in address.UNSET:
                    environment.pop(name, None)
                skipped = {phase: "--skip" for phase in skip}
                skipped.setdefault("install", INSTALL_SKIPPED)
                return run(spec, source, environment, skipped, out)
            finally:
                server.stop()
        finally:
            repo.git.worktree("remove", "--force", str(source))
            repo.close()
