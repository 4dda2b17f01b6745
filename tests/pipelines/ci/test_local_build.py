"""A buildspec run as CodeBuild runs it: one shell for the whole build, phases in order, a failed
build still running post_build, variables in CodeBuild's order of precedence; and mistakes in the
buildspec named by their place in it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pipelines.ci import buildspec, local_build
from pipelines.core.errors import UsageError


def spec(tmp_path: Path, text: str) -> buildspec.Buildspec:
    path = tmp_path / "buildspec.yml"
    path.write_text(text)
    return buildspec.load(path)


def build(tmp_path: Path, text: str, variables: dict[str, str] | None = None, skip: dict[str, str] | None = None) -> tuple[local_build.BuildResult, str]:
    loaded = spec(tmp_path, text)
    log = tmp_path / "build.log"
    with log.open("w") as handle:  # a file, not a StringIO: the shell writes to it directly
        result = local_build.run(loaded, tmp_path, {**os.environ, **loaded.variables, **(variables or {})}, skip or {}, handle)
    return result, log.read_text()


def test_every_command_runs_in_one_shell_phase_after_phase(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    result, log = build(tmp_path, """
version: 0.2
env:
  variables:
    GREETING: hello
phases:
  install:
    commands:
      - cd sub
      - export CARRIED=from-install
  build:
    commands:
      - echo "$GREETING $CARRIED in $(basename "$PWD")" > seen.txt
""")
    assert result.phases == {"install": "SUCCEEDED", "build": "SUCCEEDED"} and result.succeeded
    assert (tmp_path / "sub" / "seen.txt").read_text() == "hello from-install in sub\n"
    assert "Entering phase BUILD" in log and "Phase complete: BUILD State: SUCCEEDED" in log


def test_a_failed_build_still_runs_post_build_and_finally_as_codebuild_does(tmp_path: Path) -> None:
    result, log = build(tmp_path, """
version: 0.2
phases:
  pre_build:
    commands:
      - echo pre > pre.txt
  build:
    commands:
      - "false"
      - echo never > never.txt
    finally:
      - echo cleaned > finally.txt
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING" > post.txt
""")
    assert result.phases == {"pre_build": "SUCCEEDED", "build": "FAILED", "post_build": "SUCCEEDED"} and not result.succeeded
    assert not (tmp_path / "never.txt").exists() and (tmp_path / "finally.txt").exists()
    assert (tmp_path / "post.txt").read_text() == "succeeding=0\n"
    assert "Command did not exit successfully false exit status 1" in log


def test_a_failed_pre_build_ends_the_build_unless_it_continues(tmp_path: Path) -> None:
    text = """
version: 0.2
phases:
  pre_build:
    {on_failure}commands:
      - exit_code=3; (exit $exit_code)
  build:
    commands:
      - echo built > built.txt
  post_build:
    commands:
      - echo post > post.txt
"""
    result, _ = build(tmp_path, text.format(on_failure=""))
    assert result.phases == {"pre_build": "FAILED", "build": "NOT_RUN", "post_build": "NOT_RUN"}
    assert not (tmp_path / "built.txt").exists()
    result, _ = build(tmp_path, text.format(on_failure="on-failure: CONTINUE\n    "))
    assert result.phases == {"pre_build": "FAILED", "build": "SUCCEEDED", "post_build": "SUCCEEDED"}


def test_an_exit_in_a_command_fails_its_phase(tmp_path: Path) -> None:
    result, _ = build(tmp_path, "version: 0.2\nphases:\n  build:\n    commands:\n      - exit 4\n  post_build:\n    commands:\n      - echo post\n")
    assert result.phases["build"] == "FAILED" and not result.succeeded


def test_skipped_phases_say_why(tmp_path: Path) -> None:
    result, log = build(tmp_path, "version: 0.2\nphases:\n  install:\n    commands:\n      - touch installed\n  build:\n    commands:\n      - touch built\n", skip={"install": "left to make"})
    assert result.phases == {"install": "SKIPPED", "build": "SUCCEEDED"}
    assert not (tmp_path / "installed").exists() and "Skipping phase INSTALL: left to make" in log


def test_variables_in_codebuilds_order_of_precedence(tmp_path: Path) -> None:
    loaded = spec(tmp_path, "version: 0.2\nenv:\n  variables:\n    A: spec\n    B: spec\n    C: spec\nphases:\n  build:\n    commands:\n      - echo $A $B $C\n")
    merged = local_build.merged(loaded, {"B": "project", "C": "project"}, {"C": "override"}, {"CODEBUILD_RESOLVED_SOURCE_VERSION": "abc"})
    assert (merged["A"], merged["B"], merged["C"], merged["CODEBUILD_RESOLVED_SOURCE_VERSION"]) == ("spec", "project", "override", "abc")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 0.1\nphases: {}\n", "version: 0.1; the local build reads version 0.2"),
        ("version: 0.2\nphases:\n  compile:\n    commands: [make]\n", "phases.compile: not a phase; CodeBuild's are install, pre_build, build, post_build"),
        ("version: 0.2\nphases:\n  build:\n    commands:\n      - make\n      - 3\n", "phases.build.commands[1]: a command is a non-empty string, not 3"),
        ("version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: arn:x\nphases: {}\n", "env.secrets-manager: not available to a local build; give each value with --env NAME=VALUE"),
        ("version: 0.2\nenv:\n  shell: zsh\nphases: {}\n", "env.shell: 'zsh'; the local build runs sh or bash"),
        ("version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n", "phases.build.on-failure: 'RETRY'; ABORT or CONTINUE"),
        ("version: 0.2\nphases: [\n", "not YAML at line"),
    ],
)
def test_buildspec_mistakes_are_named_where_they_are(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError) as refused:
        spec(tmp_path, text)
    assert str(refused.value).startswith(f"{tmp_path / 'buildspec.yml'}: ") and message in str(refused.value)


def test_the_projects_buildspec_reads_as_codebuild_reads_it() -> None:
    root = Path(__file__).resolve().parents[3]
    loaded = buildspec.load(root / "buildspec.yml")
    assert [p.name for p in loaded.phases] == ["install", "pre_build", "build"]
    assert loaded.variables["PIPELINE_NAME"] == "CreditDefaultPipeline" and loaded.shell == "/bin/sh"
    assert any("run-pipeline --module-name pipelines.credit_default.pipeline" in c for c in loaded.phase("build").commands)
    assert subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).returncode == 0
