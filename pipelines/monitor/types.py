"""The monitoring types, in one table: everything that differs between SageMaker's four.

A row says, for one ``MonitoringType``: its name on the CLI, the window it analyses by default
(``DataAnalysisStartTime``/``EndTime`` offsets), whether it merges ground truth, whether its job
definition is Clarify's (the baseline's analysis configuration as ``ConfigUri``), which step of
the monitoring pipeline runs it and in which mode of the analyzer bundle, on which image, what
its violations name, how an alarm names what it watches (with its default comparison and
threshold) and when an execution breaches it, and how its timeline is drawn. Everything else
(schedules, executions, alarms, reports, the CLI) reads the row: a new type is a row here, its
job module under ``job/``, and its branch in the monitoring pipeline.

Host side: rows import the job's modules only inside their functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from pipelines.core.errors import UsageError

GREATER, LESS = "GreaterThanThreshold", "LessThanThreshold"
DRIFT = "feature_baseline_drift_"


class Baseline(Protocol):
    """A schedule's baseline documents, as the type's rules read them; OSError, ValueError or the
    job's JobFailed when one cannot be read."""

    def statistics(self) -> dict[str, Any]: ...

    def constraints(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Alarm:
    """What an alarm watches (a feature, ``*``, or a metric), and when it breaches."""

    watched: str
    comparison: str
    threshold: float

    @property
    def words(self) -> str:
        subject = f"{DRIFT}{self.watched}" if self.comparison == GREATER and self.watched == "*" else self.watched
        return f"{subject} {'<' if self.comparison == LESS else '>'} {self.threshold}"


AlarmRule = Callable[[str, "str | None", "float | None", Baseline], Alarm]
Breach = Callable[[Mapping[str, Any], Mapping[str, float]], "str | None"]
Timeline = Callable[[Path, str, str, list, Baseline], Path]


@dataclass(frozen=True)
class MonitoringType:
    name: str  # SageMaker's MonitoringType
    slug: str  # mlops monitor schedule create --type
    offsets: tuple[str, str]  # the default DataAnalysisStartTime, DataAnalysisEndTime
    ground_truth: bool  # merges captured predictions with labels
    clarify: bool  # Clarify's job definition: the baseline's analysis_config.json is ConfigUri
    step: str  # the monitoring pipeline's step that runs it
    job_mode: str  # the analyzer bundle's mode that step runs
    image: str  # the image that step runs on
    watches: str  # what an alarm names: "feature" (--feature) or "metric" (--metric)
    subjects: tuple[str, ...]  # what each of its violations names, before its check and description
    alarm: AlarmRule
    breach: Breach
    timeline: Timeline
    environment: Mapping[str, str] = field(default_factory=dict)  # its job definition's Environment
    inputs: tuple[str, ...] = ()  # monitoring pipeline parameters it needs beyond the common ones


# -- alarms -----------------------------------------------------------------------------------
def _unreadable(schedule: str, what: str, exc: Exception) -> UsageError:
    return UsageError(f"{schedule}'s baseline {what} cannot be read ({exc})")


def _drift_alarm(schedule: str, watched: str | None, threshold: float | None, baseline: Baseline) -> Alarm:
    watched = watched or "*"
    if watched != "*":
        try:
            features = [str(f["name"]) for f in baseline.constraints().get("features", [])]
        except Exception as exc:  # noqa: BLE001 - the reader's OSError, ValueError or JobFailed
            raise _unreadable(schedule, "constraints", exc) from exc
        if watched not in features:
            raise UsageError(f"{schedule}'s baseline has no feature {watched!r}; alarm on one of {', '.join(features)}, or * for any")
    return Alarm(watched, GREATER, 0.1 if threshold is None else threshold)


def _drift_breach(alarm: Mapping[str, Any], metrics: Mapping[str, float]) -> str | None:
    drifts = {k[len(DRIFT) :]: v for k, v in metrics.items() if k.startswith(DRIFT)}
    if alarm["feature"] != "*":
        drifts = {k: v for k, v in drifts.items() if k == alarm["feature"]}
    over = {k: v for k, v in drifts.items() if v > alarm["threshold"]}
    if not over:
        return None
    worst = max(over, key=lambda k: over[k])
    return f"{DRIFT}{worst} = {over[worst]:.4f} > {alarm['threshold']}"


def _metric_breach(alarm: Mapping[str, Any], metrics: Mapping[str, float]) -> str | None:
    value = metrics.get(alarm["feature"])
    if value is None:
        return None
    below = alarm.get("comparison") == LESS
    if (value < alarm["threshold"]) if below else (value > alarm["threshold"]):
        return f"{alarm['feature']} = {value:.4f} {'<' if below else '>'} {alarm['threshold']}"
    return None


def _quality_alarm(schedule: str, metric: str | None, threshold: float | None, baseline: Baseline) -> Alarm:
    from pipelines.monitor.job.model_quality import quality

    known = (*quality.LOWER_IS_WORSE, *quality.HIGHER_IS_WORSE)
    if metric not in known:
        raise UsageError(f"{schedule} is a ModelQuality schedule: alarm on one of its metrics ({', '.join(known)}), not {metric!r}")
    if threshold is None:  # the schedule's constraint for it
        try:
            rule = (baseline.constraints().get(quality.CONSTRAINTS_KEY) or {}).get(metric) or {}
        except Exception as exc:  # noqa: BLE001 - the reader's OSError, ValueError or JobFailed
            raise _unreadable(schedule, "constraints", exc) from exc
        if not isinstance(rule.get("threshold"), (int, float)):
            raise UsageError(f"--threshold: none given and {schedule}'s constraints have no threshold for {metric}")
        threshold = float(rule["threshold"])
    return Alarm(metric, GREATER if metric in quality.HIGHER_IS_WORSE else LESS, threshold)


def _clarify_alarm(pattern: str, example: str, lower_is_worse: Callable[[str], bool], default: float) -> AlarmRule:
    """A Clarify monitor's metric: one its job publishes; those where lower is worse breach below
    their threshold (``default`` unless given), the others above theirs (no default)."""

    def rule(schedule: str, metric: str | None, threshold: float | None, baseline: Baseline) -> Alarm:
        if not metric or not re.fullmatch(pattern, metric):
            raise UsageError(f"{schedule}: alarm on {example}, not {metric!r}")
        if lower_is_worse(metric):
            return Alarm(metric, LESS, default if threshold is None else threshold)
        if threshold is None:
            raise UsageError(f"--threshold: {metric} has no default; give the value above which it breaches")
        return Alarm(metric, GREATER, threshold)

    return rule


# -- timelines --------------------------------------------------------------------------------
def _drift_timeline(path: Path, schedule: str, endpoint: str, executions: list, baseline: Baseline) -> Path:
    from pipelines.monitor.job.data_quality import constraints as settings
    from pipelines.monitor.job.html import report

    try:
        constraints, statistics = baseline.constraints(), baseline.statistics()
    except Exception:  # noqa: BLE001 - the timeline goes without thresholds; the execution said why
        constraints, statistics = {}, {}
    thresholds = {}
    for feature in constraints.get("features", []):
        config = settings.settings(constraints, feature)["distribution_constraints"]
        key = "categorical_comparison_threshold" if feature.get("inferred_type") == "String" else "comparison_threshold"
        thresholds[feature["name"]] = float(config.get(key, 0.1))
    means = {f["name"]: f["numerical_statistics"]["mean"] for f in statistics.get("features", []) if "numerical_statistics" in f}
    return report.timeline(path, schedule, endpoint, executions, thresholds, means)


def _quality_timeline(path: Path, schedule: str, endpoint: str, executions: list, baseline: Baseline) -> Path:
    from pipelines.monitor.job.html import report
    from pipelines.monitor.job.model_quality import quality

    try:
        constraints = baseline.constraints().get(quality.CONSTRAINTS_KEY) or {}
    except Exception:  # noqa: BLE001 - drawn without thresholds
        constraints = {}
    try:
        values = quality.scalar_metrics(baseline.statistics().get(quality.KEY) or {})
    except Exception:  # noqa: BLE001 - drawn without the baseline's values
        values = {}
    return report.quality_timeline(path, schedule, endpoint, executions, constraints, values)


def _clarify_timeline(name: str) -> Timeline:
    def draw(path: Path, schedule: str, endpoint: str, executions: list, baseline: Baseline) -> Path:
        from pipelines.monitor.job.html import clarify_report

        return clarify_report.timeline(path, schedule, endpoint, name, executions)

    return draw


SCIKIT_LEARN, XGBOOST = "sagemaker-scikit-learn:1.2-1", "sagemaker-xgboost:1.7-1"
TABLE: tuple[MonitoringType, ...] = (
    MonitoringType(
        "DataQuality", "data-quality", ("-PT1H", "-PT0H"), ground_truth=False, clarify=False, step="MonitorDataQuality", job_mode="monitor",
        image=SCIKIT_LEARN, watches="feature", subjects=("feature_name",), alarm=_drift_alarm, breach=_drift_breach, timeline=_drift_timeline,
    ),
    MonitoringType(
        "ModelQuality", "model-quality", ("-PT2H", "-PT1H"), ground_truth=True, clarify=False, step="MonitorModelQuality", job_mode="quality-monitor",
        image=SCIKIT_LEARN, watches="metric", subjects=("metric_name",), alarm=_quality_alarm, breach=_metric_breach, timeline=_quality_timeline,
        environment={"analysis_type": "MODEL_QUALITY", "problem_type": "BinaryClassification"},
    ),
    MonitoringType(
        "ModelBias", "bias", ("-PT2H", "-PT1H"), ground_truth=True, clarify=True, step="MonitorModelBias", job_mode="bias-monitor",
        image=SCIKIT_LEARN, watches="metric", subjects=("facet", "facet_value", "metric_name"),
        alarm=_clarify_alarm(r"bias_metric_[A-Z]+\.[^=]+=.+", "a metric of a facet group, e.g. bias_metric_DI.SEX=2", lambda m: m.startswith("bias_metric_DI."), 0.8),
        breach=_metric_breach, timeline=_clarify_timeline("ModelBias"), environment={"analysis_type": "MODEL_BIAS"}, inputs=("BiasConfigUri",),
    ),
    MonitoringType(
        "ModelExplainability", "feature-attribution", ("-PT1H", "-PT0H"), ground_truth=False, clarify=True, step="MonitorModelExplainability",
        job_mode="attribution-monitor", image=XGBOOST, watches="metric", subjects=("label", "metric_name"),
        alarm=_clarify_alarm(r"feature_.+|ExpectedValue", "feature_attribution_ndcg or feature_<feature> (Clarify's name)", lambda m: m == "feature_attribution_ndcg", 0.9),
        breach=_metric_breach, timeline=_clarify_timeline("ModelExplainability"), environment={"analysis_type": "MODEL_EXPLAINABILITY"}, inputs=("ModelDataUrl",),
    ),
)
def get(name: str) -> MonitoringType:
    """The row of SageMaker's type ``name``; a UsageError naming the four otherwise."""
    for row in TABLE:
        if row.name == name:
            return row
    raise UsageError(f"monitoring type {name!r} is not one of {', '.join(t.name for t in TABLE)}")


def by_slug(slug: str) -> MonitoringType:
    for row in TABLE:
        if row.slug == slug:
            return row
    raise UsageError(f"--type {slug!r} is not one of {', '.join(t.slug for t in TABLE)}")
