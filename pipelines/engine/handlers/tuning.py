"""``Tuning``: a hyperparameter tuning job, its training jobs run by the Training handler.

The step's ``TrainingJobDefinition`` is a training job (the built-in XGBoost algorithm, or a
script) that each candidate runs with ``StaticHyperParameters`` plus its own values. Candidates
come from ``ParameterRanges`` as SageMaker's strategies make them:

- ``Grid``: every combination of the categorical ranges (Grid takes categorical ranges only),
  in order, up to ``MaxNumberOfTrainingJobs`` when it is given;
- ``Random``: ``MaxNumberOfTrainingJobs`` draws, each range by its ``ScalingType`` (``Linear``
  and ``Auto`` uniform, ``Logarithmic`` log-uniform, ``ReverseLogarithmic`` as SageMaker
  defines it); seeded by the ranges, so the same definition draws the same candidates;
- ``Bayesian``: Optuna's TPE sampler (seeded the same way) proposes each batch of
  ``MaxParallelTrainingJobs`` candidates from the results so far, until
  ``MaxNumberOfTrainingJobs``; ``Logarithmic`` ranges are searched on a log scale
  (``ReverseLogarithmic`` is refused for it).

``Hyperband`` is refused before the run with that hint. Up to
``MaxParallelTrainingJobs`` run at once. Each training job is named
``<tuning job>-<nnn>-<8 hex>`` and writes its model under its own name, so
``TuningStep.get_top_model_s3_uri`` resolves. The objective is read from each job's
``FinalMetricDataList``; ``TrainingJobSummaries`` lists the jobs best first (index 0 is the best,
as the SDK's ``get_top_model_s3_uri`` expects) and ``BestTrainingJob`` is the first of them.
Early stopping is not applied locally: every candidate runs to its end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from pipelines.core.graph import Node
from pipelines.engine.handlers.base import FAILED, STOPPED, SUCCEEDED, Handler, Problem, StepOutcome, StepRun
from pipelines.engine.handlers.training import TrainingHandler
from pipelines.engine.runtimes import Runtimes

STRATEGIES = ("Random", "Grid", "Bayesian")


def _training_request(definition: dict[str, Any], hyperparameters: dict[str, str]) -> dict[str, Any]:
    """The CreateTrainingJob arguments one candidate runs with."""
    request = {k: v for k, v in definition.items() if k not in ("StaticHyperParameters", "HyperParameterRanges", "DefinitionName", "TuningObjective")}
    request["HyperParameters"] = {**{k: str(v) for k, v in (definition.get("StaticHyperParameters") or {}).items()}, **hyperparameters}
    return request


def candidates(config: dict[str, Any]) -> list[dict[str, str]]:
    """The hyperparameter values each training job runs with, in order."""
    ranges = config.get("ParameterRanges") or {}
    limit = (config.get("ResourceLimits") or {}).get("MaxNumberOfTrainingJobs")
    categorical = ranges.get("CategoricalParameterRanges") or []
    if config.get("Strategy") == "Grid":
        names = [r["Name"] for r in categorical]
        combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*[[str(v) for v in r["Values"]] for r in categorical])]
        return combos[: int(limit)] if limit else combos
    rng = random.Random(int(hashlib.sha256(json.dumps(ranges, sort_keys=True).encode()).hexdigest()[:16], 16))
    drawn = []
    for _ in range(int(limit or 1)):
        values: dict[str, str] = {}
        for r in ranges.get("IntegerParameterRanges") or []:
            values[r["Name"]] = str(int(round(_draw(rng, float(r["MinValue"]), float(r["MaxValue"]), r.get("ScalingType", "Auto")))))
        for r in ranges.get("ContinuousParameterRanges") or []:
            values[r["Name"]] = repr(_draw(rng, float(r["MinValue"]), float(r["MaxValue"]), r.get("ScalingType", "Auto")))
        for r in categorical:
            values[r["Name"]] = str(rng.choice(r["Values"]))
        drawn.append(values)
    return drawn


def _draw(rng: random.Random, low: float, high: float, scaling: str) -> float:
    if scaling == "Logarithmic":
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    if scaling == "ReverseLogarithmic":  # dense near the top of [low, high) (both below 1)
        return 1 - math.exp(rng.uniform(math.log(1 - high), math.log(1 - low)))
    return rng.uniform(low, high)


def _bayesian(config: dict[str, Any], maximize: bool, parallel: int, start: Any, stopped: Any) -> list[dict[str, Any]]:
    """Optuna's TPE sampler over the ranges: each batch of ``parallel`` candidates is proposed
    from the results so far; ``start(index, values)`` runs one and returns a way to wait for it."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ranges = config.get("ParameterRanges") or {}
    distributions: dict[str, Any] = {}
    for r in ranges.get("IntegerParameterRanges") or []:
        distributions[r["Name"]] = optuna.distributions.IntDistribution(int(r["MinValue"]), int(r["MaxValue"]), log=r.get("ScalingType") == "Logarithmic")
    for r in ranges.get("ContinuousParameterRanges") or []:
        distributions[r["Name"]] = optuna.distributions.FloatDistribution(float(r["MinValue"]), float(r["MaxValue"]), log=r.get("ScalingType") == "Logarithmic")
    for r in ranges.get("CategoricalParameterRanges") or []:
        distributions[r["Name"]] = optuna.distributions.CategoricalDistribution([str(v) for v in r["Values"]])
    seed = int(hashlib.sha256(json.dumps(ranges, sort_keys=True).encode()).hexdigest()[:8], 16)
    study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    limit = int((config.get("ResourceLimits") or {}).get("MaxNumberOfTrainingJobs"))
    summaries: list[dict[str, Any]] = []
    while len(summaries) < limit and not stopped():
        trials = [study.ask(distributions) for _ in range(min(parallel, limit - len(summaries)))]
        waits = [start(len(summaries) + i, {k: repr(v) if isinstance(v, float) else str(v) for k, v in t.params.items()}) for i, t in enumerate(trials)]
        for trial, wait in zip(trials, waits, strict=True):
            summary = wait()
            summaries.append(summary)
            metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
            study.tell(trial, metric["Value"]) if metric else study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return summaries


class TuningHandler(Handler):
    type = "Tuning"
    properties = frozenset({
        "HyperParameterTuningJobName", "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus", "HyperParameterTuningJobConfig",
        "TrainingJobDefinition", "TrainingJobStatusCounters", "ObjectiveStatusCounters", "BestTrainingJob", "TrainingJobSummaries",
    })  # fmt: skip
    cache_fields = ("HyperParameterTuningJobConfig", "TrainingJobDefinition")
    makes_job = True
    action = "HyperParameterTuningJob"

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        here = f"{node.pointer}/Arguments"
        arguments = node.step.get("Arguments") or {}
        config = arguments.get("HyperParameterTuningJobConfig") or {}
        definition = arguments.get("TrainingJobDefinition")
        problems = []
        strategy = config.get("Strategy", "Bayesian")
        if strategy not in STRATEGIES:
            problems.append(Problem(f"{here}/HyperParameterTuningJobConfig/Strategy", f"{strategy!r} tuning does not run locally; Random, Grid and Bayesian do"))
        ranges = config.get("ParameterRanges") or {}
        if strategy == "Grid" and (ranges.get("IntegerParameterRanges") or ranges.get("ContinuousParameterRanges")):
            problems.append(Problem(f"{here}/HyperParameterTuningJobConfig/ParameterRanges", "Grid search takes categorical ranges only, as on SageMaker"))
        if strategy in ("Random", "Bayesian") and not (config.get("ResourceLimits") or {}).get("MaxNumberOfTrainingJobs"):
            problems.append(Problem(f"{here}/HyperParameterTuningJobConfig/ResourceLimits/MaxNumberOfTrainingJobs", f"{strategy} search needs MaxNumberOfTrainingJobs"))
        if strategy == "Bayesian" and any(r.get("ScalingType") == "ReverseLogarithmic" for kind in ("IntegerParameterRanges", "ContinuousParameterRanges") for r in ranges.get(kind) or []):
            problems.append(Problem(f"{here}/HyperParameterTuningJobConfig/ParameterRanges", "ReverseLogarithmic scaling is not searched by the local Bayesian tuner (use Linear, Logarithmic or Auto, or Random)"))
        if not (config.get("HyperParameterTuningJobObjective") or {}).get("MetricName"):
            problems.append(Problem(f"{here}/HyperParameterTuningJobConfig/HyperParameterTuningJobObjective", "a tuning job needs its objective's MetricName"))
        if not isinstance(definition, dict):
            return [*problems, Problem(f"{here}/TrainingJobDefinition", "a tuning job needs a TrainingJobDefinition (TrainingJobDefinitions are not run locally)")]
        training = dataclasses.replace(node, step={"Name": node.name, "Type": "Training", "Arguments": _training_request(definition, {})}, pointer=f"{here}/TrainingJobDefinition#")
        for problem in TrainingHandler().validate(training, runtimes):
            if "unsupported hyperparameter" not in problem.message:  # the tuned ones are added per job
                problems.append(Problem(problem.pointer.replace("#/Arguments", "").replace("/HyperParameters", "/StaticHyperParameters"), problem.message))
        return problems

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        arn = outcome.properties.get("HyperParameterTuningJobArn")
        return {"TuningJob": {"Arn": arn}} if arn else {}

    def detail(self, properties: dict[str, Any]) -> str | None:
        best = properties.get("BestTrainingJob") or {}
        metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        return f"best {best.get('TrainingJobName')}: {metric.get('MetricName')} {metric.get('Value')} with {best.get('TunedHyperParameters')}" if best else None

    def run(self, job: StepRun) -> StepOutcome:
        config = job.arguments["HyperParameterTuningJobConfig"]
        definition = job.arguments["TrainingJobDefinition"]
        objective = config["HyperParameterTuningJobObjective"]
        metric, maximize = objective["MetricName"], objective.get("Type", "Maximize") == "Maximize"
        drawn = candidates(config)
        parallel = max(1, int((config.get("ResourceLimits") or {}).get("MaxParallelTrainingJobs") or 1))
        trainer = TrainingHandler()
        tuning_name = job.job_name[:32]

        def run_one(index: int, values: dict[str, str]) -> dict[str, Any]:
            name = f"{tuning_name}-{index + 1:03d}-{hashlib.sha256(f'{job.job_name}{index}'.encode()).hexdigest()[:8]}"
            job.log.write(f"[{name}] {values}\n")
            sub = dataclasses.replace(job, arguments=_training_request(definition, values), job_name=name, job_dir=job.job_dir / name)
            started = datetime.now(timezone.utc).isoformat()
            outcome = trainer.run(sub)
            summary: dict[str, Any] = {
                "TrainingJobName": name, "TrainingJobArn": sub.arn("training-job"), "CreationTime": started,
                "TrainingJobStatus": "Completed" if outcome.status == SUCCEEDED else outcome.status, "TunedHyperParameters": values,
            }  # fmt: skip
            if outcome.status != SUCCEEDED:
                summary["FailureReason"] = outcome.failure_reason
                summary["ObjectiveStatus"] = "Failed"
                return summary
            found = {m["MetricName"]: m["Value"] for m in outcome.properties.get("FinalMetricDataList") or []}
            if metric not in found:
                summary.update(ObjectiveStatus="Failed", FailureReason=f"the job reported no {metric} (it reported {', '.join(sorted(found)) or 'no metric'})")
                return summary
            summary.update(ObjectiveStatus="Succeeded", FinalHyperParameterTuningJobObjectiveMetric={"Type": objective.get("Type", "Maximize"), "MetricName": metric, "Value": found[metric]})
            job.log.write(f"[{name}] {metric} = {found[metric]}\n")
            return summary

        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="tuning") as pool:
            if config.get("Strategy") == "Bayesian":
                summaries = _bayesian(config, maximize, parallel, lambda index, values: pool.submit(run_one, index, values).result, job.cancel.is_set)
            else:
                summaries = list(pool.map(lambda item: run_one(*item), enumerate(drawn)))
        if job.cancel.is_set():
            return StepOutcome(STOPPED, failure_reason="Stopped by the user")
        scored = [s for s in summaries if s.get("ObjectiveStatus") == "Succeeded"]
        scored.sort(key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], reverse=maximize)
        ranked = scored + [s for s in summaries if s.get("ObjectiveStatus") != "Succeeded"]
        counters = {"Completed": sum(s["TrainingJobStatus"] == "Completed" for s in summaries), "InProgress": 0, "RetryableError": 0,
                    "NonRetryableError": sum(s["TrainingJobStatus"] != "Completed" for s in summaries), "Stopped": 0}  # fmt: skip
        if not scored:
            reasons = "; ".join(f"{s['TrainingJobName']}: {s.get('FailureReason')}" for s in summaries[:3])
            return StepOutcome(FAILED, failure_reason=f"ClientError: no training job of the tuning job reported {metric}: {reasons}")
        properties = {
            "HyperParameterTuningJobName": job.job_name, "HyperParameterTuningJobArn": job.arn("hyper-parameter-tuning-job"),
            "HyperParameterTuningJobStatus": "Completed", "HyperParameterTuningJobConfig": config, "TrainingJobDefinition": definition,
            "TrainingJobStatusCounters": counters,
            "ObjectiveStatusCounters": {"Succeeded": len(scored), "Pending": 0, "Failed": len(summaries) - len(scored)},
            "BestTrainingJob": ranked[0], "TrainingJobSummaries": ranked,
        }  # fmt: skip
        return StepOutcome(SUCCEEDED, properties=properties)
