"""Network and encryption settings for every job, model and endpoint a pipeline creates.

The workshop this project comes from runs every job in a VPC without internet access, with a
customer KMS key for volumes and outputs. ``get_pipeline`` takes those settings as keyword
arguments, or from an environment file like the workshop's (JSON, or ``KEY=VALUE`` lines):

    SubnetIds=subnet-0a1b2c,subnet-3d4e5f
    SecurityGroupIds=sg-0123456789
    KmsKeyArn=arn:aws:kms:eu-west-1:111122223333:key/...
    NetworkIsolation=true                 (optional)
    EncryptInterContainerTraffic=true     (optional)
    DataBucket=..., ModelBucket=..., VpcId=...   (read, for the record)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.core.errors import UsageError

_KEYS = {
    "subnetids": "subnets",
    "subnets": "subnets",
    "securitygroupids": "security_group_ids",
    "securitygroups": "security_group_ids",
    "kmskeyarn": "kms_key",
    "kmskeyid": "kms_key",
    "kmskey": "kms_key",
    "networkisolation": "network_isolation",
    "encryptintercontainertraffic": "encrypt_inter_container_traffic",
    "databucket": "data_bucket",
    "modelbucket": "model_bucket",
    "vpcid": "vpc_id",
}


@dataclass(frozen=True)
class Security:
    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    network_isolation: bool = False
    encrypt_inter_container_traffic: bool = False
    kms_key: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def vpc(self) -> bool:
        return bool(self.subnets and self.security_group_ids)

    @classmethod
    def resolve(
        cls,
        subnets: list[str] | str | None = None,
        security_group_ids: list[str] | str | None = None,
        network_isolation: bool = False,
        encrypt_inter_container_traffic: bool = False,
        kms_key: str | None = None,
        environment_file: str | None = None,
    ) -> "Security":
        """Keyword arguments win over the environment file; subnets and groups come together."""
        values: dict[str, Any] = read_environment_file(environment_file) if environment_file else {}
        for name, value in (("subnets", subnets), ("security_group_ids", security_group_ids), ("kms_key", kms_key)):
            if value:
                values[name] = value
        if network_isolation:
            values["network_isolation"] = True
        if encrypt_inter_container_traffic:
            values["encrypt_inter_container_traffic"] = True
        nets, groups = _list(values.get("subnets")), _list(values.get("security_group_ids"))
        if bool(nets) != bool(groups):
            raise UsageError("give subnets and security group ids together (a VPC configuration needs both)")
        return cls(
            subnets=nets,
            security_group_ids=groups,
            network_isolation=_bool(values.get("network_isolation")),
            encrypt_inter_container_traffic=_bool(values.get("encrypt_inter_container_traffic")),
            kms_key=values.get("kms_key") or None,
            extra={k: str(v) for k, v in values.items() if k in ("data_bucket", "model_bucket", "vpc_id")},
        )


def read_environment_file(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"environment_file {path} does not exist")
    text = file.read_text()
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise UsageError(f"{path}: expected a JSON object or KEY=VALUE lines")
    except json.JSONDecodeError:
        raw = {}
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "=" not in line:
                raise UsageError(f"{path} line {number}: expected KEY=VALUE") from None
            key, value = line.split("=", 1)
            raw[key.strip().removeprefix("export ").strip()] = value.strip().strip('"').strip("'")
    values = {}
    for key, value in raw.items():
        name = _KEYS.get(key.replace("_", "").replace("-", "").lower())
        if name is None:
            raise UsageError(f"{path}: unknown setting {key!r}; known: SubnetIds, SecurityGroupIds, KmsKeyArn, NetworkIsolation, EncryptInterContainerTraffic, DataBucket, ModelBucket, VpcId")
        values[name] = value
    return values


def _list(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(v) for v in value)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)
