"""``mlops run``: the pipeline on the local engine, with live progress and a summary."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.build import definition as definitions
from pipelines.cli.context import Settings
from pipelines.cli.progress import Printer, summary
from pipelines.core import jsonargs
from pipelines.core.errors import UsageError
from pipelines.engine.orchestrator import Selective
from pipelines.runs import local_run


@click.command(
    "run",
    help="Run the pipeline on the local engine (no AWS, no Docker). Exit 0 only when it Succeeded.",
    epilog="Examples:\n\n  mlops run\n\n  mlops run --parameters '{\"AucThreshold\": 0.9}' --json\n\n"
    "  mlops run --file definition.json --pipeline-name CreditDefaultPipeline\n\n"
    "  mlops run --from-execution 4x7k2m9q1abc --steps Evaluate,CheckAuc   (run two steps again, the rest from that execution)",
)
@click.option("-n", "--module-name", default=definitions.DEFAULT_MODULE, show_default=True, help="module with get_pipeline(), rendered with the SDK; the rendering is kept in ~/.cache/mlops and used again while nothing it came from changed")
@click.option("--kwargs", "kwargs_json", default=None, help="JSON object of get_pipeline() keyword arguments")
@click.option("--file", "file_", type=click.Path(dir_okay=False, path_type=Path), default=None, help="run this definition JSON instead of building one")
@click.option("--pipeline-name", default=None, help="name for the pipeline (default: the builder's, or the file's stem with each run of other characters than letters, digits and hyphens made one hyphen)")
@click.option("--parameters", "parameters_json", default=None, help="JSON object of pipeline parameter overrides")
@click.option("--max-parallel", type=click.IntRange(min=1), default=2, show_default=True, help="steps that may run at once")
@click.option("--skip", "skip", multiple=True, metavar="STEP", help="leave this step out (repeatable), e.g. a type the local engine cannot run; the steps that need it are not run, and the execution ends Stopped, never Succeeded")
@click.option("--no-cache", is_flag=True, help="run every job again instead of reusing cached results")
@click.option("--description", default=None, help="the execution's description (default: the commit and its subject)")
@click.option("--from-execution", "source", default=None, help="selective execution: take the results of the steps not named in --steps from this execution (its id or ARN)")
@click.option("--steps", "selected", default=None, help="selective execution: the steps to run again, comma-separated (with --from-execution)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object (DescribePipelineExecution's names) on stdout")
@click.pass_obj
def command(
    obj: Settings,
    module_name: str,
    kwargs_json: str | None,
    file_: Path | None,
    pipeline_name: str | None,
    parameters_json: str | None,
    max_parallel: int,
    skip: tuple[str, ...],
    no_cache: bool,
    description: str | None,
    source: str | None,
    selected: str | None,
    as_json: bool,
) -> int:
    home = obj.home
    if bool(source) != bool(selected):
        raise UsageError("--from-execution and --steps go together: the execution whose results to reuse, and the steps to run again")
    selective = Selective(source, tuple(s.strip() for s in selected.split(",") if s.strip())) if source and selected else None
    kwargs = jsonargs.parse_object(kwargs_json, "--kwargs")
    overrides = jsonargs.parse_object(parameters_json, "--parameters")
    document, name = local_run.load_definition(module_name, kwargs, file_, pipeline_name)
    result = local_run.run(
        home, document, name, overrides, local_run.local_commit(allow_dirty=True), description=description,
        max_parallel=max_parallel, skip=frozenset(skip), progress=Printer(), use_cache=not no_cache, selective=selective,
    )  # fmt: skip
    click.echo(summary(result, home), err=True)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    return 0 if result.status == "Succeeded" else 1
