"""The analyzer: a data-quality baseline, or a monitoring run against one.

Used three ways: by the local engine's QualityCheck handler, by ``mlops monitor``, and as
``python -m pipelines.monitor.job.data_quality.analyzer`` driven by the environment contract of SageMaker's
model-monitor-analyzer container, so a definition's QualityCheck (or a monitoring schedule's
job) runs as written:

    dataset_format             {"csv": {"header": true, "output_columns_position": "START"}}
                               or {"sagemakerCaptureJson": {...}} for captured traffic
    dataset_source             a file or directory with the data
    output_path                where statistics.json, constraints.json or
                               constraint_violations.json are written
    baseline_statistics        (monitoring) the baseline's statistics.json
    baseline_constraints       (monitoring) the baseline's constraints.json
    start_time, end_time       (monitoring capture) the analysis window, ISO-8601
    publish_cloudwatch_metrics Enabled: the metrics are written to cloudwatch_metrics.json

Without baseline files it suggests a baseline (statistics.json, constraints.json); with them
it checks the data (statistics.json, constraint_violations.json). ``analysis_type``
MODEL_QUALITY hands the run to ``model_quality.py``, as the container does. An empty dataset or window
is a failure with a reason, as in SageMaker. Exit codes: 0 done (violations or not), 1 failed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

from pipelines.fileio import write_text_atomic
from pipelines.monitor.job.capture import dataset
from pipelines.monitor.job.common import layout
from pipelines.monitor.job.common.result import Result
from pipelines.monitor.job.data_quality import checks, constraints, statistics

logger = logging.getLogger("pipelines.monitor.job.data_quality.analyzer")

STATISTICS = "statistics.json"
CONSTRAINTS = "constraints.json"
VIOLATIONS = "constraint_violations.json"
METRICS = "cloudwatch_metrics.json"
REPORT = "analysis_report.json"
CAPTURE_FORMAT = "sagemakerCaptureJson"


class AnalysisFailed(Exception):
    """The run could not produce a result (no data, unreadable baseline); the message is the reason."""


def baseline_file(folder: Path, name: str, source: str) -> Path:
    """The baseline file ``name`` (statistics.json, constraints.json) among what ``source`` held:
    the one file there, or the one so named; anything else is a clear failure, not a guess."""
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else ([folder] if folder.is_file() else [])
    if len(files) == 1:
        return files[0]
    named = [p for p in files if p.name == name]
    if len(named) == 1:
        return named[0]
    found = ", ".join(p.name for p in files[:5]) or "nothing"
    raise AnalysisFailed(f"baseline {source}: expected {name} there, found {found}")


def baseline(source: Path, output: Path, header: bool = True) -> Result:
    """statistics.json and suggested constraints.json for a CSV dataset (output column first)."""
    counters = dataset.Counters()
    names = dataset.header_of(source) if header else []
    if not names and not header:
        first = next(iter(layout.data_files(source, (".csv",))), None)
        width = len(first.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0].split(",")) if first else 0
        names = [f"_c{i}" for i in range(width)]
    profiles = [statistics.Profile(name) for name in names]
    _profile_all(profiles, dataset.read_csv(source, header, names, counters))
    if counters.rows == 0:
        raise AnalysisFailed(f"No data in the baseline dataset {source}")
    stats = statistics.statistics_document(profiles, counters.rows)
    suggested = constraints.suggest(stats)
    _write(output, {STATISTICS: stats, CONSTRAINTS: suggested, REPORT: {"dataset": counters.as_dict()}})
    return Result("baseline", output, counters=counters.as_dict())


def monitor(
    source: Path,
    output: Path,
    baseline_statistics: Path,
    baseline_constraints: Path,
    capture: bool = True,
    header: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
    publish_metrics: bool = False,
) -> Result:
    """statistics.json and constraint_violations.json of a dataset or capture window against a baseline."""
    base_stats = _read_json(baseline_statistics, "baseline_statistics")
    base_constraints = _read_json(baseline_constraints, "baseline_constraints")
    constraints.warn_unknown(base_constraints, str(baseline_constraints))
    names = [f["name"] for f in base_constraints.get("features", [])] or [f["name"] for f in base_stats.get("features", [])]
    types = {f["name"]: f.get("inferred_type") for f in base_constraints.get("features", [])}
    profiles = [statistics.Profile(name, keep_categories=types.get(name) == statistics.STRING) for name in names]
    counters = dataset.Counters()
    chunks = dataset.read_capture(source, names, counters, start, end) if capture else dataset.read_csv(source, header, names, counters)
    _profile_all(profiles, chunks)
    if counters.rows == 0:
        window = f" between {start.isoformat() if start else 'the beginning'} and {end.isoformat() if end else 'now'}" if capture else ""
        raise AnalysisFailed(f"No data to analyze in {source}{window}: {json.dumps(counters.as_dict())}")
    outcome = checks.run_checks(base_stats, base_constraints, profiles, counters.widths)
    stats = statistics.statistics_document(profiles, counters.rows)
    files: dict[str, Any] = {
        STATISTICS: stats,
        VIOLATIONS: {"violations": outcome.violations},
        REPORT: {"dataset": counters.as_dict(), "distances": outcome.distances},
    }
    if publish_metrics:
        files[METRICS] = {"namespace": "aws/sagemaker/Endpoints/data-metrics", "metrics": outcome.metrics}
    _write(output, files)
    return Result("monitoring", output, outcome.violations, outcome.metrics, counters.as_dict())


def _profile_all(profiles: list[statistics.Profile], chunks: Iterator[dataset.Chunk]) -> None:
    """Feed every chunk to the profiles, two columns at a time (pyarrow and numpy release the
    GIL); the capture reader parses the next files meanwhile."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="profile") as pool:
        for chunk in chunks:
            list(pool.map(lambda pair: pair[0].add(pair[1]), zip(profiles, chunk)))


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise AnalysisFailed(f"{what}: {path} does not exist") from exc
    except json.JSONDecodeError as exc:
        raise AnalysisFailed(f"{what}: {path} is not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("features"), list):
        raise AnalysisFailed(f"{what}: {path} has no features list")
    return document


def _write(output: Path, files: dict[str, Any]) -> None:
    output.mkdir(parents=True, exist_ok=True)
    for name, document in files.items():
        write_text_atomic(output / name, dumps(document) + "\n")


def dumps(document: Any) -> str:
    """Indented JSON with arrays of numbers on one line, as SageMaker's (Jackson's) files have
    them. The sketches' thousands of values go through the C encoder rather than one line each
    through the indenting (pure Python) one: a 3.4 MB statistics.json took 0.35 s, now 0.03 s."""
    inlined: list[str] = []
    token = secrets.token_hex(8)  # no value of the document can be mistaken for a placeholder

    def mark(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: mark(value) for key, value in node.items()}
        if isinstance(node, list):
            if node and not any(isinstance(item, dict) for item in node):
                inlined.append(json.dumps(node))
                return f"{token}-{len(inlined) - 1}"
            return [mark(item) for item in node]
        return node

    text = json.dumps(mark(document), indent=2)
    return re.sub(f'"{token}-(\\d+)"', lambda match: inlined[int(match.group(1))], text)


# -- the container's environment contract ----------------------------------------------------
def resolve_file(value: str | None, name: str) -> Path | None:
    """A baseline file given as a file or as the directory holding it."""
    if not value:
        return None
    path = Path(value)
    return path / name if path.is_dir() else path


def run_from_environment(environ: Mapping[str, str]) -> Result:
    if environ.get("analysis_type") == "MODEL_QUALITY":  # the same container, the model-quality analysis
        from pipelines.monitor.job.model_quality import analysis as model_quality

        return model_quality.run_from_environment(environ)
    try:
        dataset_format = json.loads(environ.get("dataset_format") or '{"csv": {"header": true}}')
    except json.JSONDecodeError as exc:
        raise AnalysisFailed(f"dataset_format is not JSON: {exc.msg}") from exc
    source = environ.get("dataset_source")
    output = environ.get("output_path")
    if not source or not output:
        raise AnalysisFailed("dataset_source and output_path are required")
    statistics_file = resolve_file(environ.get("baseline_statistics"), STATISTICS)
    constraints_file = resolve_file(environ.get("baseline_constraints"), CONSTRAINTS)
    capture = CAPTURE_FORMAT in dataset_format
    header = bool((dataset_format.get("csv") or {}).get("header", False))
    if statistics_file is None and constraints_file is None:
        return baseline(Path(source), Path(output), header=header)
    if statistics_file is None or constraints_file is None:
        raise AnalysisFailed("a monitoring run needs both baseline_statistics and baseline_constraints")
    return monitor(
        Path(source),
        Path(output),
        statistics_file,
        constraints_file,
        capture=capture,
        header=header,
        start=layout.parse_time(environ.get("start_time")),
        end=layout.parse_time(environ.get("end_time")),
        publish_metrics=environ.get("publish_cloudwatch_metrics", "Disabled") == "Enabled",
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        result = run_from_environment(os.environ)
    except AnalysisFailed as exc:
        print(f"analysis failed: {exc}", file=sys.stderr)
        return 1
    logger.info("%s: %s (%s)", result.kind, result.message, json.dumps(result.counters))
    for item in result.violations:
        logger.info("violation: %s %s: %s", item.get("feature_name", item.get("metric_name")), item["constraint_check_type"], item["description"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
