"""The engine's two seams, used from outside: a new step type is its handler and a line in the
table (cache, validation and lineage ask the handler), and what happens is heard by listeners."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from pipelines import local_run
from pipelines.engine.events import Artifact, ExecutionEnded, Listener, StepFinished
from pipelines.engine.handlers import HANDLERS
from pipelines.engine.handlers.base import SUCCEEDED, Handler, StepOutcome, StepRun, artifact
from pipelines.engine.orchestrator import Engine
from pipelines.engine.validation import ValidationError
from pipelines.lineage.store import LineageStore
from pipelines.local.home import Home

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
    assert not {m for m in engine if m.startswith(("pipelines.lineage", "pipelines.experiments", "pipelines.cli", "pipelines.local_run"))}, engine
    assert "pipelines.experiments" not in {m for m in engine}


def test_local_state_has_no_upward_imports() -> None:
    local = {m for m in imports_of("local") if m.startswith("pipelines.")}
    assert local <= {"pipelines.errors", "pipelines.fileio", "pipelines.local.home", "pipelines.local.store", "pipelines.local.database"}, local


def test_no_layer_reaches_into_the_engine() -> None:
    """The registry, the endpoint, the monitor and the lineage stand on local state, not on the engine."""
    for folder in ("registry", "serving", "monitor", "lineage"):
        reaching = {m for m in imports_of(folder) if m.startswith("pipelines.engine")}
        assert not reaching, (folder, reaching)
