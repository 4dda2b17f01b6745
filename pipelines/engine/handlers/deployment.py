"""``Model``, ``EndpointConfig`` and ``Endpoint``: the pipeline's conditional deployment.

They call the same functions as ``mlops deploy`` (``pipelines.serving.deploy``), with what the
definition says. The Model step's name is generated, as SageMaker does for a pipeline's model.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from pipelines.core.graph import Node
from pipelines.engine.handlers.base import FAILED, SUCCEEDED, Handler, Problem, StepOutcome, StepRun
from pipelines.engine.runtimes import XGBOOST_ALGORITHM, Runtimes
from pipelines.serving import deploy


class ModelHandler(Handler):
    type = "Model"
    properties = frozenset({"ModelName", "ModelArn", "PrimaryContainer", "ExecutionRoleArn"})
    action = "CreateModel"

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        arn = outcome.properties.get("ModelArn")
        return {"Model": {"Arn": arn}} if arn else {}

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        container = (node.step.get("Arguments") or {}).get("PrimaryContainer") or {}
        image = container.get("Image")
        if not isinstance(image, str) or not XGBOOST_ALGORITHM.match(image):
            return [Problem(f"{node.pointer}/Arguments/PrimaryContainer/Image", f"only the built-in XGBoost container (sagemaker-xgboost:1.x-y) serves locally, not {image!r}")]
        return []

    def run(self, job: StepRun) -> StepOutcome:
        execution = str(job.scope.execution.get("PipelineExecutionId", "local"))
        name = re.sub(r"[^a-zA-Z0-9-]", "-", f"pipelines-{execution}-{job.name}-{secrets.token_hex(3)}")[:63].strip("-")
        described = deploy.create_model(job.home, name, job.arguments)
        job.log.write(f"model {name}: {described['PrimaryContainer'].get('ModelDataUrl')}\n")
        return StepOutcome(SUCCEEDED, properties=described, detail=name)


class EndpointConfigHandler(Handler):
    type = "EndpointConfig"
    properties = frozenset({"EndpointConfigName", "EndpointConfigArn", "ProductionVariants", "DataCaptureConfig"})
    action = "CreateEndpointConfig"

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        arn = outcome.properties.get("EndpointConfigArn")
        return {"EndpointConfig": {"Arn": arn}} if arn else {}

    def run(self, job: StepRun) -> StepOutcome:
        name = str(job.arguments.get("EndpointConfigName"))
        described = deploy.create_endpoint_config(job.home, name, job.arguments)
        capture = described.get("DataCaptureConfig") or {}
        job.log.write(f"endpoint config {name}: capture {capture.get('InitialSamplingPercentage', 0)}% to {capture.get('DestinationS3Uri')}\n")
        return StepOutcome(SUCCEEDED, properties=described, detail=name)


class EndpointHandler(Handler):
    type = "Endpoint"
    properties = frozenset({"EndpointName", "EndpointArn", "EndpointStatus", "EndpointConfigName"})
    action = "Deployment"

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        arn = outcome.properties.get("EndpointArn")
        return {"Endpoint": {"Arn": arn}} if arn else {}

    def run(self, job: StepRun) -> StepOutcome:
        name, config = str(job.arguments.get("EndpointName")), str(job.arguments.get("EndpointConfigName"))
        described = deploy.activate(job.home, name, config, job.arguments.get("Tags") or [])
        if described.get("EndpointConfigName") != config:
            return StepOutcome(FAILED, failure_reason=f"ClientError: endpoint {name} did not move to {config}: {described.get('FailureReason')}", properties=described)
        job.log.write(f"endpoint {name}: {described['EndpointStatus']} on {config}\n")
        return StepOutcome(SUCCEEDED, properties=described, detail=f"{name} {described['EndpointStatus']}")
