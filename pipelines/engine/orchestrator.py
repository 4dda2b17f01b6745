"""Run one execution of a definition: schedule steps, call their handlers, record everything.

A step starts when every step it waits for (DependsOn, data references, its condition) has
Succeeded, up to ``max_parallel`` at once. A condition's untaken branch never runs (and is not
listed, as in SageMaker). When a step fails, nothing new starts, running steps finish, and
the execution ends Failed with that step's reason. Ctrl-C (KeyboardInterrupt) stops running
jobs, publishes nothing of theirs, and ends the execution Stopped.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import string
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Sequence

from pipelines.build import code_assets
from pipelines.build import parameters as parameter_values
from pipelines.core import shapes
from pipelines.core.errors import UsageError, disk_full
from pipelines.core.graph import Node
from pipelines.engine import cache, events, retries, runner
from pipelines.engine.expressions import ExpressionError, Scope
from pipelines.engine.handlers import HANDLERS
from pipelines.engine.handlers.base import FAILED, STOPPED, SUCCEEDED, Handler, StepOutcome, StepRun, job_name
from pipelines.engine.records import Records
from pipelines.engine.runtimes import Runtimes
from pipelines.engine.validation import validate
from pipelines.local.database import now
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore

SANDBOX = re.compile(r"pipelines-([a-z0-9]{12})-")  # job_name's form: the execution it belongs to
OMITTED = "omitted"  # a step left out on request, or one that needs such a step: recorded Stopped
ProgressCallback = Callable[[str, str, dict[str, Any]], None]


@dataclass
class StepSummary:
    name: str
    type: str
    status: str
    seconds: float = 0.0
    cached: bool = False
    failure_reason: str | None = None
    log_path: str | None = None
    detail: str | None = None


@dataclass
class ExecutionResult:
    execution_id: str
    arn: str
    status: str
    failure_reason: str | None
    steps: list[StepSummary] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"PipelineExecutionArn": self.arn, "PipelineExecutionStatus": self.status}
        if self.failure_reason:
            result["FailureReason"] = self.failure_reason
        result["Steps"] = [
            {
                k: v
                for k, v in {"StepName": s.name, "StepType": s.type, "StepStatus": s.status, "Seconds": round(s.seconds, 3), "CacheHit": s.cached, "FailureReason": s.failure_reason, "Detail": s.detail, "LogPath": s.log_path}.items()
                if v is not None
            }
            for s in self.steps
        ]
        return result


class Engine:
    def __init__(
        self,
        home: Home,
        handlers: dict[str, Handler] | None = None,
        max_parallel: int = 2,
        progress: ProgressCallback | None = None,
        use_cache: bool = True,
        listeners: Sequence[events.Listener] = (),
    ) -> None:
        """``listeners`` hear of every execution's start, finished steps and end (``events.py``)."""
        self.home = home
        self.listeners = tuple(listeners)
        self.use_cache = use_cache
        self.handlers = handlers if handlers is not None else HANDLERS
        self.max_parallel = max(1, max_parallel)
        self.progress = progress or (lambda name, status, info: None)
        self.store = ObjectStore(home.store)
        self.runtimes = Runtimes.load(home.images)

    def run(
        self,
        definition: dict[str, Any],
        pipeline_name: str,
        overrides: dict[str, Any] | None = None,
        display_name: str | None = None,
        description: str | None = None,
        skip: frozenset[str] = frozenset(),
        commit: dict[str, Any] | None = None,
        selective: Selective | None = None,
        execution_id: str | None = None,
    ) -> ExecutionResult:
        """Validate, then execute to the end; the result says how it ended.

        ``skip`` names steps to leave out (a type the local engine cannot run must be named here,
        or validation refuses the definition). They, and the steps that need them, are recorded
        Stopped with the reason, and the execution ends Stopped, never Succeeded: work that was
        not done is never reported done. ``commit`` (sha, author, date, subject, branch, remote,
        dirty) is handed to the listeners as what started the execution. ``selective`` runs only
        the steps it names, the others' results taken from its source execution, as SageMaker's
        SelectiveExecutionConfig does.
        """
        problem = shapes.name_problem(pipeline_name, "PipelineName")
        if problem:
            raise UsageError(f"pipeline name: {problem}")
        nodes = validate(definition, self.runtimes, self.handlers, skip=skip)
        reused = selective.reuse(self.home, nodes, pipeline_name) if selective else None
        values = parameter_values.resolved(definition, overrides or {})
        for asset in code_assets.find(definition):
            if self.store.digest(asset.uri) != self.store.digest(str(asset.path)):
                self.store.put_file(asset.path, asset.uri)
        adopted = execution_id is not None  # recorded already, by whoever started it (StartPipelineExecution)
        execution_id = execution_id or new_execution_id()
        arn = self.home.arn("pipeline", f"{pipeline_name.lower()}/execution/{execution_id}")
        records = Records(self.home)
        try:
            if adopted:
                records.adopt_execution(execution_id)
            records.settle_abandoned()
            sweep_sandboxes(self.home, records)
            if not adopted:
                records.create_execution(execution_id, arn, pipeline_name, display_name, description, values, definition, selective.config(self.home) if selective else None)
            try:
                with runner.stop_on_sigterm():
                    events.tell(self.listeners, "execution_started", events.ExecutionStarted(execution_id, arn, pipeline_name, values, commit, display_name))
                    run = _Execution(self, records, nodes, values, execution_id, arn, pipeline_name, skip, reused)
                    result = run.execute()
            except BaseException as exc:
                # Whatever ends this process here (SIGTERM or Ctrl-C outside the step loop, a full
                # disk, a bug), the execution does not stay Executing.
                status = "Stopped" if isinstance(exc, KeyboardInterrupt) else "Failed"
                reason = str(exc) if isinstance(exc, runner.Terminated) else f"{type(exc).__name__}: {exc}"
                with contextlib.suppress(Exception):
                    records.end_execution(execution_id, status, reason)
                events.tell(self.listeners, "execution_ended", events.ExecutionEnded(execution_id, arn, status, reason))
                raise
            events.tell(self.listeners, "execution_ended", events.ExecutionEnded(execution_id, arn, result.status, result.failure_reason))
            return result
        finally:
            records.close()


def new_execution_id() -> str:
    """Twelve lowercase letters and digits, as SageMaker's execution ids are."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))


@dataclass(frozen=True)
class Reused:
    """A step's result taken from a selective execution's source execution."""

    properties: dict[str, Any]
    metadata: dict[str, Any]
    source_arn: str


@dataclass(frozen=True)
class Selective:
    """SelectiveExecutionConfig: run ``steps``; the others' results come from ``source``."""

    source: str  # an execution id or ARN under the same home
    steps: tuple[str, ...]

    def config(self, home: Home) -> dict[str, Any]:
        with Records(home) as records:
            arn = records.describe_execution(self.source)["PipelineExecutionArn"]
        return {"SourcePipelineExecutionArn": arn, "SelectedSteps": [{"StepName": name} for name in self.steps]}

    def reuse(self, home: Home, nodes: list[Node], pipeline_name: str) -> dict[str, Reused | None]:
        """For each step not selected: its result in the source execution (None: it did not
        succeed there). Refused, naming the step, when a selected step needs one that did not."""
        names = {node.name for node in nodes}
        unknown = [name for name in self.steps if name not in names]
        if unknown or not self.steps:
            raise UsageError(f"--steps: {', '.join(unknown) or 'none given'}: the definition's steps are {', '.join(sorted(names))}")
        with Records(home) as records:
            source = records.describe_execution(self.source)
            if records.pipeline_of(self.source) != pipeline_name:
                raise UsageError(f"--from-execution {self.source} is an execution of {records.pipeline_of(self.source)}, not of {pipeline_name}")
            if source["PipelineExecutionStatus"] == "Executing":
                raise UsageError(f"--from-execution {self.source} is still Executing")
            rows = records.step_rows(source["PipelineExecutionArn"].rsplit("/", 1)[1])
        reused: dict[str, Reused | None] = {}
        for node in nodes:
            if node.name in self.steps:
                continue
            row = rows.get(node.name)
            reused[node.name] = Reused(row["properties"], row["metadata"], source["PipelineExecutionArn"]) if row and row["status"] == SUCCEEDED else None
        for node in nodes:
            if node.name in self.steps:
                missing = [u for u in node.upstream if u in reused and reused[u] is None]
                if missing:
                    raise UsageError(f"--steps: {node.name} needs {', '.join(missing)}, which did not succeed in {source['PipelineExecutionArn']}: select it too")
        return reused


class _Execution:
    def __init__(
        self, engine: Engine, records: Records, nodes: list[Node], values: dict[str, Any], execution_id: str, arn: str, pipeline_name: str,
        skip: frozenset[str], reused: dict[str, Reused | None] | None = None,
    ) -> None:  # fmt: skip
        self.engine = engine
        self.skip = skip
        self.reused = reused  # None: not a selective execution
        self.records = records
        self.nodes = {node.name: node for node in nodes}
        self.order = [node.name for node in nodes]
        self.execution_id = execution_id
        self.arn = arn
        self.directory = engine.home.execution_dir(execution_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.cancel = threading.Event()
        self.started = time.monotonic()
        self.scope = Scope(
            parameters=values,
            execution={
                "PipelineExecutionId": execution_id,
                "PipelineExecutionArn": arn,
                "PipelineName": pipeline_name,
                "StartDateTime": datetime.now(timezone.utc).isoformat(),
            },
            property_files={n.name: {f["PropertyFileName"]: f for f in n.step.get("PropertyFiles") or []} for n in nodes},
            read_text=lambda uri: engine.store.path(uri).read_text(),
        )
        self.state: dict[str, str] = {name: "pending" for name in self.order}
        self.outcomes: dict[str, bool] = {}  # condition -> outcome
        self.summaries: dict[str, StepSummary] = {}

    # -- scheduling -------------------------------------------------------------------------
    def execute(self) -> ExecutionResult:
        status, failure = "Succeeded", None
        futures: dict[Future[StepOutcome], str] = {}
        stopping = False
        with ThreadPoolExecutor(max_workers=self.engine.max_parallel, thread_name_prefix="step") as pool, self._cancel_on_error():
            while True:
                try:
                    if not stopping:  # only into free slots: a step waiting for one has not started
                        for name in self._ready(self.engine.max_parallel - len(futures)):
                            futures[pool.submit(self._run_step, self.nodes[name])] = name
                    if not futures:
                        break
                    done, _ = wait(futures, timeout=0.25, return_when=FIRST_COMPLETED)
                    for future in done:
                        name = futures.pop(future)
                        outcome = future.result()
                        self.state[name] = outcome.status
                        if outcome.status == SUCCEEDED:
                            self.scope.properties[name] = outcome.properties
                            if outcome.branch is not None:
                                self.outcomes[name] = outcome.branch
                        elif status == "Succeeded":
                            stopping = True
                            status = "Stopped" if outcome.status == STOPPED else "Failed"
                            failure = outcome.execution_failure or f"Step {name} failed: {outcome.failure_reason}"
                except KeyboardInterrupt as interrupt:
                    # Ctrl-C or SIGTERM: running jobs are told to stop; the loop goes on collecting them.
                    self.cancel.set()
                    reason = str(interrupt) if isinstance(interrupt, runner.Terminated) else "Stopped by the user (interrupt)"
                    stopping, status, failure = True, "Stopped", reason
        omitted = [self.summaries[name] for name in self.order if self.state[name] == OMITTED]
        if omitted and status == "Succeeded":
            asked = [f"{s.name} ({s.type})" for s in omitted if s.name in self.skip]
            after = [s.name for s in omitted if s.name not in self.skip]
            status = "Stopped"
            failure = f"{len(asked)} step(s) left out on request: {', '.join(asked)}" + (f"; not run without them: {', '.join(after)}" if after else "")
        ended = time.monotonic() - self.started
        self.records.end_execution(self.execution_id, status, failure)
        self.engine.progress("", status, {"failure_reason": failure, "seconds": ended})
        steps = [self.summaries[name] for name in self.order if name in self.summaries]
        return ExecutionResult(self.execution_id, self.arn, status, failure, steps, ended)

    @contextlib.contextmanager
    def _cancel_on_error(self) -> Iterator[None]:
        """Anything escaping the step loop (a full disk under the records, a bug) first stops the
        running jobs: leaving the pool waits for them, and they must not run to their end."""
        try:
            yield
        except BaseException:
            self.cancel.set()
            raise

    def _ready(self, slots: int) -> list[str]:
        """Up to ``slots`` steps that can start now; steps that never will are settled on the way.

        The rest stay pending until a slot is free, so a failure meanwhile means they never start.
        """
        ready: list[str] = []
        changed = True
        while changed:
            changed = False
            for name in self.order:
                if self.state[name] != "pending":
                    continue
                node = self.nodes[name]
                verdict = self._verdict(node)
                if verdict == "skip":
                    self.state[name] = "skipped"
                    changed = True
                elif verdict.startswith(OMITTED):
                    self._record_omitted(node, verdict.split(":", 1)[1])
                    changed = True
                elif verdict == "reuse":
                    self._record_reused(node)
                    changed = True
                elif verdict == "ready" and len(ready) < slots:
                    self.state[name] = "running"
                    ready.append(name)
        return ready

    def _verdict(self, node: Node) -> str:
        """ready, wait, skip (an untaken branch: not listed, as on SageMaker), or
        ``omitted:<reason>`` (left out on request, or needing a step that was)."""
        if node.name in self.skip:
            return f"{OMITTED}:Left out on request: this run was asked to skip {node.name}"
        if self.reused is not None and node.name in self.reused:  # selective: not selected
            return "reuse" if self.reused[node.name] is not None else "skip"
        if node.condition:
            if self.state[node.condition] == OMITTED:
                return f"{OMITTED}:Not run: its condition {node.condition} was left out on request"
            if node.condition not in self.outcomes:
                return "skip" if self.state[node.condition] == "skipped" else "wait"
            taken = "if" if self.outcomes[node.condition] else "else"
            if not (node.branch or "").endswith(f".{taken}"):
                return "skip"
        upstream = {u: self.state[u] for u in node.upstream if u in self.state}
        missing = [u for u, s in upstream.items() if s == OMITTED]
        if missing:
            return f"{OMITTED}:Not run: it needs {', '.join(missing)}, left out on request"
        if any(s == "skipped" for s in upstream.values()):
            return "skip"
        if not all(s == SUCCEEDED for s in upstream.values()):
            return "wait"
        return "ready"

    def _record_reused(self, node: Node) -> None:
        """A step not selected: its source execution's result, recorded as SageMaker lists it."""
        reused = self.reused[node.name] if self.reused else None
        assert reused is not None
        self.state[node.name] = SUCCEEDED
        self.scope.properties[node.name] = reused.properties
        if "Outcome" in reused.properties and node.type == "Condition":
            self.outcomes[node.name] = bool(reused.properties["Outcome"])
        self.records.start_step(self.execution_id, node.name, node.type, SUCCEEDED)
        self.records.update_step(self.execution_id, node.name, properties=reused.properties, metadata=reused.metadata, selective_source_arn=reused.source_arn, ended=now())
        self.summaries[node.name] = StepSummary(node.name, node.type, SUCCEEDED, 0.0, True, None, None, f"from {reused.source_arn.rsplit('/', 1)[1]}")
        self.engine.progress(node.name, SUCCEEDED, {"type": node.type, "seconds": 0.0, "cached": True, "detail": f"not selected: from {reused.source_arn.rsplit('/', 1)[1]}"})

    def _record_omitted(self, node: Node, reason: str) -> None:
        self.state[node.name] = OMITTED
        self.records.start_step(self.execution_id, node.name, node.type, STOPPED)
        self.records.update_step(self.execution_id, node.name, failure_reason=reason, ended=now())
        self.summaries[node.name] = StepSummary(node.name, node.type, STOPPED, failure_reason=reason)
        self.engine.progress(node.name, STOPPED, {"type": node.type, "failure_reason": reason, "omitted": True})

    # -- one step ---------------------------------------------------------------------------
    def _run_step(self, node: Node) -> StepOutcome:
        handler = self.engine.handlers[node.type]
        started = time.monotonic()
        name = job_name(self.execution_id, node.name, secrets.token_hex(3)) if handler.makes_job else node.name
        log_path = self.directory / f"{node.name}.log"
        self.records.start_step(self.execution_id, node.name, node.type, "Executing", name if handler.makes_job else None, log_path)
        self.engine.progress(node.name, "Executing", {"type": node.type})
        cached_from = None
        arguments: dict[str, Any] = {}
        attempts = 1
        with log_path.open("w", encoding="utf-8") as log:
            try:
                arguments = self._arguments(node)
                window = cache.settings(node.step, node.pointer) if handler.makes_job and self.engine.use_cache else None
                key = cache.key(handler, arguments, self.engine.store) if window else None
                hit = self.records.cached(key, cache.not_before(window)) if key and window else None
                if hit and cache.outputs_present(handler, arguments, hit[1], self.engine.store):
                    cached_from = hit[0]
                    log.write(f"cache hit: reusing the result of {cached_from}\n")
                    outcome = StepOutcome(SUCCEEDED, properties=hit[1])
                else:
                    outcome, attempts = self._attempts(node, handler, arguments, name, log, log_path)
                if key:
                    self.records.update_step(self.execution_id, node.name, cache_key=key)
            except ExpressionError as exc:
                outcome = StepOutcome(FAILED, failure_reason=str(exc))
                log.write(f"{exc}\n")
            except Exception as exc:  # noqa: BLE001 - a bug around the handler (arguments, cache): record it
                log.write(traceback.format_exc())
                outcome = StepOutcome(FAILED, failure_reason=_unexpected(exc, log_path))
        seconds = time.monotonic() - started
        if outcome.detail is None and outcome.status == SUCCEEDED:
            outcome.detail = handler.detail(outcome.properties)
        if outcome.status == SUCCEEDED:
            finished = events.StepFinished(self.arn, node.name, node.type, arguments, outcome.properties, outcome.detail, cached_from, handler.action, handler.artifacts(arguments, outcome.properties))
            events.tell(self.engine.listeners, "step_finished", finished)
        metadata = outcome.metadata if outcome.metadata is not None else handler.metadata(outcome, arguments)
        self.records.update_step(
            self.execution_id, node.name, status=outcome.status, failure_reason=outcome.failure_reason,
            arguments=arguments, properties=outcome.properties, cache_source_arn=cached_from, ended=now(), metadata=metadata, attempts=attempts,
        )  # fmt: skip
        self.summaries[node.name] = StepSummary(node.name, node.type, outcome.status, seconds, cached_from is not None, outcome.failure_reason, str(log_path), outcome.detail)
        self.engine.progress(node.name, outcome.status, {"type": node.type, "seconds": seconds, "cached": cached_from is not None, "failure_reason": outcome.failure_reason, "detail": outcome.detail})
        return outcome

    def _attempts(self, node: Node, handler: Handler, arguments: dict[str, Any], name: str, log: Any, log_path: Any) -> tuple[StepOutcome, int]:
        """Run the step, and again as its RetryPolicies say for failures the service causes
        (``retries.py``); the outcome of the last attempt and how many there were."""
        policies, _ = retries.parse(node.step, node.pointer, handler.makes_job)
        started, attempt = time.monotonic(), 1
        while True:
            outcome = self._attempt(node, handler, arguments, name, log, log_path)
            policy = retries.policy_for(policies, retries.failure_type(outcome.failure_reason, handler.makes_job)) if outcome.status == FAILED else None
            if policy is None or not policy.allows(attempt, time.monotonic() - started) or self.cancel.is_set():
                return outcome, attempt
            delay = policy.delay(attempt)
            log.write(f"attempt {attempt} failed ({outcome.failure_reason}); retrying in {delay:g} s, as RetryPolicies say\n")
            log.flush()
            if self.cancel.wait(delay):  # stopped while waiting: no further attempt
                return StepOutcome(STOPPED, failure_reason="Stopped by the user"), attempt
            attempt += 1

    def _attempt(self, node: Node, handler: Handler, arguments: dict[str, Any], name: str, log: Any, log_path: Any) -> StepOutcome:
        """One run of the handler; what a store refuses or a bug raises becomes the failure."""
        try:
            return handler.run(
                StepRun(
                    node=node, arguments=arguments, scope=self.scope, store=self.engine.store,
                    runtimes=self.engine.runtimes, job_name=name, job_dir=self.engine.home.jobs / name,
                    log=log, region=self.engine.home.region, account=self.engine.home.account, cancel=self.cancel, home=self.engine.home,
                )
            )  # fmt: skip
        except UsageError as exc:  # a store refused the request, as SageMaker's API would
            log.write(f"{exc.aws_code}: {exc}\n")
            return StepOutcome(FAILED, failure_reason=f"{exc.aws_code}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a bug in a handler: record it, keep the traceback
            log.write(traceback.format_exc())
            return StepOutcome(FAILED, failure_reason=_unexpected(exc, log_path))
        finally:
            # A job's sandbox (its copies of the inputs) goes with the job, as a SageMaker
            # instance does: outputs are in the store, the log beside.
            shutil.rmtree(self.engine.home.jobs / name, ignore_errors=True)

    def _arguments(self, node: Node) -> dict[str, Any]:
        arguments = node.step.get("Arguments") or {}
        if node.type == "Condition":
            return {}  # its handler evaluates the conditions; IfSteps/ElseSteps are steps of their own
        return self.scope.resolve(arguments, f"{node.pointer}/Arguments")


def _unexpected(exc: Exception, log_path: Any) -> str:
    """A step's reason for what its handler raised: a full disk is the environment and says so
    (as the CLI says it); anything else is a bug, an InternalError with its traceback's place."""
    if disk_full(exc):
        return f"disk full: {exc}; free some space where MLOPS_HOME is and run again"
    return f"InternalError: {type(exc).__name__}: {exc} (traceback in {log_path})"


def sweep_sandboxes(home: Home, records: Records) -> list[str]:
    """Remove the job sandboxes under ``jobs/`` that no running execution owns: those a killed
    runner left (a job's sandbox goes with the job otherwise). The names removed."""
    removed = []
    for folder in sorted(home.jobs.iterdir()) if home.jobs.is_dir() else []:
        owner = SANDBOX.match(folder.name)
        if owner and records.status_of(owner[1]) != "Executing":
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed
