"""``RegisterModel``: a new version in the local model registry, exactly as the definition says;
unless the model is byte for byte one a package of the group already serves: then that package
is the step's result, and the step says so, so that a run that trained nothing new (a full cache
hit, a retraining on unchanged data, a reproduction) does not fill the registry with copies."""

from __future__ import annotations

from typing import Any

from pipelines.core.graph import Node
from pipelines.engine.handlers.base import SUCCEEDED, Handler, Problem, StepOutcome, StepRun
from pipelines.engine.runtimes import Runtimes
from pipelines.registry.store import ModelRegistry


class RegisterModelHandler(Handler):
    type = "RegisterModel"
    properties = frozenset({"ModelPackageArn", "ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion", "ModelApprovalStatus"})

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        arguments = node.step.get("Arguments") or {}
        here = f"{node.pointer}/Arguments"
        problems = []
        if not arguments.get("ModelPackageGroupName"):
            problems.append(Problem(f"{here}/ModelPackageGroupName", "required (a versioned package in a group)"))
        if not ((arguments.get("InferenceSpecification") or {}).get("Containers")):
            problems.append(Problem(f"{here}/InferenceSpecification/Containers", "at least one container is required"))
        return problems

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        arn = outcome.properties.get("ModelPackageArn")
        return {"RegisterModel": {"Arn": arn}} if arn else {}

    def run(self, job: StepRun) -> StepOutcome:
        arguments = job.arguments
        group = str(arguments["ModelPackageGroupName"])
        with ModelRegistry(job.home) as registry:
            same = registry.identical(group, arguments)
            if same is None:
                described = registry.register(group, arguments, created_by=f"pipeline:{job.scope.execution.get('PipelineExecutionArn')}")
        if same is not None:
            described = same
            detail = f"{described['ModelPackageArn']} {described['ModelApprovalStatus']}: the model is byte for byte this registered package's; not registered again"
        else:
            detail = f"{described['ModelPackageArn']} {described['ModelApprovalStatus']}"
        job.log.write(f"{detail}\n" if same is not None else f"registered {detail}\n")
        return StepOutcome(
            SUCCEEDED,
            properties={key: described[key] for key in ("ModelPackageArn", "ModelPackageGroupName", "ModelPackageVersion", "ModelApprovalStatus")} | {"ModelPackageName": described["ModelPackageArn"]},
            detail=detail,
        )
