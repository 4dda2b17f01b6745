"""What every step handler receives and returns.

A handler is registered by the step ``Type`` it runs (``handlers/__init__.py``). The
orchestrator resolves the step's arguments, gives the handler a :class:`StepRun` and records
the :class:`StepOutcome` it returns. Statuses use SageMaker's words. A job that fails returns
``Failed`` with a reason; a request a store refuses (``UsageError`` and its kinds) may simply be
raised: the orchestrator fails the step with ``<aws_code>: message``, as SageMaker would word
it. Any other exception is a bug.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TextIO

from pipelines.core.graph import Node
from pipelines.engine.events import Artifact
from pipelines.engine.expressions import Scope
from pipelines.engine.runtimes import Runtimes
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore

SUCCEEDED = "Succeeded"
FAILED = "Failed"
STOPPED = "Stopped"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, where it is."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer}: {self.message}" if self.pointer else self.message


def artifact(direction: str, kind: str, name: object, uri: object) -> list[Artifact]:
    """``[Artifact]``, or nothing when ``uri`` is not a string (an input with no S3 URI)."""
    return [Artifact(direction, kind, str(name), uri)] if isinstance(uri, str) and uri else []


@dataclass
class StepRun:
    node: Node
    arguments: dict[str, Any]  # resolved
    scope: Scope
    store: ObjectStore
    runtimes: Runtimes
    job_name: str
    job_dir: Path
    log: TextIO
    region: str
    account: str
    cancel: threading.Event
    home: Home

    @property
    def name(self) -> str:
        return self.node.name

    def arn(self, resource: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{resource}/{self.job_name}"


@dataclass
class StepOutcome:
    status: str
    properties: dict[str, Any] = field(default_factory=dict)
    failure_reason: str | None = None
    branch: bool | None = None  # a Condition's outcome
    execution_failure: str | None = None  # a Fail step's message, which ends the execution
    detail: str | None = None  # one line for people: what a condition compared, a job's final metrics
    metadata: dict[str, Any] | None = None  # the step's Metadata, when only the run knows it (QualityCheck)


class Handler:
    """Base class: one subclass per step type."""

    type: ClassVar[str]
    # First token of every property path a later step may read, e.g. "ModelArtifacts".
    properties: ClassVar[frozenset[str]] = frozenset()
    # Fields of the resolved arguments that make up the cache key (SageMaker's list per type).
    cache_fields: ClassVar[tuple[str, ...]] = ()
    makes_job: ClassVar[bool] = False
    # The lineage action a job of this type is (a SageMaker ActionType), None for control steps.
    action: ClassVar[str | None] = None

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        return []

    def check_property(self, node: Node, tokens: list[str | int]) -> str | None:
        """None when this handler produces the property ``tokens`` names, else why not (validation
        has already checked the path against SageMaker's shapes, ``properties.py``)."""
        if not tokens or tokens[0] not in self.properties:
            return f"{tokens[0] if tokens else ''} is a property of {self.type} steps, but the local engine does not produce it; it produces {', '.join(sorted(self.properties))}"
        return None

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        """ListPipelineExecutionSteps' ``Metadata`` of a run of this type (botocore's
        PipelineExecutionStepMetadata: ``{"TrainingJob": {"Arn": ...}}``, ...)."""
        return {}

    def detail(self, properties: dict[str, Any]) -> str | None:
        """One line for people about a finished step (fresh or from the cache)."""
        return None

    def artifacts(self, arguments: dict[str, Any], properties: dict[str, Any]) -> list[Artifact]:
        """What a run with these (resolved) arguments read and wrote. The cache checks that the
        outputs are still there, the cache key covers the inputs' content, lineage records both."""
        return []

    def cache_inputs(self, arguments: dict[str, Any]) -> list[str]:
        """URIs or paths whose content the cache key covers: what the step reads."""
        return [item.uri for item in self.artifacts(arguments, {}) if item.direction == "in"]

    def run(self, job: StepRun) -> StepOutcome:
        raise NotImplementedError


def job_name(execution_id: str, step: str, suffix: str) -> str:
    """``pipelines-<execution>-<step>-<suffix>``, within SageMaker's 63 characters."""
    clean = re.sub(r"[^A-Za-z0-9-]", "-", step)[:20].strip("-") or "step"
    return f"pipelines-{execution_id}-{clean}-{suffix}"[:63].rstrip("-").lower()
