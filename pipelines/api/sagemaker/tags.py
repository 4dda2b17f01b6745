"""Tags on any ARN (AddTags, ListTags, DeleteTags)."""

from __future__ import annotations

from typing import Any

from pipelines.api.sagemaker.operations import operation, page
from pipelines.api.store import ApiStore
from pipelines.local.home import Home


@operation
def add_tags(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        store.add_tags(params["ResourceArn"], params["Tags"])
        return {"Tags": store.tags(params["ResourceArn"])}


@operation
def list_tags(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        return page(store.tags(params["ResourceArn"]), params, "Tags")


@operation
def delete_tags(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with ApiStore(home) as store:
        store.delete_tags(params["ResourceArn"], params["TagKeys"])
    return {}
