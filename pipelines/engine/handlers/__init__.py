"""The table of step handlers, by the step ``Type`` they run.

A type that SageMaker knows but that has no handler yet is refused by validation as "not
supported by the local engine yet".
"""

from __future__ import annotations

from pipelines.engine import properties
from pipelines.engine.handlers.base import Handler
from pipelines.engine.handlers.callback import CallbackHandler
from pipelines.engine.handlers.control import ConditionHandler, FailHandler
from pipelines.engine.handlers.deployment import EndpointConfigHandler, EndpointHandler, ModelHandler
from pipelines.engine.handlers.lambda_function import LambdaHandler
from pipelines.engine.handlers.processing import ProcessingHandler
from pipelines.engine.handlers.quality_check import QualityCheckHandler
from pipelines.engine.handlers.register_model import RegisterModelHandler
from pipelines.engine.handlers.training import TrainingHandler
from pipelines.engine.handlers.transform import TransformHandler
from pipelines.engine.handlers.tuning import TuningHandler

HANDLERS: dict[str, Handler] = {
    handler.type: handler
    for handler in (
        ProcessingHandler(), TrainingHandler(), ConditionHandler(), FailHandler(), QualityCheckHandler(), RegisterModelHandler(),
        ModelHandler(), EndpointConfigHandler(), EndpointHandler(), LambdaHandler(), CallbackHandler(), TransformHandler(), TuningHandler(),
    )
}

# Step types SageMaker Pipelines accepts (their properties: ``properties.py``).
SAGEMAKER_TYPES: frozenset[str] = frozenset(properties.known_types())

__all__ = ["HANDLERS", "SAGEMAKER_TYPES", "Handler"]
