"""What the engine tells those who listen: an execution started, a step finished, it ended.

The engine records its own state (``records.py``) and calls nothing above it. Whoever runs it
(``local_run``) passes listeners: the lineage recorder and the experiment logger listen there.
A listener overrides the methods it needs; one that fails is logged and never fails the
execution it listens to.

A finished step carries what its handler says it read and wrote (``Artifact``) and which
lineage action its job is, so a listener never needs to know step types.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    """One thing a step read (``in``) or wrote (``out``): a data set, code, a model, a baseline."""

    direction: str  # "in" or "out"
    kind: str  # lineage's artifact type: DataSet, Code, Model, Baseline
    name: str  # the input's or output's name in the step
    uri: str


@dataclass(frozen=True)
class ExecutionStarted:
    execution_id: str
    arn: str
    pipeline: str
    parameters: dict[str, Any]
    commit: dict[str, Any] | None
    display_name: str | None


@dataclass(frozen=True)
class StepFinished:
    """A step that Succeeded, fresh or from the cache."""

    execution_arn: str
    step: str
    type: str
    arguments: dict[str, Any]
    properties: dict[str, Any]
    detail: str | None
    cached_from: str | None
    action: str | None  # the lineage action its job is (TrainingJob, ...), None for control steps
    artifacts: list[Artifact] = field(default_factory=list)


@dataclass(frozen=True)
class ExecutionEnded:
    execution_id: str
    arn: str
    status: str
    failure_reason: str | None


class Listener:
    """Hears about executions; every method does nothing unless overridden."""

    def execution_started(self, event: ExecutionStarted) -> None:
        pass

    def step_finished(self, event: StepFinished) -> None:
        pass

    def execution_ended(self, event: ExecutionEnded) -> None:
        pass


def tell(listeners: Sequence[Listener], method: str, event: object) -> None:
    """Call ``method`` on every listener with ``event``; a listener's failure is only logged."""
    for listener in listeners:
        try:
            getattr(listener, method)(event)
        except Exception:  # noqa: BLE001 - listening must never break the execution
            logger.exception("%s.%s failed", type(listener).__name__, method)
