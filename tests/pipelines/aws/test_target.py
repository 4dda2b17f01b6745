"""A stage in an account of its own: templates/target-account.yml deployed in a second account on
moto (after that account's iam.yml), and ``mlops aws target-env`` run as the tooling account
against it; the package group's resource policy checked against botocore's SageMaker model
(moto has no PutModelPackageGroupPolicy)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.stub import Stubber
from cfnlint.api import lint_file
from cfnlint.decode import decode
from moto import mock_aws

from pipelines.aws import target
from pipelines.cli import main as mlops

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
TOOLING, STAGE = "123456789012", "222233334444"
DEPLOY_ROLE = f"arn:aws:iam::{STAGE}:role/credit-default-tooling-deploy"
REGION = "eu-west-1"


def test_cfn_lint_clean_and_only_the_tooling_accounts_ci_build_may_assume_the_role() -> None:
    path = TEMPLATES / "target-account.yml"
    assert [str(m) for m in lint_file(path)] == []
    document, _ = decode(str(path))
    (trust,) = document["Resources"]["ToolingDeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ToolingAccountId}:root"}}
    # the role cicd.yml's build runs as, by name: nobody else in the tooling account
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ToolingAccountId}:role/${ProjectName}-cicd-build"}}}
    cicd, _ = decode(str(TEMPLATES / "cicd.yml"))
    assert cicd["Resources"]["BuildRole"]["Properties"]["RoleName"] == {"Fn::Sub": "${ProjectName}-cicd-build"}
    statements = document["Resources"]["ToolingDeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    # It deploys the stack only through this account's own CloudFormation role, and passes no other role to CloudFormation.
    passes = {s["Sid"]: s for s in statements if s["Action"] == "iam:PassRole"}
    assert passes["ThroughThisAccountsCloudFormationRole"]["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    assert passes["PassTheMonitoringRole"]["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert not any(r == "*" for s in statements for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))


def _session(credentials: dict[str, str]) -> boto3.Session:
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"], region_name=REGION)  # fmt: skip


def _stack(cloudformation: Any, name: str, template: str, parameters: dict[str, str]) -> dict[str, str]:
    cloudformation.create_stack(
        StackName=name, TemplateBody=(TEMPLATES / template).read_text(), Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )  # fmt: skip
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", name
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@pytest.fixture
def stage_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """The stage's account on moto with its iam.yml and target-account.yml; the caller is the tooling account."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        administrator = _session(boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{STAGE}:role/administrator", RoleSessionName="setup")["Credentials"])
        cloudformation = administrator.client("cloudformation")
        network = {"SubnetIds": "subnet-0a1b,subnet-2c3d", "SecurityGroupIds": "sg-0123"}
        with pytest.warns(UserWarning, match="BucketPolicy"):  # moto skips the TLS-only bucket policy
            own = _stack(cloudformation, "credit-default-iam", "iam.yml", network)
        _stack(cloudformation, "credit-default-target", "target-account.yml", {
            "ToolingAccountId": TOOLING, "ToolingBucketName": "credit-default-tooling-bucket",
            "ToolingKmsKeyArn": f"arn:aws:kms:{REGION}:{TOOLING}:key/tooling", "BucketName": own["ProjectBucketName"], "KmsKeyArn": own["KmsKeyArn"], **network,
        })  # fmt: skip
        yield administrator


def test_target_env_gives_the_deploy_build_the_stage_accounts_settings_and_credentials(
    stage_account: boto3.Session, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shared: list[tuple[str, str]] = []
    monkeypatch.setattr(target, "share_group", lambda _client, group, account: shared.append((group, account)) or True)
    assert boto3.client("sts").get_caller_identity()["Account"] == TOOLING
    assert mlops.main(["aws", "target-env", "--role-arn", DEPLOY_ROLE]) == 0
    out, err = capsys.readouterr()
    assert shared == [("CreditDefaultPackageGroup", STAGE)] and f"lets account {STAGE} read its packages" in err
    exported = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    exported = {k: shlex.split(v)[0] for k, v in exported.items()}
    iam = stage_account.client("iam")
    bucket = next(b["Name"] for b in stage_account.client("s3").list_buckets()["Buckets"])
    assert exported["ARTIFACT_BUCKET"] == bucket == f"credit-default-{STAGE}-{REGION}"  # the stage's own bucket, not the tooling one
    assert exported["SUBNET_IDS"] == "subnet-0a1b,subnet-2c3d" and exported["SECURITY_GROUP_IDS"] == "sg-0123"
    assert exported["KMS_KEY_ARN"].startswith(f"arn:aws:kms:{REGION}:{STAGE}:key/")
    for variable, role in (("MODEL_EXECUTION_ROLE_ARN", "pipeline-execution"), ("MONITORING_ROLE_ARN", "monitoring"), ("SCHEDULER_ROLE_ARN", "monitoring-scheduler"),
                           ("RETRAIN_ROLE_ARN", "retrain"), ("CLOUDFORMATION_ROLE_ARN", "deploy")):  # fmt: skip
        assert exported[variable] == iam.get_role(RoleName=f"credit-default-{role}")["Role"]["Arn"], variable  # each exists in the stage's account
    assert exported["RETRAIN_EVENT_BUS_ARN"] == f"arn:aws:events:{REGION}:{TOOLING}:event-bus/default"
    # The credentials are the stage's, and only under TARGET_AWS_*: what runs next is the tooling account unless it asks.
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(exported)
    as_stage = boto3.Session(aws_access_key_id=exported["TARGET_AWS_ACCESS_KEY_ID"], aws_secret_access_key=exported["TARGET_AWS_SECRET_ACCESS_KEY"],
                             aws_session_token=exported["TARGET_AWS_SESSION_TOKEN"], region_name=REGION)  # fmt: skip
    assert as_stage.client("sts").get_caller_identity()["Arn"].startswith(f"arn:aws:sts::{STAGE}:assumed-role/credit-default-tooling-deploy/")
    # The stage's model, monitoring and CloudFormation roles may read the tooling account's artifacts.
    for role in ("pipeline-execution", "monitoring", "deploy"):
        names = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=f"credit-default-{role}")["AttachedPolicies"]]
        assert any("ToolingArtifactsPolicy" in n for n in names), role


def test_a_stage_account_without_its_template_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr(target, "share_group", lambda *_: False)
    with mock_aws():
        assert mlops.main(["aws", "target-env", "--role-arn", DEPLOY_ROLE]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == (
        "usage error: SSM parameter /credit-default/deployment-target does not exist in the stage's account: deploy templates/target-account.yml there (ProjectName=credit-default)"
    )
    assert mlops.main(["aws", "target-env", "--role-arn", "credit-default-tooling-deploy"]) == 1
    assert "--role-arn: 'credit-default-tooling-deploy' is not an IAM role ARN" in capsys.readouterr().err


GROUP_ARN = f"arn:aws:sagemaker:{REGION}:{TOOLING}:model-package-group/creditdefaultpackagegroup"


def _stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return client, Stubber(client)


def test_share_group_adds_the_account_to_the_groups_policy_once_keeping_what_it_says() -> None:
    """Stubber checks each request and answer against botocore's SageMaker model."""
    client, stub = _stubbed()
    group = {"ModelPackageGroupName": "CreditDefaultPackageGroup"}
    stub.add_response("describe_model_package_group", {"ModelPackageGroupName": "CreditDefaultPackageGroup", "ModelPackageGroupArn": GROUP_ARN,
                                                       "CreationTime": 0, "CreatedBy": {}, "ModelPackageGroupStatus": "Completed"}, group)  # fmt: skip
    stub.add_client_error("get_model_package_group_policy", "ValidationException", "Cannot find resource policy", expected_params=group)
    expected = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": f"Deploy{STAGE}", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{STAGE}:root"},
                       "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                       "Resource": [GROUP_ARN, f"arn:aws:sagemaker:{REGION}:{TOOLING}:model-package/creditdefaultpackagegroup/*"]}],
    }  # fmt: skip
    stub.add_response("put_model_package_group_policy", {"ModelPackageGroupArn": GROUP_ARN}, {**group, "ResourcePolicy": json.dumps(expected)})
    with stub:
        assert target.share_group(client, "CreditDefaultPackageGroup", STAGE) is True
    stub.assert_no_pending_responses()

    # A policy that already names another account keeps it; one that names this account is left alone.
    client, stub = _stubbed()
    other = {"Sid": "SomeoneElse", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sagemaker:DescribeModelPackage", "Resource": GROUP_ARN}
    for existing, puts in (([other], True), ([other, expected["Statement"][0]], False)):
        stub.add_response("describe_model_package_group", {"ModelPackageGroupName": "CreditDefaultPackageGroup", "ModelPackageGroupArn": GROUP_ARN,
                                                           "CreationTime": 0, "CreatedBy": {}, "ModelPackageGroupStatus": "Completed"}, group)  # fmt: skip
        stub.add_response("get_model_package_group_policy", {"ResourcePolicy": json.dumps({"Version": "2012-10-17", "Statement": existing})}, group)
        if puts:
            policy = {"Version": "2012-10-17", "Statement": [other, expected["Statement"][0]]}
            stub.add_response("put_model_package_group_policy", {"ModelPackageGroupArn": GROUP_ARN}, {**group, "ResourcePolicy": json.dumps(policy)})
        with stub:
            assert target.share_group(client, "CreditDefaultPackageGroup", STAGE) is puts
        stub.assert_no_pending_responses()
