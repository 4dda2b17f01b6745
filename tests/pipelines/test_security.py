"""Network and KMS settings reach every job, model and endpoint config of the definition."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.build import definition, policy
from pipelines.build.security import Security
from pipelines.core.errors import UsageError

SUBNETS = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
GROUPS = ["sg-0123456789abcdef0"]
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def secured() -> dict[str, Any]:
    kwargs = {"region": "eu-west-1", "subnets": SUBNETS, "security_group_ids": GROUPS, "kms_key": KEY,
              "network_isolation": True, "encrypt_inter_container_traffic": True}
    return definition.render(definition.build(definition.DEFAULT_MODULE, kwargs))


@pytest.fixture(scope="module")
def plain() -> dict[str, Any]:
    return definition.render(definition.build(definition.DEFAULT_MODULE, {"region": "eu-west-1"}))


def all_steps(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {}
    for step in steps:
        found[step["Name"]] = step
        arguments = step.get("Arguments", {})
        found.update(all_steps(arguments.get("IfSteps", []) + arguments.get("ElseSteps", [])))
    return found


def test_every_job_model_and_endpoint_config_carries_the_settings(secured: dict[str, Any]) -> None:
    steps = all_steps(secured["Steps"])
    vpc = {"Subnets": SUBNETS, "SecurityGroupIds": GROUPS}
    for name in ("Preprocess", "Evaluate", "DataQualityBaseline", "ModelQualityBaseline"):
        arguments = steps[name]["Arguments"]
        assert arguments["NetworkConfig"] == {
            "EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True, "VpcConfig": vpc
        }, name
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY, name
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == KEY, name
    train = steps["Train"]["Arguments"]
    assert train["VpcConfig"] == vpc and train["EnableNetworkIsolation"] is True
    assert train["EnableInterContainerTrafficEncryption"] is True
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == KEY and train["OutputDataConfig"]["KmsKeyId"] == KEY
    model = steps["CreateModel"]["Arguments"]
    assert {k: sorted(v) for k, v in model["VpcConfig"].items()} == {k: sorted(v) for k, v in vpc.items()}
    assert model["EnableNetworkIsolation"] is True
    config = steps["EndpointConfig"]["Arguments"]
    assert config["KmsKeyId"] == KEY and config["DataCaptureConfig"]["KmsKeyId"] == KEY
    # And the policy agrees, including the optional requirements.
    strict = policy.Policy.parse({"require": {"vpc": True, "kms": True, "network_isolation": True, "inter_container_encryption": True},
                                  "allowed": {"subnets": SUBNETS, "security_group_ids": GROUPS, "kms_keys": [KEY]}})
    assert policy.audit(secured, strict) == []


def test_no_settings_no_security_fields(plain: dict[str, Any]) -> None:
    text = json.dumps(plain)
    for field in ("VpcConfig", "NetworkConfig", "KmsKeyId", "EnableNetworkIsolation"):
        assert field not in text


def test_without_a_policy_nothing_is_required(plain: dict[str, Any]) -> None:
    assert policy.audit(plain, policy.Policy()) == []
    assert policy.audit(plain, policy.Policy.load("none")) == []


def test_workshop_policy_names_every_unsecured_job(plain: dict[str, Any]) -> None:
    findings = policy.audit(plain, policy.Policy.load("workshop"))
    by_step: dict[str, list[str]] = {}
    for finding in findings:
        by_step.setdefault(finding.step, []).append(finding.pointer)
    assert set(by_step) == {"Preprocess", "Train", "Evaluate", "DataQualityBaseline", "ModelQualityBaseline", "BiasReport", "Explain", "CreateModel", "EndpointConfig"}
    assert "/Steps/0/Arguments/NetworkConfig/VpcConfig/Subnets" in by_step["Preprocess"]
    assert "/Steps/1/Arguments/ResourceConfig/VolumeKmsKeyId" in by_step["Train"]
    assert "/Steps/7/Arguments/IfSteps/0/Arguments/IfSteps/1/Arguments/IfSteps/1/Arguments/DataCaptureConfig/KmsKeyId" in by_step["EndpointConfig"]


def resolve_pointer(document: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/"):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def test_a_definition_edited_to_drop_one_jobs_vpc_is_caught(secured: dict[str, Any]) -> None:
    edited = copy.deepcopy(secured)
    evaluate = next(i for i, s in enumerate(edited["Steps"]) if s["Name"] == "Evaluate")
    del edited["Steps"][evaluate]["Arguments"]["NetworkConfig"]["VpcConfig"]
    findings = policy.audit(edited, policy.Policy.load("workshop"))
    assert [(f.step, f.pointer) for f in findings] == [
        ("Evaluate", f"/Steps/{evaluate}/Arguments/NetworkConfig/VpcConfig/Subnets"),
        ("Evaluate", f"/Steps/{evaluate}/Arguments/NetworkConfig/VpcConfig/SecurityGroupIds"),
    ]
    # Every pointer resolves in the original document: it names the field that went missing.
    for finding in findings:
        assert resolve_pointer(secured, finding.pointer)


def test_a_key_or_subnet_outside_the_allowed_lists_is_caught(secured: dict[str, Any]) -> None:
    edited = copy.deepcopy(secured)
    steps = all_steps(edited["Steps"])
    steps["Train"]["Arguments"]["OutputDataConfig"]["KmsKeyId"] = "alias/aws/s3"
    steps["CreateModel"]["Arguments"]["VpcConfig"]["Subnets"] = ["subnet-elsewhere"]
    steps["Preprocess"]["Arguments"]["NetworkConfig"]["VpcConfig"]["Subnets"] = {"Get": "Parameters.Subnets"}
    allowed = policy.Policy.parse({"allowed": {"subnets": SUBNETS, "kms_keys": [KEY]}})
    messages = {(f.step, f.message.split(" ")[0]) for f in policy.audit(edited, allowed)}
    assert messages == {("Train", "'alias/aws/s3'"), ("CreateModel", "'subnet-elsewhere'"), ("Preprocess", "Subnets")}


def test_unknown_step_types_cannot_be_proven_unless_exempt() -> None:
    document = {"Steps": [{"Name": "Emr", "Type": "EMR", "Arguments": {}}, {"Name": "Notify", "Type": "Lambda", "Arguments": {}}]}
    findings = policy.audit(document, policy.Policy.load("workshop"))
    assert [(f.step, f.pointer) for f in findings] == [("Emr", "/Steps/0")]
    assert policy.audit(document, policy.Policy.parse({"require": {"vpc": True}, "exempt_steps": ["Emr"]})) == []


@pytest.mark.parametrize(
    "raw, message",
    [
        ([], "expected a JSON object"),
        ({"require": {"vpn": True}}, "/require must be an object with keys among"),
        ({"require": {"vpc": "yes"}}, "/require/vpc must be true or false"),
        ({"allowed": {"subnets": "subnet-1"}}, "/allowed/subnets must be a list of strings"),
        ({"exempt": []}, "unknown key 'exempt'"),
    ],
)
def test_bad_policies_are_named(raw: Any, message: str) -> None:
    with pytest.raises(UsageError, match="p.json: " + message.replace("/", "/")):
        policy.Policy.parse(raw, "p.json")


def test_missing_or_broken_policy_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        policy.Policy.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text('{"require": ')
    with pytest.raises(UsageError, match=r"policy .*bad.json: not valid JSON \(.* at line 1 column"):
        policy.Policy.load(tmp_path / "bad.json")


def test_environment_file_like_the_workshops(tmp_path: Path) -> None:
    env = tmp_path / "workshop.env"
    env.write_text(f"# from the workshop stack\nexport SubnetIds={','.join(SUBNETS)}\nSecurityGroupIds={GROUPS[0]}\nKmsKeyArn=\"{KEY}\"\nDataBucket=data\nVpcId=vpc-1\n")
    security = Security.resolve(environment_file=str(env))
    assert security.subnets == tuple(SUBNETS) and security.security_group_ids == tuple(GROUPS) and security.kms_key == KEY
    assert security.extra == {"data_bucket": "data", "vpc_id": "vpc-1"}
    # Arguments win over the file.
    assert Security.resolve(kms_key="alias/other", environment_file=str(env)).kms_key == "alias/other"
    as_json = tmp_path / "workshop.json"
    as_json.write_text(json.dumps({"SubnetIds": SUBNETS, "SecurityGroupIds": GROUPS, "KmsKeyArn": KEY, "NetworkIsolation": "true"}))
    assert Security.resolve(environment_file=str(as_json)).network_isolation is True


@pytest.mark.parametrize(
    "text, message",
    [
        ("SubnetIds=subnet-1\n", "give subnets and security group ids together"),
        ("Subnet=subnet-1\n", "unknown setting 'Subnet'"),
        ("SubnetIds\n", "line 1: expected KEY=VALUE"),
    ],
)
def test_bad_environment_files_are_named(tmp_path: Path, text: str, message: str) -> None:
    env = tmp_path / "workshop.env"
    env.write_text(text)
    with pytest.raises(UsageError, match=message):
        Security.resolve(environment_file=str(env))


def test_environment_file_reaches_the_definition(tmp_path: Path) -> None:
    env = tmp_path / "workshop.env"
    env.write_text(f"SubnetIds={SUBNETS[0]}\nSecurityGroupIds={GROUPS[0]}\nKmsKeyArn={KEY}\n")
    document = definition.render(definition.build(definition.DEFAULT_MODULE, {"environment_file": str(env)}))
    assert policy.audit(document, policy.Policy.load("workshop")) == []
