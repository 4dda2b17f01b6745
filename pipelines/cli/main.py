"""``mlops``: the project's own command line. Each noun lives in its own module."""

from __future__ import annotations

from typing import Sequence

import click

from pipelines import __version__
from pipelines.cli import aws, callback, ci, definition, demo, endpoint, env, executions, experiments, handler, lineage, monitor, registry, run
from pipelines.cli.context import Settings


@click.group(
    help="Build, run and inspect the credit-default pipeline, locally or on SageMaker.",
    epilog="Examples:\n\n  mlops run\n\n  mlops executions list\n\n  mlops definition graph",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="mlops")
@click.option("--home", envvar="MLOPS_HOME", default=None, help="where local state lives (env MLOPS_HOME, default ./.mlops)")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    ctx.obj = Settings(home)


cli.add_command(definition.group)
cli.add_command(definition.audit)
cli.add_command(aws.group)
cli.add_command(callback.group)
cli.add_command(demo.command)
cli.add_command(run.command)
cli.add_command(executions.group)
cli.add_command(monitor.group)
cli.add_command(registry.group)
cli.add_command(lineage.group)
cli.add_command(experiments.compare)
cli.add_command(experiments.group)
cli.add_command(experiments.ui)
cli.add_command(experiments.reproduce)
cli.add_command(endpoint.deploy)
cli.add_command(endpoint.group)
cli.add_command(endpoint.serve)
cli.add_command(env.command)
cli.add_command(ci.group)


def main(argv: Sequence[str] | None = None) -> int:
    return handler.run(cli, argv, prog_name="mlops")


def console() -> None:
    """The console-script entry point."""
    handler.exit_now(main())


if __name__ == "__main__":
    console()
