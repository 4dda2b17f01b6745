"""``mlops definition``: render a pipeline definition and show its step graph."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.build import definition as definitions
from pipelines.build import policy as policies
from pipelines.core import graph as graphs
from pipelines.core import jsonargs
from pipelines.core.errors import DefinitionError
from pipelines.core.fileio import write_text_atomic
from pipelines.runs import local_run

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
    document, _name = local_run.load_definition(module_name, jsonargs.parse_object(kwargs_json, "--kwargs"), file_, None)
    nodes = graphs.steps(document)
    if not nodes:
        raise DefinitionError(f"{file_ or module_name}: the definition has no steps (a list of step objects under Steps)")
    if as_json:
        click.echo(json.dumps([node.as_dict() for node in nodes], indent=2))
        return
    width = max(len(node.name) for node in nodes)
    for node in nodes:
        branch = f"  [{node.branch}]" if node.branch else ""
        after = ", ".join(node.upstream) or "-"
        click.echo(f"{node.name:<{width}}  {node.type:<14} after: {after}{branch}")


@click.command(
    "audit",
    help="Check a definition against a security policy; list each step that falls short (exit 1).",
    epilog="Examples:\n\n  mlops audit --policy workshop --file definition.json\n\n"
    "  mlops audit --policy policy.json --kwargs '{\"environment_file\": \"workshop.env\"}'",
)
@_MODULE
@_KWARGS
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="audit a rendered definition instead of building one")
@click.option("--policy", "policy_source", required=True, help="policy JSON file, or a built-in: " + ", ".join(policies.BUILTIN))
@click.option("--json", "as_json", is_flag=True, help="print the findings as JSON")
def audit(module_name: str, kwargs_json: str | None, file_: Path | None, policy_source: str, as_json: bool) -> int:
    policy = policies.Policy.load(policy_source)
    document, _name = local_run.load_definition(module_name, jsonargs.parse_object(kwargs_json, "--kwargs"), file_, None)
    findings = policies.audit(document, policy)
    if as_json:
        click.echo(json.dumps({"Policy": policy_source, "Compliant": not findings, "Findings": [f.to_dict() for f in findings]}, indent=2))
    elif findings:
        click.echo(f"{len(findings)} finding{'s' if len(findings) != 1 else ''} against policy {policy_source}:")
        for finding in findings:
            click.echo(f"  {finding}")
    else:
        click.echo(f"compliant with policy {policy_source}: {_count_steps(document.get('Steps', []))} steps checked")
    return 1 if findings else 0


def _count_steps(steps: list) -> int:
    total = 0
    for step in steps:
        total += 1
        arguments = step.get("Arguments", {}) if isinstance(step, dict) else {}
        if isinstance(arguments, dict):
            total += _count_steps(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))
    return total
