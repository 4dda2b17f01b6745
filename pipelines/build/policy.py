"""A security policy, and the audit of a pipeline definition against it.

The workshop denies SageMaker jobs created without its VPC settings through IAM conditions
and stops them with a detective Lambda. ``audit`` is that control made preventive: it reads
a definition JSON and lists every job, model and endpoint config that would be created
without what the policy requires, naming the step and the JSON pointer of the field. Both
``mlops audit`` and ``run-pipeline`` (before it upserts anything) use it.

A policy file is JSON::

    {
      "require": {"vpc": true, "kms": true, "network_isolation": false,
                  "inter_container_encryption": false},
      "allowed": {"subnets": ["subnet-0a1b2c"], "security_group_ids": ["sg-0123"],
                  "kms_keys": ["arn:aws:kms:eu-west-1:111122223333:key/..."]},
      "exempt_steps": []
    }

Everything is optional; an empty policy requires nothing. A value given by a pipeline
expression (a parameter, a property) counts as present but cannot be proven to be in an
``allowed`` list, so it fails one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from pipelines.core import jsonargs
from pipelines.core.errors import UsageError

_REQUIRE = ("vpc", "kms", "network_isolation", "inter_container_encryption")
_ALLOWED = ("subnets", "security_group_ids", "kms_keys")
BUILTIN: dict[str, dict[str, Any]] = {
    "workshop": {
        "description": "every job, model and endpoint in a VPC; a customer KMS key for volumes, outputs, endpoints and capture",
        "require": {"vpc": True, "kms": True},
    },
    "none": {"description": "nothing required"},
}
# Step types that create no job, model or endpoint config of their own.
_NOTHING_TO_SECURE = {"Condition", "Fail", "RegisterModel", "Endpoint", "Lambda", "Callback"}


@dataclass(frozen=True)
class Policy:
    require: frozenset[str] = frozenset()
    allowed: dict[str, frozenset[str]] = field(default_factory=dict)
    exempt_steps: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.require and not self.allowed

    @classmethod
    def load(cls, path: str | Path) -> "Policy":
        """A policy file, or a built-in policy by name (``workshop``: VPC and KMS everywhere)."""
        if str(path) in BUILTIN:
            return cls.parse(BUILTIN[str(path)], str(path))
        file = Path(path)
        try:
            raw = jsonargs.loads(file.read_text(), f"policy {path}")
        except FileNotFoundError:
            raise UsageError(f"policy {path} does not exist") from None
        return cls.parse(raw, str(path))

    @classmethod
    def parse(cls, raw: Any, source: str = "policy") -> "Policy":
        if not isinstance(raw, dict):
            raise UsageError(f"{source}: expected a JSON object")
        unknown = set(raw) - {"require", "allowed", "exempt_steps", "description"}
        if unknown:
            raise UsageError(f"{source}: unknown key {sorted(unknown)[0]!r}; known: require, allowed, exempt_steps, description")
        require = raw.get("require", {})
        if not isinstance(require, dict) or set(require) - set(_REQUIRE):
            raise UsageError(f"{source}: /require must be an object with keys among {', '.join(_REQUIRE)}")
        for key, value in require.items():
            if not isinstance(value, bool):
                raise UsageError(f"{source}: /require/{key} must be true or false, got {value!r}")
        allowed = raw.get("allowed", {})
        if not isinstance(allowed, dict) or set(allowed) - set(_ALLOWED):
            raise UsageError(f"{source}: /allowed must be an object with keys among {', '.join(_ALLOWED)}")
        for key, values in allowed.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise UsageError(f"{source}: /allowed/{key} must be a list of strings")
        exempt = raw.get("exempt_steps", [])
        if not isinstance(exempt, list) or not all(isinstance(v, str) for v in exempt):
            raise UsageError(f"{source}: /exempt_steps must be a list of step names")
        return cls(
            require=frozenset(key for key, value in require.items() if value),
            allowed={key: frozenset(values) for key, values in allowed.items()},
            exempt_steps=frozenset(exempt),
        )


@dataclass(frozen=True)
class Finding:
    step: str
    step_type: str
    pointer: str  # JSON pointer of the missing or wrong field in the definition
    message: str

    def __str__(self) -> str:
        return f"{self.step} ({self.step_type}) {self.pointer}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"Step": self.step, "StepType": self.step_type, "Path": self.pointer, "Message": self.message}


def audit(document: dict[str, Any], policy: Policy) -> list[Finding]:
    """Every way ``document`` falls short of ``policy``; empty when it complies."""
    if policy.empty:
        return []
    findings: list[Finding] = []
    for pointer, step in _steps(document.get("Steps", []), "/Steps"):
        name, step_type = str(step.get("Name", "?")), str(step.get("Type", "?"))
        if name in policy.exempt_steps or step_type in _NOTHING_TO_SECURE:
            continue
        check = _CHECKS.get(step_type)
        arguments = step.get("Arguments")
        if check is None or not isinstance(arguments, dict):
            findings.append(Finding(name, step_type, pointer, f"the policy cannot be proven for a {step_type} step; exempt it by name if that is intended"))
            continue
        for field_pointer, message in check(_Fields(arguments, f"{pointer}/Arguments"), policy):
            findings.append(Finding(name, step_type, field_pointer, message))
    return findings


def _steps(steps: list[Any], pointer: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        here = f"{pointer}/{index}"
        yield here, step
        arguments = step.get("Arguments") if isinstance(step.get("Arguments"), dict) else {}
        for branch in ("IfSteps", "ElseSteps"):
            if isinstance(arguments.get(branch), list):
                yield from _steps(arguments[branch], f"{here}/Arguments/{branch}")


class _Fields:
    """Reads fields of a step's arguments by path, keeping the JSON pointer of each."""

    def __init__(self, arguments: dict[str, Any], pointer: str) -> None:
        self.arguments, self.pointer = arguments, pointer

    def get(self, path: str) -> Any:
        value: Any = self.arguments
        for part in path.split("/"):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def at(self, path: str) -> str:
        return f"{self.pointer}/{path}"


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and any(key in value for key in ("Get", "Std:Join", "Std:JsonGet"))


def _vpc(fields: _Fields, policy: Policy, vpc_path: str) -> Iterator[tuple[str, str]]:
    if "vpc" not in policy.require and not ({"subnets", "security_group_ids"} & set(policy.allowed)):
        return
    for key, allowed_key in (("Subnets", "subnets"), ("SecurityGroupIds", "security_group_ids")):
        path = f"{vpc_path}/{key}"
        value = fields.get(path)
        if value in (None, [], ""):
            if "vpc" in policy.require:
                yield fields.at(path), f"no {key}: the policy requires every job, model and endpoint to run in a VPC"
            continue
        allowed = policy.allowed.get(allowed_key)
        if allowed is None:
            continue
        if _is_expression(value) or not isinstance(value, list):
            yield fields.at(path), f"{key} is set at execution time and cannot be proven to be among the allowed {allowed_key}"
            continue
        for index, item in enumerate(value):
            if _is_expression(item) or item not in allowed:
                yield fields.at(f"{path}/{index}"), f"{item!r} is not among the allowed {allowed_key} ({', '.join(sorted(allowed))})"


def _kms(fields: _Fields, policy: Policy, *paths: str) -> Iterator[tuple[str, str]]:
    allowed = policy.allowed.get("kms_keys")
    for path in paths:
        value = fields.get(path)
        if value in (None, ""):
            if "kms" in policy.require:
                yield fields.at(path), "no KMS key: the policy requires a customer key for volumes, outputs, endpoints and captured data"
        elif allowed is not None and (_is_expression(value) or value not in allowed):
            shown = "a value set at execution time" if _is_expression(value) else repr(value)
            yield fields.at(path), f"{shown} is not among the allowed kms_keys"


def _flag(fields: _Fields, policy: Policy, requirement: str, path: str, what: str) -> Iterator[tuple[str, str]]:
    if requirement in policy.require and fields.get(path) is not True:
        yield fields.at(path), f"{what} is not enabled; the policy requires it"


def _processing(fields: _Fields, policy: Policy) -> Iterator[tuple[str, str]]:
    yield from _vpc(fields, policy, "NetworkConfig/VpcConfig")
    yield from _kms(fields, policy, "ProcessingResources/ClusterConfig/VolumeKmsKeyId", "ProcessingOutputConfig/KmsKeyId")
    yield from _flag(fields, policy, "network_isolation", "NetworkConfig/EnableNetworkIsolation", "network isolation")
    yield from _flag(fields, policy, "inter_container_encryption", "NetworkConfig/EnableInterContainerTrafficEncryption", "inter-container traffic encryption")


def _training(fields: _Fields, policy: Policy) -> Iterator[tuple[str, str]]:
    yield from _vpc(fields, policy, "VpcConfig")
    yield from _kms(fields, policy, "ResourceConfig/VolumeKmsKeyId", "OutputDataConfig/KmsKeyId")
    yield from _flag(fields, policy, "network_isolation", "EnableNetworkIsolation", "network isolation")
    yield from _flag(fields, policy, "inter_container_encryption", "EnableInterContainerTrafficEncryption", "inter-container traffic encryption")


def _tuning(fields: _Fields, policy: Policy) -> Iterator[tuple[str, str]]:
    nested = _Fields(fields.get("TrainingJobDefinition") or {}, fields.at("TrainingJobDefinition"))
    yield from _training(nested, policy)


def _transform(fields: _Fields, policy: Policy) -> Iterator[tuple[str, str]]:
    # A transform job runs in its model's VPC; what it adds is its volume and output.
    yield from _kms(fields, policy, "TransformResources/VolumeKmsKeyId", "TransformOutput/KmsKeyId")


def _model(fields: _Fields, policy: Policy) -> Iterator[tuple[str, str]]:
    yield from _vpc(fields, policy, "VpcConfig")
    yield from _flag(fields, policy, "network_isolation", "EnableNetworkIsolation", "network isolation")


def _endpoint_config(fields: _Fields, policy: Policy) -> Iterator[tuple[str, str]]:
    yield from _kms(fields, policy, "KmsKeyId")
    if isinstance(fields.get("DataCaptureConfig"), dict):
        yield from _kms(fields, policy, "DataCaptureConfig/KmsKeyId")


_CHECKS: dict[str, Callable[[_Fields, Policy], Iterator[tuple[str, str]]]] = {
    "Processing": _processing,
    "QualityCheck": _processing,
    "ClarifyCheck": _processing,
    "Training": _training,
    "Tuning": _tuning,
    "Transform": _transform,
    "Model": _model,
    "EndpointConfig": _endpoint_config,
}


def refuse_unless_compliant(document: dict[str, Any], policy: Policy, what: str) -> None:
    """Raise a UsageError listing every finding, so nothing non-compliant is upserted."""
    findings = audit(document, policy)
    if findings:
        lines = "\n".join(f"  {finding}" for finding in findings)
        raise UsageError(f"{what} fails the policy ({len(findings)} finding{'s' if len(findings) != 1 else ''}); nothing was upserted:\n{lines}")
