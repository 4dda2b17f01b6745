"""``mlops callback``: answer a Callback step, as SendPipelineExecutionStepSuccess / Failure do."""

from __future__ import annotations

import json

import click

from pipelines.cli.context import Settings
from pipelines.core import jsonargs
from pipelines.core.errors import UsageError
from pipelines.engine import callbacks


@click.group("callback", help="Callback steps waiting for an answer: list them, answer them.", epilog="Example:\n\n  mlops callback list\n\n  mlops callback send-success Ab3dE5gH7j --outputs '{\"approved\": \"true\"}'")
def group() -> None:
    pass


@group.command("list", help="The callback messages not answered yet (what the steps put on their queues).", epilog="Example:\n\n  mlops callback list --json")
@click.option("--json", "as_json", is_flag=True, help="the messages as the queue holds them")
@click.pass_obj
def list_(obj: Settings, as_json: bool) -> None:
    messages = callbacks.pending(obj.home)
    if as_json:
        click.echo(json.dumps(messages, indent=2))
        return
    if not messages:
        click.echo("no callback step is waiting")
    for message in messages:
        click.echo(f"{message['token']}  {message['stepName']:<24} {message['pipelineExecutionArn']}  {json.dumps(message['arguments'])[:80]}")


def _outputs(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    value = jsonargs.loads(text, "--outputs")
    if isinstance(value, list):  # SendPipelineExecutionStepSuccess's own shape: [{"Name": ..., "Value": ...}]
        if not all(isinstance(v, dict) and set(v) == {"Name", "Value"} for v in value):
            raise UsageError("--outputs: a list must hold {\"Name\": ..., \"Value\": ...} objects")
        return {str(v["Name"]): str(v["Value"]) for v in value}
    if not isinstance(value, dict):
        raise UsageError("--outputs: give an object of names and values")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


@group.command("send-success", help="Complete a waiting Callback step with its output parameters.", epilog="Example:\n\n  mlops callback send-success Ab3dE5gH7j --outputs '{\"approved\": \"true\", \"reviewer\": \"ada\"}'")
@click.argument("token")
@click.option("--outputs", default=None, help='a JSON object {"name": "value"}, or [{"Name": ..., "Value": ...}]')
@click.pass_obj
def send_success(obj: Settings, token: str, outputs: str | None) -> None:
    arn = callbacks.answer(obj.home, token, True, _outputs(outputs))
    click.echo(json.dumps({"PipelineExecutionArn": arn}))


@group.command("send-failure", help="Fail a waiting Callback step with a reason.", epilog="Example:\n\n  mlops callback send-failure Ab3dE5gH7j --reason 'the reviewer rejected the model'")
@click.argument("token")
@click.option("--reason", default="", help="why (at most 256 characters)")
@click.pass_obj
def send_failure(obj: Settings, token: str, reason: str) -> None:
    arn = callbacks.answer(obj.home, token, False, failure_reason=reason)
    click.echo(json.dumps({"PipelineExecutionArn": arn}))
