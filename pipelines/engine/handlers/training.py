"""``Training``: the built-in XGBoost algorithm's training job, run in process; or a script-mode
job (the SDK's ModelTrainer with a SourceCode), run by the SDK's own drivers (``script_mode.py``).

Channels are copied to ``<sandbox>/opt/ml/input/data/<channel>`` as the container sees them;
the model lands at ``{S3OutputPath}/{job-name}/output/model.tar.gz`` as SageMaker puts it;
the properties follow DescribeTrainingJob (``ModelArtifacts.S3ModelArtifacts``,
``FinalMetricDataList[...]``: the algorithm's metrics, or the MetricDefinitions' regexes over a
script's log). The built-in XGBoost algorithm runs in process; a script runs with the
image's ``python3`` (the framework images': this interpreter; others: ``images.json``); any
other job is refused before the execution starts.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipelines.core.graph import Node
from pipelines.engine import script_mode, xgboost_algorithm
from pipelines.engine.events import Artifact
from pipelines.engine.handlers.base import FAILED, STOPPED, SUCCEEDED, Handler, Problem, StepOutcome, StepRun, artifact
from pipelines.engine.handlers.processing import run_process
from pipelines.engine.runtimes import XGBOOST_ALGORITHM, Runtimes


class TrainingHandler(Handler):
    type = "Training"
    properties = frozenset(
        {"TrainingJobName", "TrainingJobArn", "TrainingJobStatus", "ModelArtifacts", "FinalMetricDataList", "HyperParameters", "AlgorithmSpecification", "OutputDataConfig", "SecondaryStatus", "FailureReason"}
    )
    cache_fields = ("AlgorithmSpecification", "CheckpointConfig", "DebugHookConfig", "DebugRuleConfigurations", "Environment", "HyperParameters", "InputDataConfig")
    makes_job = True
    action = "TrainingJob"

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        arguments = node.step.get("Arguments") or {}
        here = f"{node.pointer}/Arguments"
        image = (arguments.get("AlgorithmSpecification") or {}).get("TrainingImage")
        if script_mode.is_script_mode(arguments):
            if not isinstance(image, str):
                return [Problem(f"{here}/AlgorithmSpecification/TrainingImage", "a script-mode job needs its TrainingImage")]
            if runtimes.command(image, "python3") is None:
                return [Problem(f"{here}/AlgorithmSpecification/TrainingImage", f"no local python3 for {image}: {runtimes.hint(image, 'python3')}")]
            if not (arguments.get("OutputDataConfig") or {}).get("S3OutputPath"):
                return [Problem(f"{here}/OutputDataConfig/S3OutputPath", "required")]
            return []
        if not isinstance(image, str) or not XGBOOST_ALGORITHM.match(image):
            return [Problem(f"{here}/AlgorithmSpecification/TrainingImage", f"only the built-in XGBoost algorithm (sagemaker-xgboost:1.x-y) and script mode (a SourceCode) train locally, not {image!r}")]
        problems = []
        version = xgboost_algorithm.version_of(image)
        if version is None:
            return [Problem(f"{here}/AlgorithmSpecification/TrainingImage", f"{image!r}: the built-in XGBoost versions run locally are {', '.join(xgboost_algorithm.VERSIONS)}")]
        unsupported = xgboost_algorithm.unsupported_problem(arguments.get("HyperParameters") or {}, version)
        if unsupported:
            problems.append(Problem(f"{here}/HyperParameters", unsupported))
        for index, channel in enumerate(arguments.get("InputDataConfig") or []):
            if "S3DataSource" not in (channel.get("DataSource") or {}):
                problems.append(Problem(f"{here}/InputDataConfig/{index}/DataSource", "only S3DataSource channels are supported locally"))
        if not (arguments.get("OutputDataConfig") or {}).get("S3OutputPath"):
            problems.append(Problem(f"{here}/OutputDataConfig/S3OutputPath", "required"))
        return problems

    def detail(self, properties: dict[str, Any]) -> str | None:
        metrics = properties.get("FinalMetricDataList") or []
        return ", ".join(f"{m['MetricName']} {m['Value']:.4f}" for m in metrics) or None

    def artifacts(self, arguments: dict[str, Any], properties: dict[str, Any]) -> list[Artifact]:
        found = []
        for channel in arguments.get("InputDataConfig") or []:
            found += artifact("in", "DataSet", channel.get("ChannelName"), ((channel.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri"))
        return found + artifact("out", "Model", "model", (properties.get("ModelArtifacts") or {}).get("S3ModelArtifacts"))

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        arn = outcome.properties.get("TrainingJobArn")
        return {"TrainingJob": {"Arn": arn}} if arn else {}

    def run(self, job: StepRun) -> StepOutcome:
        arguments = job.arguments
        if script_mode.is_script_mode(arguments):
            return self._run_script(job)
        data_root = job.job_dir / "opt" / "ml" / "input" / "data"
        channels = {}
        for channel in arguments.get("InputDataConfig") or []:
            name, uri = channel["ChannelName"], channel["DataSource"]["S3DataSource"]["S3Uri"]
            try:
                count = job.store.materialize(uri, data_root / name)
            except FileNotFoundError:
                return StepOutcome(FAILED, failure_reason=f"ClientError: channel {name}: no data at {uri}")
            job.log.write(f"channel {name}: {count} file(s) from {uri}\n")
            channels[name] = data_root / name
        hyperparameters = {k: str(v) for k, v in (arguments.get("HyperParameters") or {}).items()}
        model_dir = job.job_dir / "opt" / "ml" / "model"

        def log(line: str) -> None:
            job.log.write(line + "\n")

        try:
            version = xgboost_algorithm.version_of(arguments["AlgorithmSpecification"]["TrainingImage"]) or xgboost_algorithm.LATEST
            result = xgboost_algorithm.train(channels, hyperparameters, model_dir, log=log, should_stop=job.cancel.is_set, version=version)
        except xgboost_algorithm.TrainingStopped:
            return StepOutcome(STOPPED, failure_reason="Stopped by the user")
        except (xgboost_algorithm.HyperparameterError, xgboost_algorithm.ChannelError) as exc:
            return StepOutcome(FAILED, failure_reason=f"ClientError: {exc}")
        output_path = str(arguments["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
        model_uri = f"{output_path}/{job.job_name}/output/{xgboost_algorithm.ARCHIVE}"
        job.store.put_file(model_dir / xgboost_algorithm.ARCHIVE, model_uri)
        job.log.write(f"model: {model_uri} ({result.rounds} rounds, best {result.best_iteration})\n")
        return _completed(job, model_uri, result.final_metrics)

    def _run_script(self, job: StepRun) -> StepOutcome:
        """A script-mode job: the SDK's environment and driver, the image's python3."""
        arguments = job.arguments
        layout = script_mode.Layout(job.job_dir / "opt" / "ml")
        channels = []
        for channel in arguments.get("InputDataConfig") or []:
            name, uri = channel["ChannelName"], channel["DataSource"]["S3DataSource"]["S3Uri"]
            try:
                count = job.store.materialize(uri, layout.data / name)
            except FileNotFoundError:
                return StepOutcome(FAILED, failure_reason=f"ClientError: channel {name}: no data at {uri}")
            job.log.write(f"channel {name}: {count} file(s) from {uri}\n")
            channels.append(name)
        submitted = (arguments.get("HyperParameters") or {}).get("sagemaker_submit_directory")
        if "code" not in channels and submitted:  # a tuning job's training job: the code is a tarball
            try:
                archive = job.job_dir / "sourcedir.tar.gz"
                job.store.materialize(str(submitted), job.job_dir / "submitted")
                archive = next((job.job_dir / "submitted").rglob("*.tar.gz"))
                script_mode.unpack_submitted(archive, layout.data / "code")
            except (FileNotFoundError, StopIteration):
                return StepOutcome(FAILED, failure_reason=f"ClientError: sagemaker_submit_directory {submitted}: no sourcedir.tar.gz there")
            except script_mode.ScriptModeError as exc:
                return StepOutcome(FAILED, failure_reason=f"ClientError: {exc}")
            channels.append("code")
        try:
            source = script_mode.source_code(layout)
            missing = script_mode.missing_requirements(layout, source)
        except script_mode.ScriptModeError as exc:
            return StepOutcome(FAILED, failure_reason=f"ClientError: {exc}")
        if missing:
            return StepOutcome(FAILED, failure_reason=f"ClientError: {source.get('requirements')} needs what this machine lacks, and nothing is installed from the network: {'; '.join(missing)}")
        image = str(arguments["AlgorithmSpecification"]["TrainingImage"])
        python = job.runtimes.command(image, "python3") or sys.executable
        settings_file = job.job_dir / "settings.json"
        settings_file.write_text(json.dumps(script_mode.settings(layout, arguments, [c for c in channels if c not in ("code", "sm_drivers")] + [c for c in channels if c in ("code", "sm_drivers")], job.job_dir / "sm_training.env")))
        limit = (arguments.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        command = [python, "-c", script_mode.RUNNER, str(layout.data / "sm_drivers"), str(settings_file)]
        status, reason = run_process(command, layout.data / "code", {"TRAINING_JOB_NAME": job.job_name}, job, int(limit) if limit else None)
        job.log.flush()
        if status != SUCCEEDED:
            failure = layout.failure.read_text().strip() if layout.failure.is_file() else ""
            return StepOutcome(status, failure_reason=f"AlgorithmError: {failure[-900:]}" if failure and status == FAILED else reason)
        archive = job.job_dir / "model.tar.gz"
        packed = script_mode.pack_model(layout, archive)
        output_path = str(arguments["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
        model_uri = f"{output_path}/{job.job_name}/output/model.tar.gz"
        job.store.put_file(archive, model_uri)
        log_text = Path(job.log.name).read_text(errors="replace") if hasattr(job.log, "name") else ""
        found = script_mode.final_metrics(log_text, (arguments.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or [])
        job.log.write(f"model: {model_uri} ({packed} file(s) from SM_MODEL_DIR)\n")
        return _completed(job, model_uri, found)


def _completed(job: StepRun, model_uri: str, final_metrics: dict[str, float]) -> StepOutcome:
    """DescribeTrainingJob's properties of a job that finished with its model at ``model_uri``."""
    arguments = job.arguments
    now = datetime.now(timezone.utc).isoformat()
    return StepOutcome(
        SUCCEEDED,
        properties={
            "TrainingJobName": job.job_name,
            "TrainingJobArn": job.arn("training-job"),
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": model_uri},
            "FinalMetricDataList": [{"MetricName": name, "Value": value, "Timestamp": now} for name, value in sorted(final_metrics.items())],
            "HyperParameters": {k: str(v) for k, v in (arguments.get("HyperParameters") or {}).items()},
            "AlgorithmSpecification": arguments.get("AlgorithmSpecification"),
            "OutputDataConfig": arguments.get("OutputDataConfig"),
        },
    )
