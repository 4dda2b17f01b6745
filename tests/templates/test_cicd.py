"""templates/cicd.yml: cfn-lint clean; the build pipeline is source then build on the branch's
pushes; the deploy pipeline is DeployStaging, TestStaging, ManualApproval, DeployProd in that
order, started only when a package becomes Approved; each CodeBuild project runs the file the
repository has; and what moto's CloudFormation models of it (the IAM roles and the EventBridge
rules: moto 5.2 has no model for AWS::CodeBuild::Project or AWS::CodePipeline::Pipeline)
deploys there."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from cfnlint.api import lint_file
from cfnlint.decode import decode
from moto import mock_aws
from moto.cloudformation.parsing import get_model_map

from pipelines.aws.stage_deploy import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "cicd.yml"
ACCOUNT = "123456789012"
PARAMETERS = {
    "ArtifactBucketName": "credit-default-bucket", "KmsKeyArn": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k",
    "VpcId": "vpc-12345678", "SubnetIds": "subnet-12345678,subnet-87654321", "SecurityGroupIds": "sg-12345678",
    "SageMakerPipelineRoleArn": f"arn:aws:iam::{ACCOUNT}:role/p", "MonitoringRoleArn": f"arn:aws:iam::{ACCOUNT}:role/m",
    "ModelExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/e", "RetrainRoleArn": f"arn:aws:iam::{ACCOUNT}:role/r",
    "MonitoringSchedulerRoleArn": f"arn:aws:iam::{ACCOUNT}:role/s",
    "SourceConnectionArn": f"arn:aws:codeconnections:eu-west-1:{ACCOUNT}:connection/abc", "FullRepositoryId": "someone/credit-default-mlops",
}  # fmt: skip


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    document, matches = decode(str(TEMPLATE))
    assert not matches
    return document


def stages(template: dict[str, Any], pipeline: str) -> list[tuple[str, list[str]]]:
    return [(s["Name"], [a["Name"] if "Name" in a else a["Fn::If"][1]["Name"] for a in s["Actions"]]) for s in template["Resources"][pipeline]["Properties"]["Stages"]]


def test_cfn_lint_clean() -> None:
    assert [str(m) for m in lint_file(TEMPLATE)] == []


def test_the_build_pipeline_builds_each_push_to_the_branch(template: dict[str, Any]) -> None:
    assert stages(template, "ModelBuildPipeline") == [("Source", ["Source"]), ("Build", ["Build"])]
    build = template["Resources"]["BuildProject"]["Properties"]
    assert build["Source"]["BuildSpec"] == "buildspec.yml" and (ROOT / "buildspec.yml").exists()
    (trigger,) = template["Resources"]["ModelBuildPipeline"]["Properties"]["Triggers"]["Fn::If"][1]
    assert trigger["GitConfiguration"]["Push"] == [{"Branches": {"Includes": [{"Ref": "BranchName"}]}}]
    # The variables buildspec.yml says its project gives it.
    given = {v["Name"] for v in build["Environment"]["EnvironmentVariables"]}
    assert {"SAGEMAKER_PIPELINE_ROLE_ARN", "MONITORING_ROLE_ARN", "ARTIFACT_BUCKET", "MODEL_PACKAGE_GROUP_NAME", "SUBNET_IDS", "SECURITY_GROUP_IDS", "KMS_KEY_ARN"} <= given


def test_production_waits_for_the_staging_test_and_a_human(template: dict[str, Any]) -> None:
    assert stages(template, "ModelDeployPipeline") == [
        ("Source", ["Source"]), ("DeployStaging", ["DeployStaging"]), ("TestStaging", ["TestStaging"]), ("ManualApproval", ["ApproveProduction"]), ("DeployProd", ["DeployProd"]),
    ]  # fmt: skip
    actions = {s["Name"]: s["Actions"][0] for s in template["Resources"]["ModelDeployPipeline"]["Properties"]["Stages"]}
    assert actions["ManualApproval"]["ActionTypeId"] == {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}
    assert "staging-test.json" in json.dumps(actions["ManualApproval"]["Configuration"]["CustomData"])
    stage_of = {name: json.loads(actions[name]["Configuration"]["EnvironmentVariables"]["Fn::If"][2])[0]["value"] for name in ("DeployStaging", "DeployProd")}
    assert stage_of == {"DeployStaging": "staging", "DeployProd": "prod"}
    assert template["Resources"]["DeployProject"]["Properties"]["Source"]["BuildSpec"] == "deployspec.yml" and (ROOT / "deployspec.yml").exists()
    inline = yaml.safe_load(template["Resources"]["TestStagingProject"]["Properties"]["Source"]["BuildSpec"]["Fn::Sub"])
    assert any(c.startswith("mlops aws test-staging") for c in inline["phases"]["build"]["commands"])
    # Started when a package becomes Approved, and by nothing else in the registry.
    rule = template["Resources"]["OnApproval"]["Properties"]
    assert rule["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved"]
    assert "${ModelDeployPipeline}" in rule["Targets"][0]["Arn"]["Fn::Sub"]


def test_every_build_runs_in_the_vpc_encrypted_with_the_projects_key(template: dict[str, Any]) -> None:
    projects = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"]
    assert len(projects) == 3
    assert all(p["EncryptionKey"] == {"Ref": "KmsKeyArn"} and p["VpcConfig"]["VpcId"] == {"Ref": "VpcId"} for p in projects)
    for name in ("ModelBuildPipeline", "ModelDeployPipeline"):
        assert template["Resources"][name]["Properties"]["ArtifactStore"]["EncryptionKey"] == {"Id": {"Ref": "KmsKeyArn"}, "Type": "KMS"}


def test_what_moto_models_deploys_there() -> None:
    """The template minus the resources moto's CloudFormation has no model for, each reference
    to them replaced by its name (what Ref gives for both)."""
    with mock_aws():
        cloudformation = _deploy_modelled(PARAMETERS)
        events = boto3.client("events", region_name="eu-west-1")
        rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
        (approval,) = [r for r in rules.values() if "approved" in r.get("Description", "")]
        assert json.loads(approval["EventPattern"])["detail"]["ModelApprovalStatus"] == ["Approved"]
        (target,) = events.list_targets_by_rule(Rule=approval["Name"])["Targets"]
        assert target["Arn"].endswith(":credit-default-ModelDeployPipeline") and ":codepipeline:" in target["Arn"]
        roles = {r["RoleName"] for r in boto3.client("iam", region_name="eu-west-1").list_roles()["Roles"]}
        assert {"credit-default-cicd-build", "credit-default-codepipeline", "credit-default-start-pipelines"} <= roles
        # iam.yml, which the template's parameters come from, deploys beside it: no role name is taken twice.
        with pytest.warns(UserWarning, match="BucketPolicy"):  # moto skips the TLS-only bucket policy
            cloudformation.create_stack(
                StackName="credit-default-iam", TemplateBody=(ROOT / "templates" / "iam.yml").read_text(), Capabilities=["CAPABILITY_NAMED_IAM"],
                Parameters=[{"ParameterKey": "SubnetIds", "ParameterValue": PARAMETERS["SubnetIds"]}, {"ParameterKey": "SecurityGroupIds", "ParameterValue": PARAMETERS["SecurityGroupIds"]}],
            )  # fmt: skip
        assert cloudformation.describe_stacks(StackName="credit-default-iam")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_stages_in_accounts_of_their_own_are_deployed_and_tested_through_their_roles(template: dict[str, Any]) -> None:
    """Off by default; with StagingAccountId/ProdAccountId each stage's actions carry its
    account's tooling-deploy role, the build may assume exactly those, and the stages' alarms
    start the training pipeline here."""
    resources = template["Resources"]
    assert template["Parameters"]["StagingAccountId"]["Default"] == template["Parameters"]["ProdAccountId"]["Default"] == ""
    actions = {a["Name"]: a for s in resources["ModelDeployPipeline"]["Properties"]["Stages"] for a in s["Actions"] if "Name" in a}
    role = "arn:${AWS::Partition}:iam::${%s}:role/${ProjectName}-tooling-deploy"
    for action, condition, stage, account in (("DeployStaging", "StagingElsewhere", "staging", "StagingAccountId"), ("DeployProd", "ProdElsewhere", "prod", "ProdAccountId")):
        cond, elsewhere, here = actions[action]["Configuration"]["EnvironmentVariables"]["Fn::If"]
        assert cond == condition and json.loads(here) == [{"name": "STAGE", "value": stage, "type": "PLAINTEXT"}]
        assert json.loads(elsewhere["Fn::Sub"]) == [{"name": "STAGE", "value": stage, "type": "PLAINTEXT"}, {"name": "TARGET_ROLE_ARN", "value": role % account, "type": "PLAINTEXT"}]
    cond, elsewhere, here = actions["TestStaging"]["Configuration"]["EnvironmentVariables"]["Fn::If"]
    assert cond == "StagingElsewhere" and json.loads(elsewhere["Fn::Sub"])[0]["value"] == role % "StagingAccountId" and here == {"Ref": "AWS::NoValue"}
    assert '--target-role-arn "$TARGET_ROLE_ARN"' in resources["TestStagingProject"]["Properties"]["Source"]["BuildSpec"]["Fn::Sub"]
    statements = [s["Fn::If"][1] for s in resources["BuildRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"] if "Fn::If" in s and s["Fn::If"][0] == "AnyElsewhere"]
    assume = next(s for s in statements if s["Action"] == "sts:AssumeRole")
    assert [r["Fn::If"][1]["Fn::Sub"] for r in assume["Resource"]] == [role % "StagingAccountId", role % "ProdAccountId"]  # these two roles and no others
    retrain = resources["RetrainFromDeploymentAccounts"]
    assert retrain["Condition"] == "AnyElsewhere" and retrain["Properties"]["EventPattern"]["detail"]["state"] == {"value": ["ALARM"]}
    assert retrain["Properties"]["Targets"][0]["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:pipeline/${PipelineName}"}
    # The alarm names the stage accounts' templates give (endpoint.yml's RetrainOnDrift prefixes, per stage).
    endpoint = load_template(ROOT / "templates" / "endpoint.yml")
    kinds = [p["prefix"]["Fn::Sub"].rsplit("-", 2)[1] for p in endpoint["Resources"]["RetrainOnDrift"]["Properties"]["EventPattern"]["detail"]["alarmName"]]
    prefixes = [p["prefix"]["Fn::Sub"] for p in retrain["Properties"]["EventPattern"]["detail"]["alarmName"]]
    assert prefixes == [f"${{ProjectName}}-{stage}-{kind}-" for stage in ("staging", "prod") for kind in kinds]
    for name, account in (("StagingAccountSendsAlarms", "StagingAccountId"), ("ProdAccountSendsAlarms", "ProdAccountId")):
        assert resources[name]["Properties"]["Statement"]["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${%s}:root" % account}}


def test_with_both_stages_elsewhere_moto_deploys_what_it_models() -> None:
    with mock_aws():
        _deploy_modelled({**PARAMETERS, "StagingAccountId": "222233334444", "ProdAccountId": "333344445555"})
        events = boto3.client("events", region_name="eu-west-1")
        (rule,) = [r for r in events.list_rules()["Rules"] if "stages' accounts" in r.get("Description", "")]
        assert json.loads(rule["EventPattern"])["account"] == ["222233334444", "333344445555"]
        (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert target["Arn"] == f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/creditdefaultpipeline" and target["RoleArn"] == PARAMETERS["RetrainRoleArn"]


def _deploy_modelled(parameters: dict[str, str]) -> Any:
    """The template minus the resources moto's CloudFormation has no model for, each reference
    to them replaced by its name, created with ``parameters`` (inside mock_aws); its client."""
    document = load_template(TEMPLATE)
    unmodelled = {name for name, r in document["Resources"].items() if r["Type"] not in get_model_map()}
    assert {document["Resources"][n]["Type"] for n in unmodelled} == {"AWS::CodeBuild::Project", "AWS::CodePipeline::Pipeline", "AWS::Events::EventBusPolicy"}
    names = {n: f"credit-default-{n}" for n in unmodelled}
    document["Resources"] = _replace(copy.deepcopy({n: r for n, r in document["Resources"].items() if n not in unmodelled}), names)
    document["Outputs"] = _replace(document["Outputs"], names)
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    cloudformation.create_stack(
        StackName="credit-default-cicd", TemplateBody=json.dumps(document), Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )  # fmt: skip
    assert cloudformation.describe_stacks(StackName="credit-default-cicd")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    return cloudformation


def _replace(value: Any, names: dict[str, str]) -> Any:
    """Refs and GetAtts to the unmodelled resources as their names (and ${Name} in Subs)."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in names:
            return names[value["Ref"]]
        if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in names:
            return f"arn:aws:codebuild:eu-west-1:{ACCOUNT}:project/{names[value['Fn::GetAtt'][0]]}"
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for name, replacement in names.items():
                text = text.replace("${" + name + "}", replacement)
            return {"Fn::Sub": text}
        return {k: _replace(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, names) for v in value]
    return value
