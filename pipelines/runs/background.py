"""Executions that run on after the request that started them: the local AWS endpoint's
StartPipelineExecution records the execution, answers its ARN, and starts this, in a session of
its own, to run it to its end, as SageMaker runs an execution whoever started it.

``python -m pipelines.runs.background HOME EXECUTION_ID`` reads what to run from the records
(the definition, the parameters, the display name and description the request gave), adopts the
execution (its runner is this process: ``mlops executions`` settles it Failed if this dies) and
runs it on the local engine with the lineage and experiment listeners. A definition the engine
refuses ends the execution Failed with the reason; nothing is left Executing.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pipelines.local.home import Home


def start(home: Home, execution_id: str) -> int:
    """Start the runner of ``execution_id``, detached; its pid. Its output goes to the execution's
    folder (``runner.log``)."""
    folder = home.execution_dir(execution_id)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "runner.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        command = [sys.executable, "-m", "pipelines.runs.background", str(home.root), execution_id]
        return os.posix_spawnp(command[0], command, dict(os.environ), file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)], setsid=True)
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    from pipelines.build import parameters as parameters_module
    from pipelines.core.errors import MlopsError
    from pipelines.engine.records import Records
    from pipelines.runs import local_run

    home = Home.resolve(Path(argv[0]))
    execution_id = argv[1]
    with Records(home) as records:
        records.adopt_execution(execution_id)
        described = records.describe_execution(execution_id)
        definition = records.definition_of(execution_id)
        pipeline = records.pipeline_of(execution_id)
        parameters = {p["Name"]: p["Value"] for p in described["PipelineParameters"]}
    try:
        typed = parameters_module.from_strings(definition, parameters)  # the API carries them as text
        result = local_run.run(
            home, definition, pipeline, typed, None, description=described.get("PipelineExecutionDescription"), bundled_data=False,
            display_name=described.get("PipelineExecutionDisplayName"), execution_id=execution_id,
        )  # fmt: skip
    except MlopsError as exc:  # refused before any step ran: the execution says why
        with Records(home) as records:
            records.end_execution(execution_id, "Failed", f"{exc.headline}: {exc}")
        print(f"{exc.headline}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result.as_dict(), indent=2))
    return 0 if result.status == "Succeeded" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
