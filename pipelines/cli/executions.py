"""``mlops executions``: what ran locally, in SageMaker's shapes."""

from __future__ import annotations

import json

import click

from pipelines.cli.context import Settings
from pipelines.engine.records import Records


@click.group("executions", help="List and describe local pipeline executions.", epilog="Example:\n\n  mlops executions list\n\n  mlops executions describe 4x7k2m9q1abc --json")
def group() -> None:
    pass


def _records(obj: Settings) -> Records:
    home = obj.home
    return Records(home)


@group.command("list", help="The newest executions first.", epilog="Example:\n\n  mlops executions list --limit 5 --json")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="ListPipelineExecutions' PipelineExecutionSummaries")
@click.pass_obj
def list_(obj: Settings, limit: int, as_json: bool) -> None:
    records = _records(obj)
    try:
        summaries = records.list_executions(limit)
    finally:
        records.close()
    if as_json:
        click.echo(json.dumps({"PipelineExecutionSummaries": summaries}, indent=2))
        return
    if not summaries:
        click.echo("no executions yet; start one with `mlops run`")
        return
    click.echo(f"{'execution':<14} {'status':<11} {'started':<25} name")
    for item in summaries:
        execution_id = item["PipelineExecutionArn"].rsplit("/", 1)[1]
        click.echo(f"{execution_id:<14} {item['PipelineExecutionStatus']:<11} {item['StartTime']:<25} {item.get('PipelineExecutionDisplayName') or ''}")


@group.command("describe", help="One execution: status, parameters, steps and failure reasons.", epilog="Example:\n\n  mlops executions describe 4x7k2m9q1abc")
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True, help="DescribePipelineExecution plus PipelineExecutionSteps")
@click.pass_obj
def describe(obj: Settings, execution_id: str, as_json: bool) -> None:
    records = _records(obj)
    try:
        described = records.describe_execution(execution_id)
        steps = records.list_steps(described["PipelineExecutionArn"].rsplit("/", 1)[1])
    finally:
        records.close()
    if as_json:
        click.echo(json.dumps({**described, "PipelineExecutionSteps": steps}, indent=2))
        return
    click.echo(f"{described['PipelineExecutionArn']}\n  status: {described['PipelineExecutionStatus']}")
    if described.get("FailureReason"):
        click.echo(f"  why:    {described['FailureReason']}")
    values = ", ".join(f"{p['Name']}={p['Value']}" for p in described["PipelineParameters"])
    click.echo(f"  parameters: {values}")
    for step in reversed(steps):
        cached = " (cache hit)" if "CacheHitResult" in step else ""
        click.echo(f"  {step['StepName']:<22} {step['StepType']:<15} {step['StepStatus']}{cached}")
        if step.get("FailureReason"):
            for line in step["FailureReason"].splitlines():
                click.echo(f"      {line}")
