"""SageMaker images (the custom images a domain registers): the twin keeps none.

Builders look an image up first and fall back to a built-in one when SageMaker answers
``ResourceNotFound`` (AWS's CDK project template does, for each of its three images), so the
twin answers exactly that, naming the image, and lists no images."""

from __future__ import annotations

from typing import Any

from pipelines.api.protocol import ApiError
from pipelines.api.sagemaker.operations import operation, page
from pipelines.local.home import Home


@operation
def describe_image_version(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    which = f" version {params['Version']}" if params.get("Version") else f" alias {params['Alias']}" if params.get("Alias") else ""
    raise ApiError("ResourceNotFound", f"ImageVersion arn:aws:sagemaker:{home.region}:{home.account}:image-version/{params['ImageName']}{which} does not exist: the local twin keeps no custom SageMaker images; jobs name their image's URI")


@operation
def list_images(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return page([], params, "Images")
