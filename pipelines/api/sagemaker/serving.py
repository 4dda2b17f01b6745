"""Models, endpoint configs and endpoints, over the endpoint store ``mlops serve`` follows."""

from __future__ import annotations

from typing import Any

from pipelines.api.protocol import ApiError
from pipelines.api.sagemaker.operations import operation, ordered, page
from pipelines.core.errors import MlopsError
from pipelines.local.home import Home
from pipelines.serving import deploy
from pipelines.serving.endpoints import EndpointStore


@operation
def create_model(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with EndpointStore(home) as store:
        return {"ModelArn": store.create_model(params["ModelName"], params)["ModelArn"]}


@operation
def describe_model(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with EndpointStore(home) as store:
        return store.describe_model(params["ModelName"])


@operation
def delete_model(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with EndpointStore(home) as store:
        store.delete_model(params["ModelName"])
    return {}


@operation
def create_endpoint_config(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with EndpointStore(home) as store:
        return {"EndpointConfigArn": store.create_endpoint_config(params["EndpointConfigName"], params)["EndpointConfigArn"]}


@operation
def describe_endpoint_config(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with EndpointStore(home) as store:
        return store.describe_endpoint_config(params["EndpointConfigName"])


@operation
def delete_endpoint_config(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with EndpointStore(home) as store:
        store.delete_endpoint_config(params["EndpointConfigName"])
    return {}


@operation
def create_endpoint(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    """CreateEndpoint: served by ``mlops serve`` once its model loads (the server follows the
    store); a model that does not load leaves the endpoint Failed, with the reason."""
    name = params["EndpointName"]
    with EndpointStore(home) as store:
        try:
            store.describe_endpoint(name)
        except MlopsError:
            pass
        else:
            raise ApiError("ValidationException", f"Cannot create already existing endpoint \"{store.arn('endpoint', name)}\".")
    return {"EndpointArn": deploy.activate(home, name, params["EndpointConfigName"], params.get("Tags"))["EndpointArn"]}


@operation
def update_endpoint(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with EndpointStore(home) as store:
        store.describe_endpoint(params["EndpointName"])
    return {"EndpointArn": deploy.activate(home, params["EndpointName"], params["EndpointConfigName"])["EndpointArn"]}


@operation
def describe_endpoint(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with EndpointStore(home) as store:
        return store.describe_endpoint(params["EndpointName"])


@operation
def list_endpoints(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with EndpointStore(home) as store:
        endpoints = store.list_endpoints()
    if params.get("NameContains"):
        endpoints = [e for e in endpoints if params["NameContains"].lower() in e["EndpointName"].lower()]
    return page(ordered(endpoints, params, stored="Ascending"), params, "Endpoints")


@operation
def delete_endpoint(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    with EndpointStore(home) as store:
        store.delete_endpoint(params["EndpointName"])
    return {}
