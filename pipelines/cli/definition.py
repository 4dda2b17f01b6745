"""``mlops definition``: render a pipeline definition and show its step graph."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines import definition as definitions
from pipelines import graph as graphs
from pipelines import jsonargs
from pipelines.errors import UsageError
from pipelines.fileio import write_text_atomic

_MODULE = click.option(
    "-n", "--module-name", default=definitions.DEFAULT_MODULE, show_default=True, help="module with get_pipeline()"
)
_KWARGS = click.option("--kwargs", "kwargs_json", default=None, help="JSON object of get_pipeline() keyword arguments")


@click.group(
    "definition",
    help="Render the pipeline definition JSON and inspect it.",
    epilog="Example:\n\n  mlops definition render -o definition.json\n  mlops definition graph --file definition.json",
)
def group() -> None:
    pass


@group.command(
    "render",
    help="Render the definition JSON (offline; same inputs, same bytes).",
    epilog="Example:\n\n  mlops definition render --kwargs '{\"default_bucket\": \"my-bucket\"}' -o definition.json",
)
@_MODULE
@_KWARGS
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="file to write (default stdout)")
def render(module_name: str, kwargs_json: str | None, output: Path | None) -> None:
    text = definitions.dumps(definitions.render(definitions.build(module_name, jsonargs.parse_object(kwargs_json, "--kwargs"))))
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        click.echo(f"wrote {output}", err=True)


@group.command(
    "graph",
    help="Show the steps, their types and what each waits for.",
    epilog="Example:\n\n  mlops definition graph --file definition.json --json",
)
@_MODULE
@_KWARGS
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="read a rendered definition instead of building one")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def graph(module_name: str, kwargs_json: str | None, file_: Path | None, as_json: bool) -> None:
    if file_ is not None:
        try:
            document = json.loads(file_.read_text())
        except json.JSONDecodeError as exc:
            raise UsageError(f"{file_}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    else:
        document = definitions.render(definitions.build(module_name, jsonargs.parse_object(kwargs_json, "--kwargs")))
    nodes = graphs.steps(document)
    if as_json:
        click.echo(json.dumps([node.as_dict() for node in nodes], indent=2))
        return
    width = max(len(node.name) for node in nodes)
    for node in nodes:
        branch = f"  [{node.branch}]" if node.branch else ""
        after = ", ".join(node.upstream) or "-"
        click.echo(f"{node.name:<{width}}  {node.type:<14} after: {after}{branch}")
