"""``RegisterModel``: a new version in the local model registry, exactly as the definition says."""

from __future__ import annotations

from typing import Any

from pipelines.engine.handlers.base import SUCCEEDED, Handler, Problem, StepOutcome, StepRun
from pipelines.engine.runtimes import Runtimes
from pipelines.graph import Node
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
        with ModelRegistry(job.home) as registry:
            described = registry.register(str(arguments["ModelPackageGroupName"]), arguments, created_by=f"pipeline:{job.scope.execution.get('PipelineExecutionArn')}")
        job.log.write(f"registered {described['ModelPackageArn']} ({described['ModelApprovalStatus']})\n")
        return StepOutcome(
            SUCCEEDED,
            properties={key: described[key] for key in ("ModelPackageArn", "ModelPackageGroupName", "ModelPackageVersion", "ModelApprovalStatus")} | {"ModelPackageName": described["ModelPackageArn"]},
            detail=f"{described['ModelPackageArn']} {described['ModelApprovalStatus']}",
        )
