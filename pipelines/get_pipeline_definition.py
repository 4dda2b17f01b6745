"""``get-pipeline-definition``: print a pipeline's definition JSON, offline.

The command of AWS's model-build template, with JSON for ``--kwargs`` (checked against the
module's ``get_pipeline`` signature) and no AWS account or network needed. The same inputs
always give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import click

from pipelines.build import definition
from pipelines.cli import handler
from pipelines.core import jsonargs
from pipelines.core.fileio import write_text_atomic


@click.command(
    help=__doc__.split("\n")[0].split(": ", 1)[1],
    epilog="Example:\n\n  get-pipeline-definition --module-name pipelines.credit_default.pipeline "
    "--kwargs '{\"region\": \"eu-west-1\", \"default_bucket\": \"my-bucket\"}'",
)
@click.option("-n", "--module-name", default=definition.DEFAULT_MODULE, show_default=True, help="module with get_pipeline()")
@click.option("-kwargs", "--kwargs", "kwargs_json", default=None, help="JSON object of get_pipeline() keyword arguments")
@click.option("-f", "--file-name", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write here instead of stdout")
def command(module_name: str, kwargs_json: str | None, file_name: Path | None) -> int:
    kwargs = jsonargs.parse_object(kwargs_json, "--kwargs")
    text = definition.dumps(definition.render(definition.build(module_name, kwargs)))
    if file_name is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(file_name, text)
        click.echo(f"wrote {file_name}", err=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return handler.run(command, argv, prog_name="get-pipeline-definition")


def console() -> None:
    """The console-script entry point."""
    handler.exit_now(main())


if __name__ == "__main__":
    console()
