"""``Lambda``: SageMaker's LambdaStep, calling a local Python function in the Lambda's place.

On SageMaker the step invokes ``FunctionArn`` with the step's ``Arguments`` as the event and
reads each of its ``OutputParameters`` (``OutputName``, ``OutputType`` String, Integer, Boolean
or Float) from the object the function returns; a later step reads them as
``Steps.<name>.OutputParameters['<name>']``. Locally the function is the callable that
``$MLOPS_HOME/lambdas.json`` maps the ARN (or the function's name) to (``runtimes.py``). It runs
in a process of its own, from the directory ``mlops run`` was started in, as Lambda runs a
handler: ``handler(event, context)``; the step fails with the function's error, or when the
object it returns lacks an output or holds one of the wrong type. A function that is not
mapped is refused before the execution starts, with the line to add.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipelines.core.graph import Node
from pipelines.engine.handlers.base import FAILED, SUCCEEDED, Problem, StepOutcome, StepRun
from pipelines.engine.handlers.output_parameters import OutputParametersHandler, output_problems
from pipelines.engine.handlers.processing import run_process
from pipelines.engine.output_types import convert
from pipelines.engine.runtimes import Runtimes

TIMEOUT_SECONDS = 900  # Lambda's own limit
# The child: import the handler, call it with the event and a context, write what it returned.
RUNNER = """
import importlib, json, sys, types
target, event_path, result_path, arn, request = sys.argv[1:6]
module, _, attribute = target.partition(":")
handler = getattr(importlib.import_module(module), attribute)
name = arn.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in arn else arn
context = types.SimpleNamespace(function_name=name, aws_request_id=request, invoked_function_arn=arn, get_remaining_time_in_millis=lambda: 900000)
with open(event_path) as handle:
    event = json.load(handle)
result = handler(event, context)
with open(result_path, "w") as handle:
    json.dump(result, handle, default=str)
"""


class LambdaHandler(OutputParametersHandler):
    type = "Lambda"
    cache_fields = ("FunctionArn", "Arguments", "OutputParameters")
    action = None

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        here = node.pointer
        problems = []
        arn = node.step.get("FunctionArn")
        if not isinstance(arn, str) or not arn:
            problems.append(Problem(f"{here}/FunctionArn", "a Lambda step needs the FunctionArn it invokes"))
        elif runtimes.function(arn) is None:
            problems.append(Problem(f"{here}/FunctionArn", f"no local function for {arn}: {runtimes.function_hint(arn)}"))
        return problems + output_problems(node)

    def run(self, job: StepRun) -> StepOutcome:
        arn = str(job.node.step["FunctionArn"])
        target = job.runtimes.function(arn)
        assert target is not None  # validation refused it otherwise
        job.job_dir.mkdir(parents=True, exist_ok=True)
        invocation = Path(tempfile.mkdtemp(prefix="invocation-", dir=job.job_dir))  # one per call: steps of the same name may run at once
        event, result = invocation / "event.json", invocation / "result.json"
        event.write_text(json.dumps(job.arguments, default=str))
        job.log.write(f"invoking {arn} as {target}\n")
        cwd = Path.cwd()
        environment = {"PYTHONPATH": os.pathsep.join([str(cwd), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        command = [sys.executable, "-c", RUNNER, target, str(event), str(result), arn, job.job_name]
        status, reason = run_process(command, cwd, environment, job, TIMEOUT_SECONDS)
        if status != SUCCEEDED:
            return StepOutcome(status, failure_reason=(reason or "").replace("AlgorithmError: -c exited", f"Lambda function {arn} failed: exit"))
        try:
            returned = json.loads(result.read_text())
        except (FileNotFoundError, json.JSONDecodeError) as exc:
            return StepOutcome(FAILED, failure_reason=f"Lambda function {arn} returned no JSON object ({exc})")
        outputs: dict[str, Any] = {}
        for output in job.node.step.get("OutputParameters", []):
            name, kind = output["OutputName"], output.get("OutputType", "String")
            if not isinstance(returned, dict) or name not in returned:
                keys = ", ".join(sorted(returned)) if isinstance(returned, dict) else type(returned).__name__
                return StepOutcome(FAILED, failure_reason=f"ClientError: Lambda function {arn} returned no output {name!r} (it returned {keys})")
            try:
                outputs[name] = convert(returned[name], kind)
            except (TypeError, ValueError) as exc:
                return StepOutcome(FAILED, failure_reason=f"ClientError: Lambda function {arn}: output {name!r}: {exc}")
        job.log.write(f"outputs: {json.dumps(outputs)}\n")
        return StepOutcome(SUCCEEDED, properties={"OutputParameters": outputs})
