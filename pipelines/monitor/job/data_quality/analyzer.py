"""The data-quality analysis: a baseline from a dataset, or a monitoring run against one.

Used by the monitoring job (``main.py``: ``baseline``, ``monitor``), by ``mlops monitor``, by
the QualityCheck handler and, as SageMaker's model-monitor-analyzer container does it, through
the environment (``environment.py``). Without baseline files it suggests a baseline
(statistics.json, constraints.json); with them it checks the data (statistics.json,
constraint_violations.json). An empty dataset or window is a failure with a reason.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from pipelines.monitor.job.capture import dataset
from pipelines.monitor.job.common import layout
from pipelines.monitor.job.common.result import CONSTRAINTS, METRICS, REPORT, STATISTICS, VIOLATIONS, JobFailed, Result, read_object, write_files
from pipelines.monitor.job.data_quality import checks, constraints, statistics

logger = logging.getLogger("pipelines.monitor.job.data_quality.analyzer")




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
    raise JobFailed(f"baseline {source}: expected {name} there, found {found}")


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
        raise JobFailed(f"No data in the baseline dataset {source}")
    stats = statistics.statistics_document(profiles, counters.rows)
    suggested = constraints.suggest(stats)
    write_files(output, {STATISTICS: stats, CONSTRAINTS: suggested, REPORT: {"dataset": counters.as_dict()}})
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
        raise JobFailed(f"No data to analyze in {source}{window}: {json.dumps(counters.as_dict())}")
    outcome = checks.run_checks(base_stats, base_constraints, profiles, counters.widths)
    stats = statistics.statistics_document(profiles, counters.rows)
    files: dict[str, Any] = {
        STATISTICS: stats,
        VIOLATIONS: {"violations": outcome.violations},
        REPORT: {"dataset": counters.as_dict(), "distances": outcome.distances},
    }
    if publish_metrics:
        files[METRICS] = {"namespace": "aws/sagemaker/Endpoints/data-metrics", "metrics": outcome.metrics}
    write_files(output, files)
    return Result("monitoring", output, outcome.violations, outcome.metrics, counters.as_dict())


def _profile_all(profiles: list[statistics.Profile], chunks: Iterator[dataset.Chunk]) -> None:
    """Feed every chunk to the profiles, in this thread, while the capture reader parses the next
    two files on its own (pyarrow and numpy release the GIL). Profiling the columns on two more
    threads only made a third busy thread for two cores: 3% slower on 1M records."""
    for chunk in chunks:
        for profile, column in zip(profiles, chunk):
            profile.add(column)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    document = read_object(path, what)
    if not isinstance(document.get("features"), list):
        raise JobFailed(f"{what}: {path} has no features list")
    return document
