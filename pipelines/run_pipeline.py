"""``run-pipeline``: upsert the pipeline on SageMaker and start an execution of the current commit.

The command of AWS's model-build template, done right: JSON for ``--kwargs``,
``--parameters`` and ``--tags`` (each checked, errors naming the key), the git commit
carried by the pipeline's tags, the execution's ``GitCommit`` parameter, display name
(``git-<sha12>``) and description, job scripts uploaded to their content-addressed URIs,
and one clear line for an AWS error.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import click

from pipelines.aws import clients as aws
from pipelines.build import code_assets, definition, parameters
from pipelines.build import policy as policies
from pipelines.cli import handler
from pipelines.cli.progress import Printer, summary
from pipelines.core import jsonargs, shapes
from pipelines.core.errors import UsageError
from pipelines.engine.orchestrator import Selective
from pipelines.local.home import Home
from pipelines.runs import commit as commits
from pipelines.runs import local_run

COMMIT_PARAMETER = "GitCommit"
DESCRIPTION_LIMIT = 3072
TERMINAL = {"Succeeded", "Failed", "Stopped"}


def commit_tags(commit: commits.Commit) -> list[dict[str, str]]:
    tags = {"GitCommit": commit.sha, "GitBranch": commit.branch, "GitRepository": commit.remote_url, "GitDirty": "true" if commit.dirty else None}
    return [{"Key": key, "Value": value[:256]} for key, value in tags.items() if value]


def merge_tags(user: list[dict[str, str]], ours: list[dict[str, str]]) -> list[dict[str, str]]:
    """The user's tags plus the commit's; the commit's win (they are the lineage)."""
    keys = {tag["Key"] for tag in ours}
    return [tag for tag in user if tag["Key"] not in keys] + ours


@click.command(
    help=__doc__.split("\n")[0].split(": ", 1)[1],
    epilog="Example:\n\n  run-pipeline --module-name pipelines.credit_default.pipeline "
    "--role-arn arn:aws:iam::111122223333:role/SageMakerPipelineRole "
    "--kwargs '{\"region\": \"eu-west-1\", \"default_bucket\": \"my-bucket\"}' "
    "--tags '{\"project\": \"credit-default\"}' --wait",
)
@click.option("-n", "--module-name", default=definition.DEFAULT_MODULE, show_default=True, help="module with get_pipeline()")
@click.option("-role-arn", "--role-arn", default=None, help="role the pipeline and its jobs run as (required unless --local)")
@click.option("-kwargs", "--kwargs", "kwargs_json", default=None, help="JSON object of get_pipeline() keyword arguments")
@click.option("-tags", "--tags", "tags_json", default=None, help='JSON tags: {"k": "v"} or [{"Key": "k", "Value": "v"}]')
@click.option("-description", "--description", default=None, help="pipeline description")
@click.option("--parameters", "parameters_json", default=None, help="JSON object of pipeline parameter overrides")
@click.option("--start/--no-start", default=True, help="--no-start: upsert only, for a pipeline something else starts (the monitoring pipeline: EventBridge Scheduler)")
@click.option("--wait/--no-wait", default=False, help="follow the execution to its end; exit 1 unless it Succeeded")
@click.option("--allow-dirty", is_flag=True, help="run a working tree with uncommitted changes (marked dirty)")
@click.option("--poll-seconds", type=click.FloatRange(min=0.0), default=30.0, show_default=True, help="with --wait, the most seconds between checks (the first come after 1 s, each twice as long as the one before)")
@click.option("--local", is_flag=True, help="run on the local engine under MLOPS_HOME instead of SageMaker (waits)")
@click.option("--from-execution", "source", default=None, help="selective execution: take the results of the steps not in --steps from this execution (ARN; an id with --local)")
@click.option("--steps", "selected", default=None, help="selective execution: the steps to run, comma-separated (SelectiveExecutionConfig's SelectedSteps)")
@click.option(
    "--policy",
    "policy_source",
    envvar="MLOPS_POLICY",
    default=None,
    help="security policy the definition must pass before anything is upserted: a JSON file or a built-in ("
    + ", ".join(policies.BUILTIN)
    + "); env MLOPS_POLICY",
)
def command(
    module_name: str,
    role_arn: str | None,
    kwargs_json: str | None,
    tags_json: str | None,
    description: str | None,
    parameters_json: str | None,
    start: bool,
    wait: bool,
    allow_dirty: bool,
    poll_seconds: float,
    local: bool,
    source: str | None,
    selected: str | None,
    policy_source: str | None,
) -> int:
    policy = policies.Policy.load(policy_source) if policy_source else policies.Policy()
    kwargs = jsonargs.parse_object(kwargs_json, "--kwargs")
    user_tags = jsonargs.parse_tags(tags_json)
    overrides = jsonargs.parse_object(parameters_json, "--parameters")
    if role_arn is None and not local:
        raise UsageError("--role-arn is required to run on SageMaker (or pass --local)")
    if role_arn is not None and "role" in kwargs and kwargs["role"] != role_arn:
        raise UsageError("--kwargs: role differs from --role-arn; give the role once, with --role-arn")
    if COMMIT_PARAMETER in overrides:
        raise UsageError(f"--parameters: {COMMIT_PARAMETER} is set from the commit being run; leave it out")
    if not start and (wait or local or overrides):
        raise UsageError(f"--no-start upserts the pipeline on SageMaker and starts nothing: {'--wait' if wait else '--local' if local else '--parameters'} does not apply")
    if bool(source) != bool(selected):
        raise UsageError("--from-execution and --steps go together: the execution whose results to reuse, and the steps to run")
    if source and not start:
        raise UsageError("--no-start starts nothing: --from-execution and --steps do not apply")
    steps = tuple(name.strip() for name in (selected or "").split(",") if name.strip())
    commit = commits.resolve(".", allow_dirty=allow_dirty)
    if local:
        selective = Selective(source, steps) if source else None
        return _run_locally(module_name, {**kwargs, **({"role": role_arn} if role_arn else {})}, overrides, commit, description, policy, selective)
    aws.configure_retries()

    pipeline = definition.build(module_name, {**kwargs, "role": role_arn})
    document = definition.render(pipeline)
    problem = shapes.name_problem(pipeline.name, "PipelineName")
    if problem:
        raise UsageError(f"pipeline name: {problem}")
    policies.refuse_unless_compliant(document, policy, f"pipeline {pipeline.name}")
    if policy_source:
        click.echo(f"policy {policy_source}: compliant", err=True)
    declared = parameters.declared(document)
    if COMMIT_PARAMETER in declared:
        overrides[COMMIT_PARAMETER] = commit.sha
    parameters.check_overrides(document, overrides)

    session = pipeline.sagemaker_session
    assets = code_assets.find(document)
    uploaded = aws.upload_code(session.boto_session.client("s3"), assets)
    click.echo(f"code: {len(uploaded)} uploaded, {len(assets) - len(uploaded)} already in place", err=True)
    with aws.translated(f"upserting pipeline {pipeline.name}"):
        upserted = pipeline.upsert(role_arn=role_arn, description=description, tags=merge_tags(user_tags, commit_tags(commit)))
    click.echo(f"pipeline: {upserted['PipelineArn']}", err=True)
    if not start:
        click.echo(upserted["PipelineArn"])
        return 0
    execution_description = f"{commit.short} {commit.subject or ''}".strip()[:DESCRIPTION_LIMIT]
    selective_config = None
    if source:
        from sagemaker.mlops.workflow.selective_execution_config import SelectiveExecutionConfig

        unknown = [name for name in steps if name not in {step["Name"] for step in _all_steps(document["Steps"])}]
        if unknown:
            raise UsageError(f"--steps: {', '.join(unknown)} is not a step of {pipeline.name}")
        selective_config = SelectiveExecutionConfig(selected_steps=list(steps), source_pipeline_execution_arn=source, reference_latest_execution=False)
    with aws.translated(f"starting pipeline {pipeline.name}"):
        execution = pipeline.start(
            parameters=overrides, execution_display_name=commit.display_name, execution_description=execution_description, selective_execution_config=selective_config
        )
    click.echo(execution.arn)
    if not wait:
        return 0
    status = follow(session.sagemaker_client, execution.arn, poll_seconds)
    return 0 if status == "Succeeded" else 1


def _all_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step, those inside conditions' branches too."""
    found = []
    for step in steps:
        found.append(step)
        arguments = step.get("Arguments") or {}
        found += _all_steps((arguments.get("IfSteps") or []) + (arguments.get("ElseSteps") or [])) if step.get("Type") == "Condition" else []
    return found


def _run_locally(
    module_name: str, kwargs: dict[str, Any], overrides: dict[str, Any], commit: commits.Commit, description: str | None, policy: policies.Policy,
    selective: Selective | None = None,
) -> int:  # fmt: skip
    home = Home.resolve()
    document, name = local_run.load_definition(module_name, kwargs, None, None)
    policies.refuse_unless_compliant(document, policy, f"pipeline {name}")
    result = local_run.run(home, document, name, overrides, commit, description=description, progress=Printer(), selective=selective)
    click.echo(summary(result, home), err=True)
    click.echo(result.arn)
    return 0 if result.status == "Succeeded" else 1


def follow(client: Any, execution_arn: str, poll_seconds: float) -> str:
    """Print each step's status as it changes until the execution ends; its final status.
    Checks come after 1 s, then twice as far apart each time up to ``poll_seconds``: a short
    execution (a cached one, or on the local twin) is seen ending at once, a long one costs a
    DescribePipelineExecution every ``poll_seconds``."""
    seen: dict[str, str] = {}
    interval = min(1.0, poll_seconds)
    while True:
        with aws.translated(f"describing {execution_arn}"):
            status = client.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        for step in _steps(client, execution_arn):
            name, step_status = step["StepName"], step.get("StepStatus", "?")
            if seen.get(name) != step_status:
                seen[name] = step_status
                reason = f" - {step['FailureReason']}" if step.get("FailureReason") else ""
                click.echo(f"  {name}: {step_status}{reason}", err=True)
        current = status["PipelineExecutionStatus"]
        if current in TERMINAL:
            reason = f": {status['FailureReason']}" if status.get("FailureReason") else ""
            click.echo(f"execution {current}{reason}", err=True)
            return current
        time.sleep(interval)
        interval = min(interval * 2, poll_seconds)


def _steps(client: Any, execution_arn: str) -> list[dict[str, Any]]:
    import botocore.exceptions

    try:
        pages = client.get_paginator("list_pipeline_execution_steps").paginate(PipelineExecutionArn=execution_arn)
        steps = [step for page in pages for step in page.get("PipelineExecutionSteps", [])]
    except (botocore.exceptions.ClientError, NotImplementedError):
        return []
    return list(reversed(steps))  # the API lists the newest first


def main(argv: Sequence[str] | None = None) -> int:
    return handler.run(command, argv, prog_name="run-pipeline")


def console() -> None:
    """The console-script entry point."""
    handler.exit_now(main())


if __name__ == "__main__":
    console()
