"""The table of monitoring types, used from outside: a new type is its row (and its job), and the
schedules, executions, alarms, retraining, timelines, violations and the CLI follow it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main as mlops
from pipelines.core.errors import UsageError
from pipelines.local.home import Home
from pipelines.monitor import types
from pipelines.monitor.queries import violations_frame
from pipelines.monitor.scheduler import JobOutcome, Monitor, Window
from tests.helpers.retrainers import FakeRetrainer

T0 = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
CAPTURE, OUTPUT = "s3://bucket/data-capture", "s3://bucket/monitoring"


def toy_timeline(path: Path, schedule: str, endpoint: str, executions: list, baseline: types.Baseline) -> Path:
    path.write_text(json.dumps({"schedule": schedule, "scores": [e["Metrics"].get("toy_score") for e in executions], "limit": baseline.constraints()["limit"]}))
    return path


TOY = types.MonitoringType(
    "ToyQuality", "toy", ("-PT3H", "-PT1H"), ground_truth=False, clarify=False, step="MonitorToyQuality", job_mode="toy-monitor",
    image=types.SCIKIT_LEARN, watches="metric", subjects=("toy_thing",),
    alarm=lambda schedule, metric, threshold, baseline: types.Alarm(metric or "toy_score", types.LESS, baseline.constraints()["limit"] if threshold is None else threshold),
    breach=types.TABLE[1].breach, timeline=toy_timeline, environment={"analysis_type": "TOY"},
)  # fmt: skip


class ToyJob:
    """The toy type's job: writes SageMaker's violations file where the report goes; a score per hour."""

    def __init__(self, home: Home, scores: list[float]) -> None:
        self.home, self.scores, self.windows = home, list(scores), []

    def run(self, window: Window) -> JobOutcome:
        self.windows.append(window)
        score = self.scores.pop(0)
        folder = self.home.objects().path(window.report_uri)
        folder.mkdir(parents=True, exist_ok=True)
        violations = [{"toy_thing": "score", "constraint_check_type": "toy_check", "description": f"score {score} below the limit"}] if score < 0.5 else []
        (folder / "constraint_violations.json").write_text(json.dumps({"violations": violations}))
        return JobOutcome("CompletedWithViolations" if violations else "Completed", len(violations), {"toy_score": score})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.setattr(types, "TABLE", (*types.TABLE, TOY))
    home = Home.resolve(tmp_path / "home")
    for name, document in (("statistics.json", {}), ("constraints.json", {"limit": 0.5})):
        path = home.objects().path(f"s3://bucket/baselines/toy/{name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document))
    return home


def test_a_new_type_is_its_row_and_its_job(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    assert mlops.main([
        "--home", str(home.root), "monitor", "schedule", "create", "--type", "toy", "--name", "toys", "--endpoint", "ep", "--capture", CAPTURE,
        "--baseline-statistics", "s3://bucket/baselines/toy/statistics.json", "--baseline-constraints", "s3://bucket/baselines/toy/constraints.json", "--output", OUTPUT,
    ]) == 0  # fmt: skip
    assert mlops.main(["--home", str(home.root), "monitor", "alarm", "create", "--name", "toy-drop", "--schedule", "toys", "--metric", "toy_score", "--periods", "2"]) == 0
    assert "toy-drop: toy_score < 0.5 for 2 execution(s) -> retrain" in capsys.readouterr().out  # the row's default threshold, from its baseline
    retrainer, job = FakeRetrainer(), ToyJob(home, [0.9, 0.4, 0.3])
    with Monitor(home, retrainer=retrainer, job=job) as monitor:
        described = monitor.schedules.describe_schedule("toys")
        outcomes = monitor.run_due(now=T0 + timedelta(hours=3, minutes=5), backfill_from=T0)
        decisions = monitor.decisions("toy-drop")
    assert described["MonitoringType"] == "ToyQuality" and described["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["Environment"]["analysis_type"] == "TOY"
    assert [o.status for o in outcomes] == ["Completed", "CompletedWithViolations", "CompletedWithViolations"]
    assert [(w.end - w.start, w.scheduled - w.end) for w in job.windows] == [(timedelta(hours=2), timedelta(hours=1))] * 3  # the row's offsets
    assert [d["decision"] for d in decisions] == ["retrain started"] and decisions[0]["reason"].startswith("toy_score = 0.3000 < 0.5")
    timeline = json.loads(home.objects().path(f"{OUTPUT}/ep/toys/timeline.html").read_text())
    assert timeline == {"schedule": "toys", "scores": [0.9, 0.4, 0.3], "limit": 0.5}
    assert list(violations_frame(home, "toys").columns) == ["toy_thing", "constraint_check_type", "description"]


def test_a_row_is_found_by_its_name_and_by_its_slug_and_others_are_refused() -> None:
    assert [t.name for t in types.TABLE] == ["DataQuality", "ModelQuality", "ModelBias", "ModelExplainability"]
    assert types.by_slug("feature-attribution") is types.get("ModelExplainability")
    with pytest.raises(UsageError, match="monitoring type 'Nope' is not one of DataQuality, ModelQuality, ModelBias, ModelExplainability"):
        types.get("Nope")
    with pytest.raises(UsageError, match="--type 'nope' is not one of data-quality, model-quality, bias, feature-attribution"):
        types.by_slug("nope")


@pytest.mark.parametrize(
    ("kind", "watched", "threshold", "expected"),
    [
        ("ModelBias", "bias_metric_DI.SEX=2", None, ("bias_metric_DI.SEX=2", types.LESS, 0.8)),
        ("ModelBias", "bias_metric_DPPL.SEX=2", 0.2, ("bias_metric_DPPL.SEX=2", types.GREATER, 0.2)),
        ("ModelExplainability", "feature_attribution_ndcg", None, ("feature_attribution_ndcg", types.LESS, 0.9)),
        ("ModelExplainability", "feature_LIMIT_BAL", 0.3, ("feature_LIMIT_BAL", types.GREATER, 0.3)),
        ("DataQuality", None, None, ("*", types.GREATER, 0.1)),
    ],
)
def test_each_rows_alarm_rule_and_its_defaults(kind: str, watched: Any, threshold: Any, expected: tuple) -> None:
    class NoBaseline:
        def statistics(self) -> dict:
            raise AssertionError("not read")

        constraints = statistics

    rule = types.get(kind).alarm("s", watched, threshold, NoBaseline())
    assert (rule.watched, rule.comparison, rule.threshold) == expected


def test_a_metric_a_clarify_monitor_does_not_publish_is_refused_naming_what_it_does() -> None:
    with pytest.raises(UsageError, match="s: alarm on a metric of a facet group, e.g. bias_metric_DI.SEX=2, not 'auc'"):
        types.get("ModelBias").alarm("s", "auc", None, None)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="--threshold: bias_metric_DPPL.SEX=2 has no default"):
        types.get("ModelBias").alarm("s", "bias_metric_DPPL.SEX=2", None, None)  # type: ignore[arg-type]


def test_the_monitoring_pipelines_types_are_the_tables(home: Home) -> None:
    """The monitoring pipeline's MonitoringType takes the table's names, the toy's too (a new type
    also needs its branch there: its step runs its job mode on its image)."""
    from pipelines.build import definition

    rendered = definition.render(definition.build("pipelines.monitoring.pipeline", {}))
    (parameter,) = [p for p in rendered["Parameters"] if p["Name"] == "MonitoringType"]
    assert parameter["EnumValues"] == [t.name for t in types.TABLE]
