"""``Training``: the built-in XGBoost algorithm's training job, run in process.

Channels are copied to ``<sandbox>/opt/ml/input/data/<channel>`` as the container sees them;
the model lands at ``{S3OutputPath}/{job-name}/output/model.tar.gz`` as SageMaker puts it;
the properties follow DescribeTrainingJob (``ModelArtifacts.S3ModelArtifacts``,
``FinalMetricDataList[...]``). Only images of the built-in XGBoost algorithm have a local
runtime; anything else is refused before the execution starts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pipelines.engine import xgboost_algorithm
from pipelines.engine.events import Artifact
from pipelines.engine.handlers.base import FAILED, STOPPED, SUCCEEDED, Handler, Problem, StepOutcome, StepRun, artifact
from pipelines.engine.runtimes import XGBOOST_ALGORITHM, Runtimes
from pipelines.graph import Node


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
        if not isinstance(image, str) or not XGBOOST_ALGORITHM.match(image):
            return [Problem(f"{here}/AlgorithmSpecification/TrainingImage", f"only the built-in XGBoost algorithm (sagemaker-xgboost:1.x-y) trains locally, not {image!r}")]
        problems = []
        unsupported = sorted(set(arguments.get("HyperParameters") or {}) - set(xgboost_algorithm.HYPERPARAMETERS))
        if unsupported:
            problems.append(
                Problem(f"{here}/HyperParameters", f"unsupported hyperparameter(s) {', '.join(unsupported)}; supported: {', '.join(sorted(xgboost_algorithm.HYPERPARAMETERS))}")
            )
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
            result = xgboost_algorithm.train(channels, hyperparameters, model_dir, log=log, should_stop=job.cancel.is_set)
        except xgboost_algorithm.TrainingStopped:
            return StepOutcome(STOPPED, failure_reason="Stopped by the user")
        except (xgboost_algorithm.HyperparameterError, xgboost_algorithm.ChannelError) as exc:
            return StepOutcome(FAILED, failure_reason=f"ClientError: {exc}")
        output_path = str(arguments["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
        model_uri = f"{output_path}/{job.job_name}/output/{xgboost_algorithm.ARCHIVE}"
        job.store.put_file(model_dir / xgboost_algorithm.ARCHIVE, model_uri)
        now = datetime.now(timezone.utc).isoformat()
        metrics = [{"MetricName": name, "Value": value, "Timestamp": now} for name, value in sorted(result.final_metrics.items())]
        job.log.write(f"model: {model_uri} ({result.rounds} rounds, best {result.best_iteration})\n")
        return StepOutcome(
            SUCCEEDED,
            properties={
                "TrainingJobName": job.job_name,
                "TrainingJobArn": job.arn("training-job"),
                "TrainingJobStatus": "Completed",
                "SecondaryStatus": "Completed",
                "ModelArtifacts": {"S3ModelArtifacts": model_uri},
                "FinalMetricDataList": metrics,
                "HyperParameters": hyperparameters,
                "AlgorithmSpecification": arguments.get("AlgorithmSpecification"),
                "OutputDataConfig": arguments.get("OutputDataConfig"),
            },
        )
