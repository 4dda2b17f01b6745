"""A stage in an account of its own: what the tooling account's deploy build needs from it.

AWS's multi-account pattern, as its multi-account project templates do it: the model registry,
the pipelines and the artifacts stay in the tooling account; staging and production are other
accounts, each with its own bucket, key, network and roles (``iam.yml`` deployed there) and a
role the tooling account's build may assume (``target-account.yml``), which publishes those
settings in one SSM parameter. The deploy build, for a stage with ``TARGET_ROLE_ARN``:

1. lets the stage's account use the package: the group's resource policy names the account
   (``share_group``; the artifacts' bucket and key already do, by ``iam.yml``'s
   ``DeploymentAccountIds``);
2. assumes the stage's role and reads the account's settings (``settings``);
3. renders the stage's template with them, still as the tooling account (it reads the registry);
4. upserts the monitoring pipeline and deploys the stack with the stage's credentials only
   (the stack through the account's own CloudFormation role).

``exports`` is step 2 as shell variables for ``deployspec.yml``: the stage's settings under the
names the deployspec already uses, the credentials as ``TARGET_AWS_*`` so that nothing runs as
the stage's account unless it asks to.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from pipelines.core.errors import UsageError

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}$")
# target-account.yml's parameter: its JSON keys and the deployspec variable each one sets.
VARIABLES = {
    "Bucket": "ARTIFACT_BUCKET",
    "KmsKeyArn": "KMS_KEY_ARN",
    "SubnetIds": "SUBNET_IDS",
    "SecurityGroupIds": "SECURITY_GROUP_IDS",
    "ModelExecutionRoleArn": "MODEL_EXECUTION_ROLE_ARN",
    "MonitoringRoleArn": "MONITORING_ROLE_ARN",
    "MonitoringSchedulerRoleArn": "SCHEDULER_ROLE_ARN",
    "RetrainRoleArn": "RETRAIN_ROLE_ARN",
    "RetrainEventBusArn": "RETRAIN_EVENT_BUS_ARN",
    "CloudFormationRoleArn": "CLOUDFORMATION_ROLE_ARN",
}
CREDENTIALS = {"AccessKeyId": "TARGET_AWS_ACCESS_KEY_ID", "SecretAccessKey": "TARGET_AWS_SECRET_ACCESS_KEY", "SessionToken": "TARGET_AWS_SESSION_TOKEN"}
# What the stage's account does with the tooling account's packages: Model creation reads them.
SHARED_ACTIONS = ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"]


def parameter_name(project: str) -> str:
    return f"/{project}/deployment-target"


def account_of(role_arn: str) -> str:
    """The account of an IAM role ARN, or a UsageError naming the ARN."""
    match = ROLE_ARN.match(role_arn)
    if not match:
        raise UsageError(f"--role-arn: {role_arn!r} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)")
    return match["account"]


def share_group(sagemaker: Any, group: str, account: str) -> bool:
    """Add a statement letting ``account`` read ``group``'s packages to the group's resource
    policy, keeping what it says already; False when the policy already had it."""
    arn = sagemaker.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    try:
        policy = json.loads(sagemaker.get_model_package_group_policy(ModelPackageGroupName=group)["ResourcePolicy"])
    except sagemaker.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("ValidationException", "ResourceNotFound"):
            raise
        policy = {"Version": "2012-10-17", "Statement": []}
    sid = f"Deploy{account}"
    if any(statement.get("Sid") == sid for statement in policy["Statement"]):
        return False
    packages = arn.replace(":model-package-group/", ":model-package/", 1) + "/*"
    policy["Statement"].append(
        {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": SHARED_ACTIONS, "Resource": [arn, packages]}
    )
    sagemaker.put_model_package_group_policy(ModelPackageGroupName=group, ResourcePolicy=json.dumps(policy))
    return True


def assume(sts: Any, role_arn: str, session_name: str = "mlops-deploy") -> dict[str, str]:
    """Temporary credentials of ``role_arn`` (STS AssumeRole)."""
    account_of(role_arn)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    return {key: credentials[key] for key in CREDENTIALS}


def session(credentials: dict[str, str]) -> Any:
    """A boto3 session with ``assume``'s credentials (the caller's region)."""
    import boto3

    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"])


def settings(ssm: Any, project: str) -> dict[str, str]:
    """The stage account's settings, as ``target-account.yml`` published them."""
    name = parameter_name(project)
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        raise UsageError(f"SSM parameter {name} does not exist in the stage's account: deploy templates/target-account.yml there (ProjectName={project})") from None
    try:
        found = json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(f"SSM parameter {name} is not JSON ({exc.msg} at character {exc.pos})") from None
    missing = [key for key in VARIABLES if not isinstance(found, dict) or key not in found]
    if missing:
        raise UsageError(f"SSM parameter {name} lacks {', '.join(missing)}: deploy the current templates/target-account.yml in the stage's account")
    return {key: str(found[key]) for key in VARIABLES}


def exports(found: dict[str, str], credentials: dict[str, str]) -> str:
    """Shell ``export`` lines: the settings under the deployspec's names, the credentials as TARGET_AWS_*."""
    pairs = [(VARIABLES[key], found[key]) for key in VARIABLES] + [(CREDENTIALS[key], credentials[key]) for key in CREDENTIALS]
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in pairs)
