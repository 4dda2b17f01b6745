"""``mlops lineage``: from a commit to the endpoint and back, and whether it still holds."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.cli.context import Settings
from pipelines.lineage import query


@click.group(
    "lineage",
    invoke_without_command=True,
    help="The lineage of an endpoint, a model package, an execution or a commit: one row per entity.",
    epilog="Examples:\n\n  mlops lineage --endpoint credit-default-staging\n\n  mlops lineage --commit 3f2a1b --format mermaid\n\n  mlops lineage verify --endpoint credit-default-staging",
)
@click.option("--endpoint", default=None)
@click.option("--model-package", "package", default=None, help="ARN or GROUP/VERSION")
@click.option("--execution", default=None, help="pipeline execution id or ARN")
@click.option("--commit", default=None, help="a git commit SHA (a prefix will do)")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "dot", "mermaid"]), default="table", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="same as --format json")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write to a file instead of stdout")
@click.pass_context
def group(ctx: click.Context, endpoint: str | None, package: str | None, execution: str | None, commit: str | None, output_format: str, as_json: bool, output: Path | None) -> None:
    if ctx.invoked_subcommand is not None:
        return
    store = query.open_store(ctx.obj.home)
    try:
        origin = query.start(store, endpoint, package, execution, commit)
        kind = "json" if as_json else output_format
        if kind == "dot":
            text = query.as_dot(store, origin)
        elif kind == "mermaid":
            text = query.as_mermaid(store, origin)
        else:
            table = query.rows(store, origin)
            text = query.to_json(table) if kind == "json" else "\n".join(query.as_text(table)) + "\n"
    finally:
        store.close()
    if output is None:
        click.echo(text, nl=False)
    else:
        query.write(output, text)
        click.echo(f"wrote {output}", err=True)


@group.command("verify", help="Recompute the digests of everything upstream of what an endpoint serves; exit 1 if any changed or went missing.", epilog="Example:\n\n  mlops lineage verify --endpoint credit-default-staging")
@click.option("--endpoint", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def verify(obj: Settings, endpoint: str, as_json: bool) -> int:
    results = query.verify(obj.home, endpoint)
    bad = [r for r in results if r["State"] != "unchanged"]
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        for row in results:
            click.echo(f"{row['State']:<10} {row['Type']:<10} {row['Name']:<36} {row['Uri']}")
        click.echo(f"{len(results)} artifacts checked: {len(bad)} changed or missing" if bad else f"{len(results)} artifacts checked: all as recorded")
    return 1 if bad else 0


@group.command(
    "aws",
    help="The same lineage on SageMaker, read from its APIs: a commit's executions, packages and endpoints, or an endpoint's package, commit, executions and monitoring.",
    epilog="Examples:\n\n  mlops lineage aws --commit $(git rev-parse HEAD)\n\n  mlops lineage aws --endpoint credit-default-staging --region eu-west-1",
)
@click.option("--endpoint", default=None)
@click.option("--commit", default=None, help="a git commit SHA (12 characters or more)")
@click.option("--pipeline-name", default="CreditDefaultPipeline", show_default=True)
@click.option("--model-package-group-name", default="CreditDefaultPackageGroup", show_default=True)
@click.option("--region", envvar="AWS_REGION", default=None, help="env AWS_REGION")
def aws_lineage(endpoint: str | None, commit: str | None, pipeline_name: str, model_package_group_name: str, region: str | None) -> None:
    import boto3

    from pipelines.aws import clients as aws
    from pipelines.core.errors import UsageError
    from pipelines.lineage import sagemaker_api as sagemaker_lineage

    if (endpoint is None) == (commit is None):
        raise UsageError("give one of --endpoint or --commit")
    if commit is not None and len(commit) < 12:
        raise UsageError(f"--commit {commit}: give at least 12 characters (executions are named git-<sha12>)")
    aws.configure_retries()
    client = boto3.Session(region_name=region).client("sagemaker")
    with aws.translated("reading lineage from SageMaker"):
        if endpoint is not None:
            traced = sagemaker_lineage.trace_endpoint(client, endpoint, pipeline_name)
        else:
            traced = sagemaker_lineage.trace_commit(client, commit or "", pipeline_name, model_package_group_name)
    click.echo(json.dumps(traced, indent=2, default=str))
