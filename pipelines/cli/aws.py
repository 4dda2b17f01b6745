"""``mlops aws``: the AWS side of deployment (the model-deploy seed's build step)."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines import aws, stage_deploy
from pipelines.security import Security


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
    retrain_pipeline: str, retrain_role_arn: str, monitoring: str, monitoring_pipeline: str, scheduler_role_arn: str, region: str,
    environment_file: str | None, output_dir: Path,
) -> None:  # fmt: skip
    import boto3

    from pipelines import sdk

    aws.configure_retries()
    project = stage_deploy.Project(
        name=project_name, model_package_group=model_package_group_name, bucket=bucket, model_role_arn=model_role_arn,
        retrain_pipeline=retrain_pipeline, retrain_role_arn=retrain_role_arn, region=region,
        security=Security.resolve(environment_file=environment_file),
        monitoring=monitoring, monitoring_pipeline=monitoring_pipeline, scheduler_role_arn=scheduler_role_arn,
    )  # fmt: skip
    session = boto3.Session(region_name=region)
    with aws.translated(f"finding the latest approved package of {model_package_group_name}"):
        package = stage_deploy.latest_approved(session.client("sagemaker"), model_package_group_name)
    _statistics, constraints = stage_deploy.baseline_uris(package)
    with aws.translated(f"reading {constraints}"):
        features = stage_deploy.read_features(session.client("s3"), constraints)
    quality = stage_deploy.quality_uris(package)
    quality_threshold = None
    if quality:
        metric = stage_deploy.stage_config(stage)["ModelQuality"]["Metric"]
        with aws.translated(f"reading {quality[1]}"):
            quality_threshold = stage_deploy.read_threshold(session.client("s3"), quality[1], metric)
    facet_groups = None
    bias_constraints = stage_deploy.clarify_uris(package).get("BiasConstraintsUri")
    if bias_constraints:
        with aws.translated(f"reading {bias_constraints}"):
            facet_groups = stage_deploy.read_facet_groups(session.client("s3"), bias_constraints)
    monitor_image = None
    if monitoring == "model-monitor":
        sdk.prepare(region)
        from sagemaker.core import image_uris

        monitor_image = image_uris.retrieve("model-monitor", region=region)
    template, configuration = stage_deploy.render(project, stage, package, features, monitor_image, quality_threshold, facet_groups)
    template_path, config_path = stage_deploy.write(output_dir, stage, template, configuration)
    bias_note = f", bias ({len(facet_groups['groups'])} facet groups)" if facet_groups else ""
    attribution_note = ", feature attribution" if "ExplainabilityConstraintsUri" in configuration["Parameters"] else ""
    click.echo(
        f"{package['ModelPackageArn']} (commit {configuration['Parameters']['GitCommit'][:12] or '?'}) -> {stage}: "
        f"{len(features)} drift alarms{', model quality' if quality else ''}{bias_note}{attribution_note}, monitoring {monitoring}",
        err=True,
    )
    click.echo(f"wrote {template_path} and {config_path}", err=True)
