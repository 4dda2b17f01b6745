"""The engine's two seams, used from outside: a new step type is its handler and a line in the
table (cache, validation and lineage ask the handler), and what happens is heard by listeners."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from pipelines.engine.events import Artifact, ExecutionEnded, Listener, StepFinished
from pipelines.engine.handlers import HANDLERS
from pipelines.engine.handlers.base import SUCCEEDED, Handler, StepOutcome, StepRun, artifact
from pipelines.engine.orchestrator import Engine
from pipelines.engine.validation import ValidationError
from pipelines.lineage.store import LineageStore
from pipelines.local.home import Home
from pipelines.runs import local_run

PACKAGE = Path(__file__).resolve().parents[3] / "pipelines"


class Toy(Handler):
    """Writes its Text to its Destination: a job, with an output and a lineage action."""

    type = "Toy"
    properties = frozenset({"Output"})
    cache_fields = ("Text", "Destination")
    makes_job = True
    action = "ToyJob"

    def artifacts(self, arguments: dict[str, Any], properties: dict[str, Any]) -> list[Artifact]:
        return artifact("out", "DataSet", "out", properties.get("Output"))

    def run(self, job: StepRun) -> StepOutcome:
        uri = f"{job.arguments['Destination']}/toy.txt"
        job.store.path(uri).parent.mkdir(parents=True, exist_ok=True)
        job.store.path(uri).write_text(job.arguments["Text"])
        return StepOutcome(SUCCEEDED, properties={"Output": uri})


class Heard(Listener):
    def __init__(self) -> None:
        self.steps: list[StepFinished] = []
        self.ended: list[ExecutionEnded] = []

    def step_finished(self, event: StepFinished) -> None:
        self.steps.append(event)

    def execution_ended(self, event: ExecutionEnded) -> None:
        self.ended.append(event)


def toy_definition(reader_path: str = "Output") -> dict[str, Any]:
    toy = {"Name": "T", "Type": "Toy", "Arguments": {"Text": "hello", "Destination": "s3://b/toy"}, "CacheConfig": {"Enabled": True, "ExpireAfter": "PT1H"}}
    reader = {"Name": "Check", "Type": "Condition", "Arguments": {"Conditions": [{"Type": "Equals", "LeftValue": {"Get": f"Steps.T.{reader_path}"}, "RightValue": "s3://b/toy/toy.txt"}], "IfSteps": [], "ElseSteps": []}}
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [toy, reader]}


def test_a_new_step_type_is_its_handler_and_a_line_in_the_table(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    heard = Heard()
    engine = Engine(home, handlers={**HANDLERS, "Toy": Toy()}, listeners=[local_run.LineageListener(home), heard])
    first = engine.run(toy_definition(), "Toys", {})
    assert first.status == "Succeeded", first.failure_reason
    assert [s.detail for s in first.steps if s.name == "Check"] == ["'s3://b/toy/toy.txt' Equals 's3://b/toy/toy.txt': true"]
    # The cache asks the handler what the step wrote: there, a hit; gone, a miss.
    assert [s.cached for s in engine.run(toy_definition(), "Toys", {}).steps if s.name == "T"] == [True]
    home.objects().path("s3://b/toy/toy.txt").unlink()
    assert [s.cached for s in engine.run(toy_definition(), "Toys", {}).steps if s.name == "T"] == [False]
    # Listeners heard it, with the handler's artifacts and action; lineage recorded the job.
    toy_events = [e for e in heard.steps if e.step == "T"]
    assert [e.action for e in toy_events] == ["ToyJob"] * 3
    assert toy_events[0].artifacts == [Artifact("out", "DataSet", "out", "s3://b/toy/toy.txt")]
    assert [e.status for e in heard.ended] == ["Succeeded"] * 3
    with LineageStore(home) as store:
        assert len(store.find("action", "ToyJob")) == 3  # one per execution
        assert [a["SourceUri"] for a in store.find("artifact", "DataSet")] == ["s3://b/toy/toy.txt"]  # the same content each time
    # Validation asks the handler which properties the step has.
    try:
        engine.run(toy_definition("Nope"), "Toys", {})
    except ValidationError as exc:
        assert "T.Nope: Nope is a property of Toy steps, but the local engine does not produce it; it produces Output" in str(exc)
    else:
        raise AssertionError("a property the handler does not have passed validation")


def imports_of(folder: str) -> set[str]:
    found = set()
    for path in (PACKAGE / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def test_the_engine_calls_nothing_above_it() -> None:
    """The engine records its own state and tells listeners; lineage and experiments listen."""
    engine = {m for m in imports_of("engine") if m.startswith("pipelines.")}
    assert not {m for m in engine if m.startswith(("pipelines.lineage", "pipelines.runs.experiments", "pipelines.cli", "pipelines.runs.local_run"))}, engine
    assert "pipelines.runs.experiments" not in {m for m in engine}


def test_local_state_has_no_upward_imports() -> None:
    local = {m for m in imports_of("local") if m.startswith("pipelines.")}
    assert local <= {"pipelines.core.errors", "pipelines.core.fileio", "pipelines.local.home", "pipelines.local.store", "pipelines.local.database"}, local


def test_no_layer_reaches_into_the_engine() -> None:
    """The registry, the endpoint, the monitor and the lineage stand on local state, not on the engine."""
    for folder in ("registry", "serving", "monitor", "lineage"):
        reaching = {m for m in imports_of(folder) if m.startswith(("pipelines.engine", "pipelines.runs.local_run", "pipelines.monitoring"))}
        assert not reaching, (folder, reaching)


class Flaky(Toy):
    """Fails with an unexpected error (the service's fault, locally) until its attempt number comes."""

    type = "Flaky"

    def __init__(self, succeed_on: int) -> None:
        self.succeed_on, self.calls = succeed_on, 0

    def run(self, job: StepRun) -> StepOutcome:
        self.calls += 1
        if self.calls < self.succeed_on:
            raise RuntimeError(f"lost the instance on attempt {self.calls}")
        return super().run(job)


def flaky_definition(policies: Any) -> dict[str, Any]:
    step = {"Name": "F", "Type": "Flaky", "Arguments": {"Text": "x", "Destination": "s3://b/flaky"}, "RetryPolicies": policies}
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [step]}


def test_retry_policies_retry_what_the_service_causes_and_count_attempts(tmp_path: Path) -> None:
    from pipelines.engine.records import Records

    home = Home.resolve(tmp_path / "home")
    policy = [{"ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"], "IntervalSeconds": 0, "BackoffRate": 2.0, "MaxAttempts": 3}]  # as the SDK renders it
    flaky = Flaky(succeed_on=3)
    result = Engine(home, handlers={**HANDLERS, "Flaky": flaky}).run(flaky_definition(policy), "Retries", {})
    assert result.status == "Succeeded" and flaky.calls == 3
    with Records(home) as records:
        (step,) = records.list_steps(result.execution_id)
    assert step["AttemptCount"] == 3
    assert "attempt 2 failed (InternalError: RuntimeError: lost the instance on attempt 2" in Path(step["LogPath"]).read_text()
    # Out of attempts: the last failure is the step's.
    again = Engine(home, handlers={**HANDLERS, "Flaky": Flaky(succeed_on=5)}).run(flaky_definition(policy), "Retries", {})
    assert again.status == "Failed" and "lost the instance on attempt 3" in (again.failure_reason or "")
    # A failure the policy does not name (Step.THROTTLING only) is not retried.
    throttling = [{"ExceptionType": ["Step.THROTTLING"], "IntervalSeconds": 0, "MaxAttempts": 5}]
    once = Flaky(succeed_on=2)
    assert Engine(home, handlers={**HANDLERS, "Flaky": once}).run(flaky_definition(throttling), "Retries", {}).status == "Failed" and once.calls == 1


def test_retry_policies_as_the_sdk_renders_them_are_checked(tmp_path: Path) -> None:
    from pipelines.build import sdk

    sdk.prepare()
    from sagemaker.mlops.workflow.retry import SageMakerJobExceptionTypeEnum, SageMakerJobStepRetryPolicy, StepExceptionTypeEnum, StepRetryPolicy

    rendered = [
        StepRetryPolicy(exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING], max_attempts=3).to_request(),
        SageMakerJobStepRetryPolicy(exception_types=[SageMakerJobExceptionTypeEnum.CAPACITY_ERROR], expire_after_mins=5).to_request(),
    ]
    engine = Engine(Home.resolve(tmp_path / "home"), handlers={**HANDLERS, "Flaky": Flaky(succeed_on=1)})
    assert engine.run(flaky_definition(rendered), "Retries", {}).status == "Succeeded"
    broken = [{"ExceptionType": ["Step.NOPE"], "MaxAttempts": 50, "ExpireAfterMin": 3}]
    try:
        engine.run(flaky_definition(broken), "Retries", {})
    except ValidationError as exc:
        text = str(exc)
        assert "/Steps/0/RetryPolicies/0/ExceptionType/0: 'Step.NOPE' is not one of" in text
        assert "/Steps/0/RetryPolicies/0: exactly one of MaxAttempts and ExpireAfterMin" in text
    else:
        raise AssertionError("a broken retry policy passed validation")
