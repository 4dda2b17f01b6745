"""Callback tokens: what a Callback step waits for, and how it is answered.

On SageMaker a Callback step sends a message to its SQS queue, ``{"token": ...,
"pipelineExecutionArn": ..., "arguments": {...}, "status": "Executing"}``, and waits until
someone calls SendPipelineExecutionStepSuccess (with ``OutputParameters``, a list of
``{"Name", "Value"}`` strings) or SendPipelineExecutionStepFailure (a ``FailureReason`` of at
most 256 characters) with that token: ten letters and digits. Locally the message is a file
under ``$MLOPS_HOME/callbacks/queues/<queue name>/<token>.json``, which whoever does the work
reads (``mlops callback list`` shows the pending ones), and ``mlops callback send-success``
/ ``send-failure`` write the answer beside it, in one rename, once. The waiting step reads the
answer; nothing depends on how fast either side is.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.core.errors import Conflict, NotFound, UsageError
from pipelines.core.fileio import write_text_atomic
from pipelines.engine.output_types import convert
from pipelines.engine.records import Records
from pipelines.local.home import Home

TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_LENGTH = 10
REASON_LIMIT = 256
OUTPUTS_LIMIT = 50
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Answer:
    succeeded: bool
    outputs: dict[str, str]
    failure_reason: str | None = None


def root(home: Home) -> Path:
    return home.root / "callbacks"


def queue_name(url: str) -> str:
    """The queue's name from its URL (https://sqs.<region>.amazonaws.com/<account>/<name>)."""
    return url.rstrip("/").rsplit("/", 1)[-1] or "queue"


def send(home: Home, queue_url: str, execution_arn: str, step: str, arguments: dict[str, Any], outputs: list[dict[str, Any]] | None = None) -> str:
    """Put the step's message on its (local) queue; the token that answers it. Beside SageMaker's
    message, the local file names the step, its queue and the ``OutputParameters`` it declares,
    which an answer is checked against."""
    token = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))
    message = {"token": token, "pipelineExecutionArn": execution_arn, "arguments": arguments, "status": "Executing"}
    folder = root(home) / "queues" / queue_name(queue_url)
    folder.mkdir(parents=True, exist_ok=True)
    local = {"stepName": step, "sqsQueueUrl": queue_url, "outputParameters": outputs or []}
    write_text_atomic(folder / f"{token}.json", json.dumps({**message, **local}, indent=2, default=str) + "\n")
    return token


def _message_file(home: Home, token: str) -> Path:
    if len(token) != TOKEN_LENGTH or any(c not in TOKEN_ALPHABET for c in token):
        raise UsageError(f"callback token {token!r}: ten letters and digits, as the step's message has it")
    found = list((root(home) / "queues").glob(f"*/{token}.json"))
    if not found:
        raise NotFound(f"no callback step is waiting for token {token} (mlops callback list shows the pending ones)")
    return found[0]


def pending(home: Home) -> list[dict[str, Any]]:
    """The messages not answered yet whose step still waits, oldest first."""
    messages = []
    with Records(home) as records:
        for path in sorted((root(home) / "queues").glob("*/*.json"), key=lambda p: p.stat().st_mtime):
            if path.name.endswith(".answer.json") or path.with_name(f"{path.stem}.answer.json").exists():
                continue
            message = json.loads(path.read_text())
            if _not_waiting(records, message) is None:
                messages.append(message)
    return messages


def _not_waiting(records: Records, message: dict[str, Any]) -> str | None:
    """None while the step that sent ``message`` waits for its answer; else why it does not.

    A step waits only while it and its execution are Executing: an execution whose runner was
    killed is settled Failed on reading (``Records``), and its tokens answer nothing any more.
    """
    arn = str(message.get("pipelineExecutionArn", ""))
    try:
        execution = records.describe_execution(arn)
    except NotFound:
        return f"its execution {arn} is not recorded here"
    if execution["PipelineExecutionStatus"] != "Executing":
        return f"its execution {arn} is {execution['PipelineExecutionStatus']}"
    steps = [s for s in records.list_steps(arn.rsplit("/", 1)[-1]) if s["StepName"] == message.get("stepName")]
    if not steps or steps[0]["StepStatus"] != "Executing":
        return f"its step {message.get('stepName')} is {steps[0]['StepStatus'] if steps else 'not running'}"
    return None


def _output_problem(declared: list[dict[str, Any]], outputs: dict[str, str]) -> str | None:
    """What is wrong with a success answer's outputs against the step's OutputParameters."""
    missing = [o["OutputName"] for o in declared if o["OutputName"] not in outputs]
    if missing:
        return f"the step declares output(s) {', '.join(missing)}, which the answer lacks (it gives {', '.join(sorted(outputs)) or 'none'})"
    for output in declared:
        kind = output.get("OutputType", "String")
        try:
            convert(outputs[output["OutputName"]], kind)
        except (TypeError, ValueError):
            return f"output {output['OutputName']!r} is declared {kind}, and {outputs[output['OutputName']]!r} is not one"
    return None


def answer(home: Home, token: str, succeeded: bool, outputs: dict[str, str] | None = None, failure_reason: str | None = None) -> str:
    """SendPipelineExecutionStepSuccess / Failure: record the answer once; the execution's ARN.

    Refused, with the token left usable, when a success answer's outputs do not fit what the
    step declares; refused when the step no longer waits (its execution ended, even by kill -9).
    """
    message_file = _message_file(home, token)
    if len(outputs or {}) > OUTPUTS_LIMIT:
        raise UsageError(f"at most {OUTPUTS_LIMIT} output parameters, not {len(outputs or {})}")
    if failure_reason is not None and len(failure_reason) > REASON_LIMIT:
        raise UsageError(f"a failure reason has at most {REASON_LIMIT} characters, not {len(failure_reason)}")
    message = json.loads(message_file.read_text())
    with Records(home) as records:
        gone = _not_waiting(records, message)
    if gone and not message_file.with_name(f"{token}.answer.json").exists():
        raise Conflict(f"callback {token} answers nothing now: {gone}")
    problem = _output_problem(message.get("outputParameters") or [], outputs or {}) if succeeded else None
    if problem:
        raise UsageError(f"--outputs: {problem}; the callback {token} is still waiting")
    target = message_file.with_name(f"{token}.answer.json")
    body = json.dumps({"succeeded": succeeded, "outputs": {k: str(v) for k, v in (outputs or {}).items()}, "failureReason": failure_reason}) + "\n"
    partial = target.with_name(f".{token}.{secrets.token_hex(4)}.partial")
    partial.write_text(body)
    try:
        os.link(partial, target)  # whole, and once: a second answer is refused, as SageMaker refuses it
    except FileExistsError as exc:
        raise Conflict(f"callback {token} was already answered") from exc
    finally:
        partial.unlink()
    return str(message["pipelineExecutionArn"])


def wait(home: Home, token: str, cancel: threading.Event, timeout_seconds: float) -> Answer | None:
    """The answer to ``token``; None when ``cancel`` is set; TimeoutError past the timeout."""
    target = _message_file(home, token).with_name(f"{token}.answer.json")
    deadline = time.monotonic() + timeout_seconds
    while not cancel.is_set():
        if target.exists():  # linked in whole (answer())
            data = json.loads(target.read_text())
            return Answer(bool(data["succeeded"]), dict(data.get("outputs") or {}), data.get("failureReason"))
        if time.monotonic() > deadline:
            raise TimeoutError(token)
        cancel.wait(POLL_SECONDS)
    return None
