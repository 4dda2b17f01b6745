"""``mlops aws``: the AWS side of deployment (the model-deploy seed's build step)."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.aws import stage_deploy
from pipelines.build.security import Security


@click.group(
    "aws",
    help="Deployment on AWS: stage templates from the latest approved package.",
    epilog="Example:\n\n  mlops aws deploy-config --stage staging --bucket my-bucket --model-role-arn ARN --retrain-role-arn ARN --scheduler-role-arn ARN -o build/",
)
def group() -> None:
    pass


@group.command(
    "deploy-config",
    help="Write <stage>-template.json and <stage>-config-export.json for the group's latest Approved package.",
    epilog="Example:\n\n  mlops aws deploy-config --stage staging --bucket my-bucket "
    "--model-role-arn arn:aws:iam::111122223333:role/credit-default-pipeline-execution "
    "--retrain-role-arn arn:aws:iam::111122223333:role/credit-default-retrain "
    "--scheduler-role-arn arn:aws:iam::111122223333:role/credit-default-monitoring-scheduler -o build/\n\n"
    "  aws cloudformation deploy --template-file build/staging-template.json "
    "--parameter-overrides file://build/staging-config-export.json --stack-name credit-default-staging",
)
@click.option("--stage", type=click.Choice(stage_deploy.STAGES), required=True)
@click.option("--model-package-group-name", default="CreditDefaultPackageGroup", show_default=True)
@click.option("--project-name", default="credit-default", show_default=True)
@click.option("--bucket", required=True, help="the project's bucket (capture, monitoring reports)")
@click.option("--model-role-arn", required=True, help="role of the model and the monitoring jobs")
@click.option("--retrain-pipeline", default="CreditDefaultPipeline", show_default=True, help="pipeline a drift alarm starts again")
@click.option("--retrain-role-arn", required=True, help="role EventBridge assumes to start it")
@click.option("--retrain-event-bus-arn", default="", help="a stage in an account of its own: the tooling account's default event bus, which starts the pipeline there")
@click.option(
    "--monitoring",
    type=click.Choice(stage_deploy.MONITORING),
    default="builtin",
    show_default=True,
    help="builtin: the monitoring pipeline on an hourly EventBridge Scheduler schedule; model-monitor: Model Monitor's schedule (closed to new customers since 2026-07-30)",
)
@click.option("--monitoring-pipeline", default="CreditDefaultMonitoring", show_default=True, help="the monitoring pipeline the schedule starts (upserted by the build: run-pipeline --no-start)")
@click.option("--scheduler-role-arn", default="", help="role EventBridge Scheduler assumes to start the monitoring pipeline (needed with --monitoring builtin)")
@click.option("--region", envvar="AWS_REGION", required=True, help="env AWS_REGION")
@click.option("--environment-file", default=None, help="the workshop's VPC and KMS settings (see get_pipeline)")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True)
def deploy_config(
    stage: str, model_package_group_name: str, project_name: str, bucket: str, model_role_arn: str,
    retrain_pipeline: str, retrain_role_arn: str, retrain_event_bus_arn: str, monitoring: str, monitoring_pipeline: str, scheduler_role_arn: str, region: str,
    environment_file: str | None, output_dir: Path,
) -> None:  # fmt: skip
    import boto3

    project = stage_deploy.Project(
        name=project_name, model_package_group=model_package_group_name, bucket=bucket, model_role_arn=model_role_arn,
        retrain_pipeline=retrain_pipeline, retrain_role_arn=retrain_role_arn, retrain_event_bus_arn=retrain_event_bus_arn, region=region,
        security=Security.resolve(environment_file=environment_file),
        monitoring=monitoring, monitoring_pipeline=monitoring_pipeline, scheduler_role_arn=scheduler_role_arn,
    )  # fmt: skip
    built = stage_deploy.build(project, stage, boto3.Session(region_name=region), output_dir)
    click.echo(built.summary(stage), err=True)
    click.echo(f"wrote {built.paths[0]} and {built.paths[1]}", err=True)


@group.command(
    "test-staging",
    help="The deploy pipeline's TestStaging action: send the evaluated rows to the staging endpoint and compare its answers with the "
    "scores the package's evaluation recorded; the endpoint must be InService with data capture on. Writes the report the approver "
    "sees; exit 1 when the endpoint does not answer as the evaluation said.",
    epilog="Example:\n\n  mlops aws test-staging --endpoint-name credit-default-staging -o build/staging-test.json",
)
@click.option("--endpoint-name", default="credit-default-staging", show_default=True)
@click.option("--model-package-group-name", default="CreditDefaultPackageGroup", show_default=True)
@click.option("--rows", type=click.IntRange(min=1), default=200, show_default=True, help="how many of the evaluated rows to send")
@click.option("--target-role-arn", default="", help="staging in an account of its own: its tooling-deploy role, assumed for the endpoint's calls only")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write the report (JSON) here too")
def test_staging(endpoint_name: str, model_package_group_name: str, rows: int, target_role_arn: str, output: Path | None) -> None:
    import boto3

    from pipelines.aws import staging_test
    from pipelines.aws.clients import translated
    from pipelines.core.errors import MlopsError
    from pipelines.core.fileio import write_text_atomic

    staging = boto3.Session()
    if target_role_arn:
        from pipelines.aws import target

        with translated(f"assuming {target_role_arn}"):
            credentials = target.assume(boto3.client("sts"), target_role_arn)
        staging = target.session(credentials)
    with translated(f"testing the staging endpoint {endpoint_name}"):
        report = staging_test.check(
            boto3.client("sagemaker"), staging.client("sagemaker"), staging.client("sagemaker-runtime"), boto3.client("s3"), endpoint_name, model_package_group_name, rows
        )
    if output is not None:
        write_text_atomic(output, report.as_json() + "\n")
    click.echo(report.as_json())
    if not report.passed:
        raise MlopsError(f"staging test failed: {report.failures[0]}")
    click.echo(f"staging test passed: {report.rows} rows answered as the evaluation recorded (largest difference {report.max_difference:.2e})", err=True)


@group.command(
    "target-env",
    help="For a stage in an account of its own (templates/target-account.yml there): let that account use the group's packages "
    "(the group's resource policy), assume its deploy role and print, as shell exports, the account's bucket, key, network and "
    "roles under deployspec.yml's names and the role's credentials as TARGET_AWS_*. Runs as the tooling account.",
    epilog="Example:\n\n  eval \"$(mlops aws target-env --role-arn arn:aws:iam::222233334444:role/credit-default-tooling-deploy)\"",
)
@click.option("--role-arn", required=True, help="the stage account's tooling-deploy role (target-account.yml's ToolingDeployRoleArn)")
@click.option("--model-package-group-name", default="CreditDefaultPackageGroup", show_default=True)
@click.option("--project-name", default="credit-default", show_default=True)
def target_env(role_arn: str, model_package_group_name: str, project_name: str) -> None:
    import boto3

    from pipelines.aws import target
    from pipelines.aws.clients import translated

    account = target.account_of(role_arn)
    with translated(f"sharing {model_package_group_name} with account {account}"):
        if target.share_group(boto3.client("sagemaker"), model_package_group_name, account):
            click.echo(f"{model_package_group_name}'s resource policy now lets account {account} read its packages", err=True)
    with translated(f"assuming {role_arn}"):
        credentials = target.assume(boto3.client("sts"), role_arn)
    assumed = target.session(credentials)
    with translated(f"reading {target.parameter_name(project_name)} in account {account}"):
        found = target.settings(assumed.client("ssm"), project_name)
    click.echo(target.exports(found, credentials), nl=False)
