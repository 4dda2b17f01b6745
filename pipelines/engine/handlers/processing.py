"""``Processing``: the SageMaker processing-job contract, as a local subprocess.

- Each job gets a sandbox, ``$MLOPS_HOME/jobs/<job-name>/``. A path the definition names under
  ``/opt/ml/`` (input and output LocalPaths, the entrypoint, arguments and environment values
  that start with it) becomes the same path under the sandbox: ``/opt/ml/processing/input``
  is ``<sandbox>/opt/ml/processing/input``. Job scripts that take their paths as arguments
  (all of ``steps/``) run unchanged.
- Inputs are copied to their LocalPath before the job starts; output directories exist
  when it starts; outputs are uploaded to the store only when the job exits 0 (EndOfJob),
  each file in one rename, and as on S3 what was under the prefix already stays (the
  monitoring job adds one hour's folder under its schedule's prefix). A failed or stopped
  job uploads nothing.
- The entrypoint's interpreter comes from the image's local runtime (``runtimes.py``).
- With bubblewrap, a job also sees its sandbox at the real ``/opt/ml``, and can write nowhere
  but its directory and the store (``confinement.py``).
- A job reaches the twin's S3 and STS (``api/job_endpoint.py``: AWS_ENDPOINT_URL and a key in its
  environment), or, with EnableNetworkIsolation, no network at all.
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.core import guard, threads
from pipelines.core.graph import Node
from pipelines.engine import confinement, framework, isolation
from pipelines.engine.events import Artifact
from pipelines.engine.handlers.base import FAILED, STOPPED, SUCCEEDED, Handler, Problem, StepOutcome, StepRun, artifact
from pipelines.engine.runtimes import Runtimes
from pipelines.local.store import STORE_VARIABLE

OPT_ML = "/opt/ml/"
EXIT_MESSAGE = "/opt/ml/output/message"
PROCESSING_ROOT = "/opt/ml/processing"
TAIL_LINES = 12
REASON_LIMIT = 1024  # SageMaker's FailureReason length


class ProcessingHandler(Handler):
    type = "Processing"
    properties = frozenset(
        {"ProcessingJobName", "ProcessingJobArn", "ProcessingJobStatus", "ProcessingOutputConfig", "ProcessingInputs", "AppSpecification", "Environment", "ExitMessage", "FailureReason"}
    )
    cache_fields = ("AppSpecification", "Environment", "ProcessingInputs")
    makes_job = True
    action = "ProcessingJob"

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        arguments = node.step.get("Arguments") or {}
        here = f"{node.pointer}/Arguments"
        problems = []
        app = arguments.get("AppSpecification") or {}
        image = app.get("ImageUri")
        entrypoint = app.get("ContainerEntrypoint") or []
        if not isinstance(image, str):
            problems.append(Problem(f"{here}/AppSpecification/ImageUri", "a literal image URI is required"))
        elif not entrypoint or not isinstance(entrypoint[0], str):
            problems.append(Problem(f"{here}/AppSpecification/ContainerEntrypoint", "the local engine needs an entrypoint (the image's own is unknown)"))
        elif framework.is_framework(entrypoint):
            if runtimes.command(image, "python3") is None:
                problems.append(Problem(f"{here}/AppSpecification/ImageUri", f"image {image} has no local python3 for its runproc.sh: {runtimes.hint(image, 'python3')}"))
        elif runtimes.command(image, entrypoint[0]) is None and not entrypoint[0].startswith(OPT_ML):
            problems.append(
                Problem(f"{here}/AppSpecification/ImageUri", f"image {image} has no local runtime for {entrypoint[0]!r}: {runtimes.hint(image, entrypoint[0])}")
            )
        for index, item in enumerate(arguments.get("ProcessingInputs") or []):
            s3 = item.get("S3Input")
            if not isinstance(s3, dict):
                problems.append(Problem(f"{here}/ProcessingInputs/{index}", "only S3Input inputs are supported locally"))
                continue
            local = s3.get("LocalPath")
            if not isinstance(local, str) or not local.startswith(PROCESSING_ROOT):
                problems.append(Problem(f"{here}/ProcessingInputs/{index}/S3Input/LocalPath", f"must be a path under {PROCESSING_ROOT}"))
        outputs = (arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        for index, item in enumerate(outputs):
            s3 = item.get("S3Output")
            local = s3.get("LocalPath") if isinstance(s3, dict) else None
            if not isinstance(local, str) or not local.startswith(PROCESSING_ROOT):
                problems.append(Problem(f"{here}/ProcessingOutputConfig/Outputs/{index}/S3Output/LocalPath", f"must be a path under {PROCESSING_ROOT}"))
        return problems

    def check_property(self, node: Node, tokens: list[str | int]) -> str | None:
        problem = super().check_property(node, tokens)
        if problem or tokens[0] != "ProcessingOutputConfig":
            return problem
        if len(tokens) < 3 or tokens[1] != "Outputs":
            return "expected ProcessingOutputConfig.Outputs['<name>']..."
        names = [o.get("OutputName") for o in ((node.step.get("Arguments") or {}).get("ProcessingOutputConfig") or {}).get("Outputs") or []]
        if isinstance(tokens[2], str) and tokens[2] not in names:
            return f"step {node.name} has no output {tokens[2]!r}; it has {', '.join(map(str, names)) or 'none'}"
        return None

    def artifacts(self, arguments: dict[str, Any], properties: dict[str, Any]) -> list[Artifact]:
        found = self.inputs(arguments)
        for output in ((properties.get("ProcessingOutputConfig") or arguments.get("ProcessingOutputConfig")) or {}).get("Outputs") or []:
            found += artifact("out", "DataSet", output.get("OutputName"), (output.get("S3Output") or {}).get("S3Uri"))
        return found

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        arn = outcome.properties.get("ProcessingJobArn")
        return {"ProcessingJob": {"Arn": arn}} if arn else {}

    @staticmethod
    def inputs(arguments: dict[str, Any]) -> list[Artifact]:
        found = []
        for item in arguments.get("ProcessingInputs") or []:
            kind = "Code" if item.get("InputName") == "code" else "DataSet"
            found += artifact("in", kind, item.get("InputName"), (item.get("S3Input") or {}).get("S3Uri"))
        return found

    def run(self, job: StepRun) -> StepOutcome:
        app = job.arguments["AppSpecification"]
        sandbox = Sandbox(job.job_dir)
        entrypoint = app.get("ContainerEntrypoint", [])
        if framework.is_framework(entrypoint):  # a FrameworkProcessor: runproc.sh's steps, in the image's python3
            python = job.runtimes.command(app["ImageUri"], "python3")
            assert python is not None  # validation refused it otherwise
            runproc = sandbox.map(str(entrypoint[1]))
            code = sandbox.map(str(PurePosixPath(str(entrypoint[1])).parent.parent / "code"))
            arguments = [sandbox.map(str(part)) for part in app.get("ContainerArguments", [])]
            return self.run_job(job, sandbox, [python, "-c", framework.RUNNER, runproc, code, *arguments])
        command = [sandbox.map(str(part)) for part in [*entrypoint, *app.get("ContainerArguments", [])]]
        program = job.runtimes.command(app["ImageUri"], command[0])
        if program:
            command[0] = program
        return self.run_job(job, sandbox, command)

    def run_job(self, job: StepRun, sandbox: "Sandbox", command: list[str], after: Any = None) -> StepOutcome:
        """Inputs in, ``command`` run, outputs published: the processing-job contract.

        ``after(job, sandbox)``, when given, runs between a successful exit and publishing, and
        may turn the outcome into a failure (the QualityCheck's violations).
        """
        arguments = job.arguments
        inputs = arguments.get("ProcessingInputs") or []
        outputs = (arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        for item in inputs:
            s3 = item["S3Input"]
            try:
                count = job.store.materialize(s3["S3Uri"], sandbox.path(s3["LocalPath"]))
            except FileNotFoundError:
                return StepOutcome(FAILED, failure_reason=f"ClientError: input {item.get('InputName')}: no data at {s3['S3Uri']}")
            job.log.write(f"input {item.get('InputName')}: {count} file(s) from {s3['S3Uri']}\n")
        for item in outputs:
            sandbox.path(item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
        environment = {key: sandbox.map(str(value)) for key, value in (arguments.get("Environment") or {}).items()}
        environment[STORE_VARIABLE] = str(job.store.root)  # s3:// URIs a job opens itself are the store's
        limit = (arguments.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        job.log.write(f"running: {' '.join(command)}\n")
        job.log.flush()
        status, reason = run_process(command, sandbox.root, environment, job, limit)
        outcome = StepOutcome(status, failure_reason=reason)
        message = sandbox.path(EXIT_MESSAGE)
        if message.is_file():  # the job's ExitMessage, as SageMaker reads it (1 KB)
            outcome.properties["ExitMessage"] = message.read_text(errors="replace")[:1024]
        if status == SUCCEEDED and after is not None:
            outcome = after(job, sandbox)
        if outcome.status != SUCCEEDED and set(outcome.properties) <= {"ExitMessage"}:
            outcome.properties = {**self._describe(job, arguments, outcome.status, outcome.failure_reason), **outcome.properties}
            return outcome
        if outcome.status != SUCCEEDED:
            return outcome
        created: list[Path] = []
        try:
            for item in outputs:
                s3 = item["S3Output"]
                count = job.store.upload(sandbox.path(s3["LocalPath"]), s3["S3Uri"], created)
                job.log.write(f"output {item.get('OutputName')}: {count} file(s) to {s3['S3Uri']}\n")
        except BaseException:  # a full disk mid-way: none of this job's new objects stay
            job.store.remove(created)
            raise
        outcome.properties = {**self._describe(job, arguments, "Completed", None), **outcome.properties}
        return outcome

    def _describe(self, job: StepRun, arguments: dict[str, Any], status: str, reason: str | None) -> dict[str, Any]:
        described = {
            "ProcessingJobName": job.job_name,
            "ProcessingJobArn": job.arn("processing-job"),
            "ProcessingJobStatus": status,
            **{k: v for k, v in arguments.items() if k in ("ProcessingInputs", "ProcessingOutputConfig", "AppSpecification", "Environment", "ProcessingResources")},
        }
        if reason:
            described["FailureReason"] = reason
        return described


class Sandbox:
    """``/opt/ml/...`` inside one job's directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, container_path: str) -> Path:
        return Path(self.map(container_path))

    def map(self, value: str) -> str:
        if value == OPT_ML.rstrip("/") or value.startswith(OPT_ML):
            return str(self.root) + value
        return value


def network_isolated(arguments: dict[str, Any]) -> bool:
    """A training job's EnableNetworkIsolation, or a processing job's NetworkConfig's."""
    return bool(arguments.get("EnableNetworkIsolation") or (arguments.get("NetworkConfig") or {}).get("EnableNetworkIsolation"))


def run_process(command: list[str], cwd: Path, environment: dict[str, str], job: StepRun, limit: int | None) -> tuple[str, str | None]:
    """Run the job's command; stdout and stderr go to the step log, stderr's tail is kept."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT") if key in os.environ}
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", **threads.WAIT_POLICY})
    named = command  # what the job's failure names: its script, not the wrappers
    isolated = network_isolated(job.arguments)
    if not isolated:  # S3 and STS as the job's role would reach them: the twin's (api/job_endpoint.py)
        from pipelines.api import job_endpoint

        env.update(job_endpoint.for_home(job.home).environment())
    env.update(environment)
    if shutil.which(command[0], path=env.get("PATH")) is None:
        return FAILED, f"ClientError: cannot start {command[0]}: No such file or directory"
    image = (job.arguments.get("AppSpecification") or {}).get("ImageUri") or (job.arguments.get("AlgorithmSpecification") or {}).get("TrainingImage")
    note = job.runtimes.difference(image)
    if note:
        job.log.write(f"note: {note}\n")
    unconfined = confinement.problem()
    if unconfined is None:  # the sandbox at the real /opt/ml; nothing writable but it and the store
        env.update(confinement.environment())
        command = confinement.command(command, job.job_dir, [job.store.root], env, network=not isolated)
    else:
        job.log.write(f"unconfined: {unconfined}\n")
        if isolated:
            try:
                command = isolation.wrapper() + command
            except isolation.Unavailable as exc:
                return FAILED, f"ClientError: EnableNetworkIsolation: {exc}"
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    # The job runs under a guard that ends it if this process dies (guard.py).
    try:
        guarded = guard.Guarded(command, cwd=cwd, env=env, stdout=job.log, stderr=subprocess.PIPE, text=True)
    except OSError as exc:
        return FAILED, f"ClientError: cannot start {command[0]}: {exc.strerror}"
    process = guarded.process

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            job.log.write(line)
            tail.append(line.rstrip("\n"))
        job.log.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + limit if limit else None
    stopped = timed_out = False
    while process.poll() is None:
        if job.cancel.is_set():
            stopped = True
            _terminate(process)
        elif deadline is not None and time.monotonic() > deadline:
            timed_out = True
            _terminate(process)
        try:
            process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            pass
    guarded.release()
    reader.join(timeout=5)
    if process.stderr is not None:
        process.stderr.close()
    if stopped:
        return STOPPED, "Stopped by the user"
    if timed_out:
        return FAILED, f"ClientError: the job exceeded MaxRuntimeInSeconds ({limit})"
    if process.returncode == guard.CANNOT_START and tail and tail[-1].startswith(guard.CANNOT_START_MARK):
        return FAILED, f"ClientError: {tail[-1][len(guard.CANNOT_START_MARK):]}"
    if process.returncode != 0:
        script = Path(named[1] if len(named) > 1 else named[0]).name
        reason = f"AlgorithmError: {script} exited with code {process.returncode}"
        detail = "\n".join(tail)
        if detail:
            room = REASON_LIMIT - len(reason) - len("; stderr tail:\n")
            reason += "; stderr tail:\n" + detail[-room:]
        return FAILED, reason
    return SUCCEEDED, None


def _terminate(process: subprocess.Popen[str]) -> None:
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
