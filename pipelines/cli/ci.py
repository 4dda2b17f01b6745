"""``mlops ci``: buildspec.yml run as CodeBuild runs it, on this machine, against the twin; and
the git hook that does it on every commit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipelines.ci.buildspec import PHASES
from pipelines.cli.context import Settings
from pipelines.core.errors import MlopsError, UsageError

_SKIP = click.option("--skip", multiple=True, type=click.Choice(PHASES), help="leave a phase out (repeatable), e.g. --skip pre_build for a build without the tests")
_ENV = click.option("--env", "variables", multiple=True, metavar="NAME=VALUE", help="a variable over the project's and the buildspec's (repeatable), as StartBuild's overrides")
_BUILDSPEC = click.option("--buildspec", default="buildspec.yml", show_default=True, help="the buildspec, relative to the repository")


def _overrides(variables: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for item in variables:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--env {item!r}: expected NAME=VALUE")
        found[name] = value
    return found


@click.group(
    "ci",
    invoke_without_command=True,
    help="Build HEAD as CodeBuild would, against the local twin (mlops ci run; the default).",
    epilog="Example:\n\n  mlops ci                      # buildspec.yml on HEAD, tests included\n\n  mlops ci run --skip pre_build  # without the tests",
)
@click.pass_context
def group(ctx: click.Context) -> None:
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@group.command(
    "run",
    help="Build HEAD as CodeBuild builds it from buildspec.yml: a clean checkout of the commit, its env variables and the project's "
    "(roles, bucket, network and key in the twin's account), CODEBUILD_RESOLVED_SOURCE_VERSION set to HEAD, the phases in order in one "
    "shell, every AWS client talking to a private mlops serve. The install phase is left to make (see docs/ci.md). Exit 1 unless every phase Succeeded.",
    epilog="Example:\n\n  mlops ci run --skip pre_build --env MLOPS_POLICY=none",
)
@_BUILDSPEC
@_SKIP
@_ENV
@click.pass_obj
def run(obj: Settings, buildspec: str, skip: tuple[str, ...], variables: tuple[str, ...]) -> None:
    from pipelines.ci import local_build

    result = local_build.build(Path.cwd(), obj.home, buildspec, frozenset(skip), _overrides(variables), sys.stdout)
    summary = ", ".join(f"{phase} {status}" for phase, status in result.phases.items())
    click.echo(f"build {result.build_id} of {result.commit[:12]}: {'SUCCEEDED' if result.succeeded else 'FAILED'} ({summary})", err=True)
    if not result.succeeded:
        raise MlopsError(f"the build of {result.commit[:12]} failed: {', '.join(p for p, s in result.phases.items() if s == 'FAILED')}")


@group.command(
    "install-hook",
    help="Run mlops ci (with these options) after every commit, in the background; its log goes to $MLOPS_HOME/ci/<commit>.log.",
    epilog="Example:\n\n  mlops ci install-hook --skip pre_build\n\n  mlops ci install-hook --remove",
)
@_BUILDSPEC
@_SKIP
@_ENV
@click.option("--remove", is_flag=True, help="remove the hook instead")
@click.pass_obj
def install_hook(obj: Settings, buildspec: str, skip: tuple[str, ...], variables: tuple[str, ...], remove: bool) -> None:
    from pipelines.ci import hook

    if remove:
        removed = hook.uninstall(Path.cwd())
        click.echo(f"removed {removed}" if removed else "no mlops ci hook to remove", err=True)
        return
    _overrides(variables)
    arguments = ["run", "--buildspec", buildspec, *[f"--skip={p}" for p in skip], *[f"--env={v}" for v in variables]]
    path = hook.install(Path.cwd(), obj.home, arguments)
    click.echo(f"installed {path}: each commit now starts mlops ci {' '.join(arguments[1:])} in the background (logs: {obj.home.root / 'ci'})", err=True)
