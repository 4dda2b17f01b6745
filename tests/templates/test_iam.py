"""templates/iam.yml: cfn-lint clean, deployable (moto), and least privilege in the ways that matter."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote

import boto3
import pytest
from cfnlint.api import lint_file
from cfnlint.decode import decode
from moto import mock_aws

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "iam.yml"
JOB_CREATING = {
    "sagemaker:CreateProcessingJob",  # Processing, QualityCheck, ClarifyCheck steps
    "sagemaker:CreateTrainingJob",  # Training
    "sagemaker:CreateHyperParameterTuningJob",  # Tuning
    "sagemaker:CreateModel",  # Model
    "sagemaker:CreateMonitoringSchedule",
    "sagemaker:CreateDataQualityJobDefinition",
}
# Actions that do not support resource-level permissions, and so may name "*".
STAR_ALLOWED = {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"} | {
    f"ec2:{a}" for a in ("CreateNetworkInterface", "CreateNetworkInterfacePermission", "DeleteNetworkInterface", "DeleteNetworkInterfacePermission",
                         "DescribeNetworkInterfaces", "DescribeVpcs", "DescribeDhcpOptions", "DescribeSubnets", "DescribeSecurityGroups")
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    document, matches = decode(str(TEMPLATE))
    assert not matches
    return document


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [properties.get("PolicyDocument")] + [p["PolicyDocument"] for p in properties.get("Policies", [])]
        for document in filter(None, documents):
            for statement in document["Statement"]:
                if "Fn::If" in statement:  # a statement for another deployment account: the condition's true branch
                    statement = statement["Fn::If"][1]
                yield name, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_cfn_lint_clean() -> None:
    assert [str(match) for match in lint_file(TEMPLATE)] == []


def test_every_job_a_role_may_create_is_bound_to_the_approved_network(template: dict[str, Any]) -> None:
    allowed = {action for _, s in statements(template) if s["Effect"] == "Allow" for action in as_list(s["Action"])}
    denies = {s["Sid"]: s for _, s in statements(template) if s["Effect"] == "Deny"}
    creating = allowed & JOB_CREATING
    assert creating  # the roles do create jobs and models
    for sid, key in (("DenyJobsOutsideTheVpc", "Null"), ("DenyUnapprovedSubnets", "ForAnyValue:StringNotEquals"), ("DenyUnapprovedSecurityGroups", "ForAnyValue:StringNotEquals")):
        assert creating <= set(denies[sid]["Action"]), sid
        assert key in denies[sid]["Condition"]
    assert denies["DenyUnapprovedSubnets"]["Condition"]["ForAnyValue:StringNotEquals"]["sagemaker:VpcSubnets"] == {"Ref": "SubnetIds"}
    key_bound = set(denies["DenyJobsWithoutTheProjectKey"]["Action"])
    assert {"sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob", "sagemaker:CreateEndpointConfig"} <= key_bound


def test_s3_and_kms_only_on_the_projects_bucket_and_key_and_no_stray_wildcards(template: dict[str, Any]) -> None:
    for name, statement in statements(template):
        if statement["Effect"] != "Allow" or name == "ProjectKey":  # a key policy's "*" is the key itself
            continue
        actions = as_list(statement["Action"])
        resources = json.dumps(statement["Resource"])
        if any(a.startswith("s3:") for a in actions):
            assert "ProjectBucket" in resources and "*\"" not in resources.replace("/*\"", ""), statement["Sid"]
        if any(a.startswith("kms:") for a in actions):
            assert statement["Resource"] == {"Fn::GetAtt": ["ProjectKey", "Arn"]}, statement["Sid"]
        if statement["Resource"] == "*":
            assert set(actions) <= STAR_ALLOWED, statement["Sid"]
        assert not any(a.endswith(":*") for a in actions), statement["Sid"]
        if "iam:PassRole" in actions:
            service = statement["Condition"]["StringEquals"]["iam:PassedToService"]
            assert service == "sagemaker.amazonaws.com" or (service == "scheduler.amazonaws.com" and statement["Resource"] == {"Fn::GetAtt": ["MonitoringSchedulerRole", "Arn"]})


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [statement for name, statement in statements(template) if name == role]


def test_the_scheduler_may_start_the_monitoring_pipeline_and_nothing_else(template: dict[str, Any]) -> None:
    role = template["Resources"]["MonitoringSchedulerRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    (statement,) = role_statements(template, "MonitoringSchedulerRole")
    assert statement["Effect"] == "Allow" and statement["Action"] == "sagemaker:StartPipelineExecution"
    assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:pipeline/${MonitoringPipelineName}"}


def test_the_monitoring_job_publishes_metrics_in_model_monitors_namespaces_only(template: dict[str, Any]) -> None:
    from pipelines.monitor.job.clarify import monitor as clarify_monitor
    from pipelines.monitor.job.common import metrics
    from pipelines.monitor.job.model_quality import quality

    publishing = [s for s in role_statements(template, "MonitoringRole") if "cloudwatch:PutMetricData" in as_list(s["Action"])]
    namespaces = [metrics.NAMESPACE, quality.NAMESPACE, clarify_monitor.BIAS_NAMESPACE, clarify_monitor.EXPLAINABILITY_NAMESPACE]
    assert [s["Condition"] for s in publishing] == [{"StringEquals": {"cloudwatch:namespace": namespaces}}]  # data and model quality, bias, attributions
    assert not any(a.startswith(("sagemaker:CreateTrainingJob", "sagemaker:CreateModel", "sagemaker:CreateEndpoint")) for s in role_statements(template, "MonitoringRole") for a in as_list(s["Action"]))
    # The monitoring job is bound to the approved network and the project's bucket and key like every other.
    assert {"Ref": "MonitoringRole"} in template["Resources"]["ProjectDataPolicy"]["Properties"]["Roles"]


@pytest.mark.filterwarnings("ignore:Tried to parse AWS..S3..BucketPolicy")  # moto skips the TLS-only bucket policy
def test_deploys_with_the_approved_network_in_its_conditions() -> None:
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
        cloudformation.create_stack(
            StackName="credit-iam",
            TemplateBody=TEMPLATE.read_text(),
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": "SubnetIds", "ParameterValue": "subnet-0a1b,subnet-2c3d"}, {"ParameterKey": "SecurityGroupIds", "ParameterValue": "sg-0123"}],
        )
        stack = cloudformation.describe_stacks(StackName="credit-iam")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        iam = boto3.client("iam", region_name="eu-west-1")
        policy = next(p for p in iam.list_policies(Scope="Local")["Policies"] if "ProjectDataPolicy" in p["PolicyName"])
        version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        document = version["Document"] if isinstance(version["Document"], dict) else json.loads(unquote(version["Document"]))
        by_sid = {s["Sid"]: s for s in document["Statement"]}
        assert by_sid["DenyUnapprovedSubnets"]["Condition"]["ForAnyValue:StringNotEquals"]["sagemaker:VpcSubnets"] == ["subnet-0a1b", "subnet-2c3d"]
        assert by_sid["DenyUnapprovedSecurityGroups"]["Condition"]["ForAnyValue:StringNotEquals"]["sagemaker:VpcSecurityGroupIds"] == ["sg-0123"]
        assert by_sid["DenyJobsWithoutTheProjectKey"]["Condition"]["StringNotEquals"]["sagemaker:VolumeKmsKey"] == outputs["KmsKeyArn"]
        for role in ("credit-default-pipeline-execution", "credit-default-monitoring"):
            attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
            assert [p["PolicyArn"] for p in attached] == [policy["Arn"]], role
        assert outputs["MonitoringSchedulerRoleArn"].endswith(":role/credit-default-monitoring-scheduler")
        inline = iam.get_role_policy(RoleName="credit-default-monitoring-scheduler", PolicyName="start-the-monitoring-pipeline")["PolicyDocument"]
        inline = inline if isinstance(inline, dict) else ast.literal_eval(inline)  # moto keeps a CloudFormation-made inline policy as its repr
        (statement,) = inline["Statement"]
        assert statement["Resource"].endswith(":pipeline/creditdefaultmonitoring")


def test_other_deployment_accounts_may_read_the_models_and_nothing_more(template: dict[str, Any]) -> None:
    """cicd.yml's StagingAccountId/ProdAccountId: those accounts' roles (target-account.yml) read
    packages' artifacts and baselines from this bucket and decrypt them; off by default."""
    assert template["Parameters"]["DeploymentAccountIds"]["Default"] == ""
    assert template["Conditions"]["OtherDeploymentAccounts"] == {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "DeploymentAccountIds"}]}, ""]}]}
    bucket = [s["Fn::If"] for s in template["Resources"]["ProjectBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"] if "Fn::If" in s]
    key = [s["Fn::If"] for s in template["Resources"]["ProjectKey"]["Properties"]["KeyPolicy"]["Statement"] if "Fn::If" in s]
    for (condition, granted, otherwise), actions in ((bucket[0], "s3:GetObject"), (key[0], ["kms:Decrypt", "kms:DescribeKey"])):
        assert condition == "OtherDeploymentAccounts" and otherwise == {"Ref": "AWS::NoValue"}
        assert granted["Principal"] == {"AWS": {"Ref": "DeploymentAccountIds"}} and granted["Action"] == actions and granted["Effect"] == "Allow"
    assert len(bucket) == len(key) == 1
