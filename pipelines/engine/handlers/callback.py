"""``Callback``: SageMaker's CallbackStep, waiting for someone to say the work is done.

The step puts its message (its resolved ``Arguments``) on its queue with a token
(``callbacks.py``) and waits for ``mlops callback send-success TOKEN --outputs '{...}'`` or
``send-failure TOKEN --reason ...``, the local SendPipelineExecutionStepSuccess / Failure. The
answer's output values are strings, as the API takes them; each declared ``OutputParameters``
entry is typed as declared (String, Integer, Boolean, Float) for later steps'
``Steps.<name>.OutputParameters['<name>']``. A declared output missing from the answer fails
the step, as does the failure answer (its reason) or no answer within the timeout (7 days,
``TIMEOUT_SECONDS``). Stopping the execution stops the wait.
"""

from __future__ import annotations

from typing import Any

from pipelines.core.graph import Node
from pipelines.engine import callbacks
from pipelines.engine.handlers.base import FAILED, STOPPED, SUCCEEDED, Problem, StepOutcome, StepRun
from pipelines.engine.handlers.output_parameters import OutputParametersHandler, output_problems
from pipelines.engine.output_types import convert
from pipelines.engine.runtimes import Runtimes

TIMEOUT_SECONDS = 7 * 24 * 3600


class CallbackHandler(OutputParametersHandler):
    type = "Callback"
    timeout_seconds: float = TIMEOUT_SECONDS

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        here = node.pointer
        problems = []
        if not isinstance(node.step.get("SqsQueueUrl"), str) or not node.step["SqsQueueUrl"]:
            problems.append(Problem(f"{here}/SqsQueueUrl", "a Callback step needs the SqsQueueUrl its message goes to"))
        return problems + output_problems(node)

    def run(self, job: StepRun) -> StepOutcome:
        queue = str(job.node.step["SqsQueueUrl"])
        token = callbacks.send(job.home, queue, str(job.scope.execution.get("PipelineExecutionArn", "")), job.node.name, job.arguments, job.node.step.get("OutputParameters"))
        metadata = {"Callback": {"CallbackToken": token, "SqsQueueUrl": queue}}
        job.log.write(f"waiting for token {token}: mlops callback send-success {token} --outputs '{{...}}' (or send-failure {token} --reason ...)\n")
        job.log.flush()
        try:
            answer = callbacks.wait(job.home, token, job.cancel, self.timeout_seconds)
        except TimeoutError:
            return StepOutcome(FAILED, failure_reason=f"the callback {token} was not answered within {self.timeout_seconds:.0f} s", metadata=metadata)
        if answer is None:
            return StepOutcome(STOPPED, failure_reason="Stopped by the user", metadata=metadata)
        if not answer.succeeded:
            return StepOutcome(FAILED, failure_reason=answer.failure_reason or f"the callback {token} was answered with a failure", metadata=metadata)
        outputs: dict[str, Any] = {}
        for output in job.node.step.get("OutputParameters", []):
            name, kind = output["OutputName"], output.get("OutputType", "String")
            if name not in answer.outputs:
                return StepOutcome(FAILED, failure_reason=f"ClientError: the callback {token} answered without output {name!r} (it gave {', '.join(sorted(answer.outputs)) or 'none'})", metadata=metadata)
            try:
                outputs[name] = convert(answer.outputs[name], kind)
            except (TypeError, ValueError) as exc:
                return StepOutcome(FAILED, failure_reason=f"ClientError: the callback {token}: output {name!r}: {exc}", metadata=metadata)
        metadata["Callback"]["OutputParameters"] = [{"Name": k, "Value": v} for k, v in answer.outputs.items()]
        job.log.write(f"answered: {outputs}\n")
        return StepOutcome(SUCCEEDED, properties={"OutputParameters": outputs}, metadata=metadata)
