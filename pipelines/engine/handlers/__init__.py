"""The table of step handlers, by the step ``Type`` they run.

Later parts of the local twin (the monitor's QualityCheck, the registry's RegisterModel, the
endpoint's Model/EndpointConfig/Endpoint) add their handler here. A type that SageMaker knows
but that has no handler yet is refused by validation as "not supported by the local engine yet".
"""

from __future__ import annotations

from pipelines.engine.handlers.base import Handler
from pipelines.engine.handlers.control import ConditionHandler, FailHandler
from pipelines.engine.handlers.deployment import EndpointConfigHandler, EndpointHandler, ModelHandler
from pipelines.engine.handlers.processing import ProcessingHandler
from pipelines.engine.handlers.quality_check import QualityCheckHandler
from pipelines.engine.handlers.register_model import RegisterModelHandler
from pipelines.engine.handlers.training import TrainingHandler

HANDLERS: dict[str, Handler] = {
    handler.type: handler
    for handler in (
        ProcessingHandler(), TrainingHandler(), ConditionHandler(), FailHandler(), QualityCheckHandler(), RegisterModelHandler(),
        ModelHandler(), EndpointConfigHandler(), EndpointHandler(),
    )
}

# Step types SageMaker Pipelines accepts, and the first tokens of each one's properties.
SAGEMAKER_TYPES: dict[str, frozenset[str]] = {
    "Processing": frozenset(),
    "Training": frozenset(),
    "Condition": frozenset({"Outcome"}),
    "Fail": frozenset(),
    "QualityCheck": frozenset({"CalculatedBaselineStatistics", "CalculatedBaselineConstraints", "BaselineUsedForDriftCheckStatistics", "BaselineUsedForDriftCheckConstraints"}),
    "ClarifyCheck": frozenset({"CalculatedBaselineConstraints", "BaselineUsedForDriftCheckConstraints"}),
    "RegisterModel": frozenset({"ModelPackageArn", "ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion", "ModelApprovalStatus"}),
    "Model": frozenset({"ModelName", "ModelArn", "PrimaryContainer"}),
    "CreateModel": frozenset({"ModelName", "ModelArn"}),
    "EndpointConfig": frozenset({"EndpointConfigName", "EndpointConfigArn"}),
    "Endpoint": frozenset({"EndpointName", "EndpointArn", "EndpointStatus"}),
    "Transform": frozenset({"TransformJobName", "TransformOutput"}),
    "Tuning": frozenset({"TrainingJobSummaries", "BestTrainingJob"}),
    "Lambda": frozenset({"OutputParameters"}),
    "Callback": frozenset({"OutputParameters"}),
    "EMR": frozenset({"ClusterId"}),
    "AutoML": frozenset({"BestCandidate"}),
    "Notebook": frozenset(),
}

__all__ = ["HANDLERS", "SAGEMAKER_TYPES", "Handler"]
