"""``mlops registry``: model packages, and the approvals that deploy them."""

from __future__ import annotations

import json

import click

from pipelines.cli.context import Settings
from pipelines.core.errors import MlopsError
from pipelines.registry.store import ModelRegistry
from pipelines.serving import deploy
from pipelines.serving.stages import stages


@click.group("registry", help="The local model registry: list, describe, approve and reject model packages.", epilog="Example:\n\n  mlops registry list\n\n  mlops registry approve CreditDefaultPackageGroup/1 --reason 'AUC 0.79, reviewed'")
def group() -> None:
    pass


@group.command("list", help="Model packages, newest first (ListModelPackages).", epilog="Example:\n\n  mlops registry list --status Approved --json")
@click.option("--group", "group_name", default=None)
@click.option("--status", type=click.Choice(["PendingManualApproval", "Approved", "Rejected"]), default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_(obj: Settings, group_name: str | None, status: str | None, as_json: bool) -> None:
    registry = ModelRegistry(obj.home)
    try:
        items = registry.list_packages(group_name, status)
    finally:
        registry.close()
    if as_json:
        click.echo(json.dumps({"ModelPackageSummaryList": items}, indent=2))
        return
    if not items:
        asked = ", ".join(part for part in (f"in group {group_name}" if group_name else "", f"with status {status}" if status else "") if part)
        click.echo(f"no model packages {asked}" if asked else "no model packages yet; `mlops run` registers one when the AUC passes")
    for item in items:
        click.echo(f"{item['ModelPackageGroupName']}/{item['ModelPackageVersion']:<4} {item['ModelApprovalStatus']:<22} {item['CreationTime']}")


@group.command("describe", help="One package, in DescribeModelPackage's shape, with its approval history.", epilog="Example:\n\n  mlops registry describe CreditDefaultPackageGroup/1 --json")
@click.argument("package")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def describe(obj: Settings, package: str, as_json: bool) -> None:
    registry = ModelRegistry(obj.home)
    try:
        described = registry.describe(package)
        history = registry.transitions(package)
    finally:
        registry.close()
    if as_json:
        click.echo(json.dumps({**described, "ApprovalHistory": history}, indent=2))
        return
    click.echo(f"{described['ModelPackageArn']}\n  status:  {described['ModelApprovalStatus']}")
    click.echo(f"  model:   {described['InferenceSpecification']['Containers'][0].get('ModelDataUrl')}")
    commit = (described.get("CustomerMetadataProperties") or {}).get("GitCommit")
    if commit:
        click.echo(f"  commit:  {commit}")
    for item in history:
        click.echo(f"  {item['Time']} {item['From'] or '-'} -> {item['To']} by {item['By']}: {item['Reason']}")


def _decide(obj: Settings, package: str, status: str, reason: str, deploy_to_staging: bool) -> None:
    """Approve or reject; an approval deploys to staging. A deployment that fails leaves the
    package Approved (as an approval on SageMaker stays when its deployment pipeline fails), exits
    1, and says how to deploy it again."""
    home = obj.home
    registry = ModelRegistry(home)
    deployed: list[dict] = []
    failed: list[str] = []
    staging = stages(home)["staging"]

    def to_staging(approved: dict) -> None:
        try:
            deployed.append(deploy.deploy_package(home, approved["ModelPackageArn"], staging["endpoint"], "staging"))
        except MlopsError as exc:
            failed.append(str(exc))

    if deploy_to_staging:
        registry.on_approval(to_staging)
    try:
        described = registry.update_status(package, status, reason)
    finally:
        registry.close()
    click.echo(f"{described['ModelPackageArn']}: {status} ({reason})")
    for endpoint in deployed:
        line = f"deployed to staging: {endpoint['EndpointName']} {endpoint['EndpointStatus']} ({endpoint.get('EndpointConfigName')})"
        click.echo(line + (f": {endpoint['FailureReason']}" if endpoint.get("FailureReason") else ""))
        if endpoint["EndpointStatus"] != "InService" or endpoint.get("FailureReason"):
            failed.append(endpoint.get("FailureReason") or f"{endpoint['EndpointName']} is {endpoint['EndpointStatus']}")
    if failed:
        name = f"{described['ModelPackageGroupName']}/{described['ModelPackageVersion']}"
        raise MlopsError(f"{name} is Approved, but its deployment to staging failed: {failed[0]}. Once fixed, deploy it again: mlops deploy --model-package {name} --stage staging")


@group.command("approve", help="Approve a package; that approval deploys it to the staging endpoint.", epilog="Example:\n\n  mlops registry approve CreditDefaultPackageGroup/3 --reason 'AUC 0.79 on the test split, reviewed'")
@click.argument("package")
@click.option("--reason", required=True, help="why: recorded with the transition")
@click.option("--no-deploy", is_flag=True, help="approve without deploying to staging")
@click.pass_obj
def approve(obj: Settings, package: str, reason: str, no_deploy: bool) -> None:
    _decide(obj, package, "Approved", reason, not no_deploy)


@group.command("reject", help="Reject a package (it is not deployed).", epilog="Example:\n\n  mlops registry reject CreditDefaultPackageGroup/3 --reason 'drifted data in training'")
@click.argument("package")
@click.option("--reason", required=True, help="why: recorded with the transition")
@click.pass_obj
def reject(obj: Settings, package: str, reason: str) -> None:
    _decide(obj, package, "Rejected", reason, False)
