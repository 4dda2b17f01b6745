"""Running a pipeline on the local engine: the definition, the commit and the parameters.

Shared by ``mlops run`` and ``run-pipeline --local``. The definition comes from a builder
module (rendered offline with the SDK) or from a JSON file (no SDK involved); the engine only
ever sees the JSON. This is where the engine is wired to what listens to it: the lineage
recorder and the experiment log (``MLOPS_TRACKING``, read here, once).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pipelines.build import definition as definitions
from pipelines.build import parameters, render_cache
from pipelines.core import jsonargs, shapes
from pipelines.core.errors import DefinitionError, UsageError
from pipelines.engine.events import ExecutionEnded, ExecutionStarted, Listener, StepFinished
from pipelines.engine.orchestrator import Engine, ExecutionResult, ProgressCallback, Selective
from pipelines.lineage import recorder as lineage
from pipelines.local.home import Home
from pipelines.runs import commit as commits
from pipelines.runs import experiments

ROOT = Path(__file__).resolve().parents[2]
BUNDLED_DATA = ROOT / "data" / "credit-card-default" / "credit_default.csv"
COMMIT_PARAMETER = "GitCommit"
INPUT_PARAMETER = "InputDataUrl"


def load_definition(module_name: str, kwargs: dict[str, Any], file: Path | None, pipeline_name: str | None) -> tuple[dict[str, Any], str]:
    """The definition and the pipeline's name, from a file or from a builder module."""
    if file is not None:
        try:
            document = jsonargs.loads(Path(file).read_text(), str(file))
        except OSError as exc:
            raise UsageError(f"{file}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise UsageError(f"{file}: not UTF-8 text (byte {exc.start})") from exc
        if not isinstance(document, dict):
            kind = type(document).__name__.replace("str", "string").replace("NoneType", "null")
            raise DefinitionError(f"{file}: a pipeline definition is a JSON object with Version, Parameters and Steps, not a {kind}")
        return document, pipeline_name or name_from_file(Path(file))
    entry = render_cache.key(module_name, kwargs)
    cached = render_cache.lookup(entry)
    if cached is not None:
        return cached[0], pipeline_name or cached[1]
    pipeline = definitions.build(module_name, kwargs)
    document = definitions.render(pipeline)
    render_cache.store(entry, document, pipeline.name)
    return document, pipeline_name or pipeline.name


def name_from_file(file: Path) -> str:
    """A pipeline name from a definition file's name: its stem, with each run of characters a
    PipelineName cannot hold (``_``, ``.``, spaces ...) made one hyphen: ``escape_out.json`` ->
    ``escape-out``. Refused, saying where the name came from, when nothing usable is left."""
    name = re.sub(r"[^a-zA-Z0-9-]+", "-", file.stem).strip("-")
    problem = shapes.name_problem(name, "PipelineName")
    if problem:
        raise UsageError(f"--file {file}: the pipeline's name comes from the file's name, and {problem}; give one with --pipeline-name")
    return name


def local_commit(allow_dirty: bool = True) -> commits.Commit | None:
    """The commit of the working directory, or None outside a repository."""
    try:
        return commits.resolve(".", allow_dirty=allow_dirty)
    except UsageError:
        if not allow_dirty:
            raise
        return None


def run(
    home: Home,
    document: dict[str, Any],
    pipeline_name: str,
    overrides: dict[str, Any],
    commit: commits.Commit | None,
    description: str | None = None,
    max_parallel: int = 2,
    skip: frozenset[str] = frozenset(),
    progress: ProgressCallback | None = None,
    bundled_data: bool = True,
    use_cache: bool = True,
    tracking: str | None = None,
    selective: Selective | None = None,
    display_name: str | None = None,
    execution_id: str | None = None,
) -> ExecutionResult:
    """One execution of ``document``; ``tracking`` (async, sync or off; default ``$MLOPS_TRACKING``)
    says how it is logged to MLflow when it ends; ``selective`` runs only some steps (SageMaker's
    SelectiveExecutionConfig); ``execution_id`` names one recorded already, to run (StartPipelineExecution's)."""
    declared = parameters.declared(document)
    overrides = dict(overrides)
    if COMMIT_PARAMETER in overrides and commit is not None:
        raise UsageError(f"--parameters: {COMMIT_PARAMETER} is set from the commit being run; leave it out")
    if COMMIT_PARAMETER in declared and commit is not None:
        overrides[COMMIT_PARAMETER] = commit.sha
    if bundled_data and INPUT_PARAMETER in declared and INPUT_PARAMETER not in overrides:
        overrides[INPUT_PARAMETER] = str(BUNDLED_DATA)
    parameters.check_overrides(document, overrides)
    listeners = [LineageListener(home), ExperimentsListener(home, tracking or experiments.tracking_mode())]
    engine = Engine(home, max_parallel=max_parallel, progress=progress, use_cache=use_cache, listeners=listeners)
    display_name = display_name or (commit.display_name if commit else None)
    if description is None and commit is not None:
        description = f"{commit.short} {commit.subject or ''}".strip()
    return engine.run(
        document, pipeline_name, overrides, display_name, description, skip=skip, commit=commit.as_dict() if commit else None, selective=selective, execution_id=execution_id,
    )  # fmt: skip


class LineageListener(Listener):
    """The engine's executions and steps into the lineage store."""

    def __init__(self, home: Home) -> None:
        self.home = home

    def execution_started(self, event: ExecutionStarted) -> None:
        lineage.execution_started(self.home, event.arn, event.pipeline, event.parameters, event.commit, event.display_name)

    def step_finished(self, event: StepFinished) -> None:
        artifacts = [(a.direction, a.kind, a.name, a.uri) for a in event.artifacts]
        lineage.step_finished(self.home, event.execution_arn, event.step, event.action, event.arguments, event.properties, event.detail, event.cached_from, artifacts)

    def execution_ended(self, event: ExecutionEnded) -> None:
        lineage.execution_ended(self.home, event.arn, event.status, event.failure_reason)


class ExperimentsListener(Listener):
    """Each ended execution logged as an MLflow run (``experiments.py``), as ``mode`` says."""

    def __init__(self, home: Home, mode: str) -> None:
        self.home, self.mode = home, mode

    def execution_ended(self, event: ExecutionEnded) -> None:
        experiments.after_execution(self.home, event.execution_id, self.mode)
