"""A step's ``RetryPolicies``, as SageMaker honours them.

Two kinds, as the SDK writes them (``StepRetryPolicy``, ``SageMakerJobStepRetryPolicy``):
``{"ExceptionType": [...], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 3}`` or
``ExpireAfterMin`` instead of ``MaxAttempts``. A failure whose type a policy names is retried
after ``IntervalSeconds * BackoffRate ** (attempt - 1)`` seconds, until the attempts or the
minutes run out. As on SageMaker, a job that fails by itself (AlgorithmError: the script
exited non-zero; ClientError: bad input) is never retried: only the service's own failures
are. Locally those are the engine's own failures: an unexpected error while running a job is
``SageMaker.JOB_INTERNAL_ERROR``, while running another step ``Step.SERVICE_FAULT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.engine.handlers.base import Problem

STEP_TYPES = ("Step.SERVICE_FAULT", "Step.THROTTLING")
JOB_TYPES = ("SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT")
MAX_ATTEMPTS = 20  # the SDK's MAX_ATTEMPTS_CAP
MAX_EXPIRE_AFTER_MIN = 14400  # the SDK's MAX_EXPIRE_AFTER_MIN


@dataclass(frozen=True)
class Policy:
    exception_types: tuple[str, ...]
    interval_seconds: float = 1.0
    backoff_rate: float = 2.0
    max_attempts: int | None = None
    expire_after_min: float | None = None

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return self.interval_seconds * self.backoff_rate ** (attempt - 1)

    def allows(self, attempts: int, elapsed_seconds: float) -> bool:
        """Whether another attempt may follow ``attempts`` made over ``elapsed_seconds``."""
        if self.max_attempts is not None:
            return attempts < self.max_attempts
        return elapsed_seconds + self.delay(attempts) < (self.expire_after_min or 0) * 60


def parse(step: dict[str, Any], pointer: str, makes_job: bool) -> tuple[list[Policy], list[Problem]]:
    """The step's policies, and what is wrong with them (each with its JSON pointer)."""
    raw = step.get("RetryPolicies")
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [Problem(f"{pointer}/RetryPolicies", "a list of retry policies")]
    policies, problems = [], []
    allowed = STEP_TYPES + (JOB_TYPES if makes_job else ())
    for index, policy in enumerate(raw):
        here = f"{pointer}/RetryPolicies/{index}"
        if not isinstance(policy, dict):
            problems.append(Problem(here, "a retry policy is a JSON object"))
            continue
        types = policy.get("ExceptionType")
        if not isinstance(types, list) or not types:
            problems.append(Problem(f"{here}/ExceptionType", "a non-empty list of exception types"))
            continue
        for position, kind in enumerate(types):
            if kind not in allowed:
                where = "" if makes_job or kind not in JOB_TYPES else " (SageMaker.* types retry jobs; this step runs none)"
                problems.append(Problem(f"{here}/ExceptionType/{position}", f"{kind!r} is not one of {', '.join(allowed)}{where}"))
        attempts, expire = policy.get("MaxAttempts"), policy.get("ExpireAfterMin")
        if (attempts is None) == (expire is None):
            problems.append(Problem(here, "exactly one of MaxAttempts and ExpireAfterMin"))
        elif attempts is not None and not (_number(attempts) and isinstance(attempts, int) and 0 < attempts <= MAX_ATTEMPTS):
            problems.append(Problem(f"{here}/MaxAttempts", f"an integer from 1 to {MAX_ATTEMPTS}, not {attempts!r}"))
        elif expire is not None and not (_number(expire) and 0 < expire <= MAX_EXPIRE_AFTER_MIN):
            problems.append(Problem(f"{here}/ExpireAfterMin", f"minutes from 1 to {MAX_EXPIRE_AFTER_MIN}, not {expire!r}"))
        interval, backoff = policy.get("IntervalSeconds", 1), policy.get("BackoffRate", 2.0)
        for key, value in (("IntervalSeconds", interval), ("BackoffRate", backoff)):
            if not _number(value) or value < 0:
                problems.append(Problem(f"{here}/{key}", f"a number of at least 0, not {value!r}"))
        if not problems:
            policies.append(Policy(tuple(types), float(interval), float(backoff), attempts, expire))
    return policies, problems


def failure_type(failure_reason: str | None, makes_job: bool) -> str | None:
    """The SageMaker exception type of a failure the service itself causes, or None (the job's own)."""
    if failure_reason and failure_reason.startswith("InternalError:"):
        return "SageMaker.JOB_INTERNAL_ERROR" if makes_job else "Step.SERVICE_FAULT"
    return None


def policy_for(policies: list[Policy], kind: str | None) -> Policy | None:
    return next((p for p in policies if kind in p.exception_types), None) if kind else None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
