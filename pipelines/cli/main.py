"""``mlops``: the project's own command line. Each noun lives in its own module."""

from __future__ import annotations

from typing import Sequence

import click

from pipelines import __version__
from pipelines.cli import definition, handler


@click.group(
    help="Build, run and inspect the credit-default pipeline, locally or on SageMaker.",
    epilog="Example:\n\n  mlops definition graph",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="mlops")
def cli() -> None:
    pass


cli.add_command(definition.group)


def main(argv: Sequence[str] | None = None) -> int:
    return handler.run(cli, argv, prog_name="mlops")


def console() -> None:
    """The console-script entry point."""
    handler.exit_now(main())


if __name__ == "__main__":
    console()
