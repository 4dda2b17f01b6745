"""HTML reports: one per monitoring execution, and a timeline across a schedule's executions.

The charts SageMaker Studio draws, as inline SVG (no script, no network): per feature, the
current distribution over the baseline's, the drift distance against its threshold, and over
time the drift distance and the current mean against the baseline's.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines.core.fileio import write_text_atomic
from pipelines.monitor.job.html.page import fmt, line_chart, page, status_badge


def _bars(baseline: dict[str, Any], current: dict[str, Any], name: str) -> str:
    """Baseline and current shares over common equal-width buckets, both counted from their sketches."""
    from pipelines.monitor.job.data_quality.statistics import sketch_of

    base_sketch, current_sketch = sketch_of({"numerical_statistics": baseline}), sketch_of({"numerical_statistics": current})
    if base_sketch is None or current_sketch is None or not base_sketch.count or not current_sketch.count:
        return ""
    low, high = min(baseline["min"], current["min"]), max(baseline["max"], current["max"])
    shares_b = [b["count"] / base_sketch.count for b in base_sketch.buckets(low, high)]
    shares_c = [b["count"] / current_sketch.count for b in current_sketch.buckets(low, high)]
    width, height, pad = 300, 120, 18
    top = max(shares_b + shares_c + [1e-9])
    slot = (width - 2 * pad) / len(shares_b)
    parts = [f'<svg class="chart distribution" data-feature="{html.escape(name)}" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="distribution of {html.escape(name)}">']
    for i, (b, c) in enumerate(zip(shares_b, shares_c)):
        x = pad + i * slot
        hb, hc = (height - 2 * pad) * b / top, (height - 2 * pad) * c / top
        parts.append(f'<rect x="{x:.1f}" y="{height - pad - hb:.1f}" width="{slot * 0.45:.1f}" height="{hb:.1f}" fill="#9db4cc"><title>baseline {b:.1%}</title></rect>')
        parts.append(f'<rect x="{x + slot * 0.47:.1f}" y="{height - pad - hc:.1f}" width="{slot * 0.45:.1f}" height="{hc:.1f}" fill="#e07a5f"><title>current {c:.1%}</title></rect>')
    parts.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#aab"/>')
    parts.append(f'<text x="{pad}" y="{height - 4}">{fmt(low)}</text><text x="{width - pad}" y="{height - 4}" text-anchor="end">{fmt(high)}</text>')
    parts.append(f'<text x="{pad}" y="12">■ baseline</text><text x="{pad + 70}" y="12" style="fill:#e07a5f">■ current</text></svg>')
    return "".join(parts)


def _gauge(distance: float | None, threshold: float) -> str:
    if distance is None:
        return "-"
    width = 120
    full = max(threshold * 2, distance, 1e-9)
    color = "#d1495b" if distance > threshold else "#66a182"
    return (
        f'<svg class="chart gauge" viewBox="0 0 {width} 14" width="{width}" role="img" aria-label="drift {distance:.3f}">'
        f'<rect x="0" y="3" width="{width}" height="8" fill="#eef1f4"/>'
        f'<rect x="0" y="3" width="{width * distance / full:.1f}" height="8" fill="{color}"/>'
        f'<line x1="{width * threshold / full:.1f}" y1="0" x2="{width * threshold / full:.1f}" y2="14" stroke="#333" stroke-dasharray="2,2"/></svg>'
        f" {distance:.4f}"
    )


def execution_report(output: Path, baseline_statistics: Path, schedule: str, endpoint: str, scheduled: datetime, window: tuple[datetime, datetime], status: str) -> Path:
    """``report.html`` beside the execution's statistics.json and constraint_violations.json."""
    current = json.loads((output / "statistics.json").read_text())
    violations = json.loads((output / "constraint_violations.json").read_text())["violations"]
    details = json.loads((output / "analysis_report.json").read_text())
    baseline = {f["name"]: f for f in json.loads(Path(baseline_statistics).read_text()).get("features", [])}
    distances = details.get("distances", {})
    flagged = {v["feature_name"] for v in violations}
    rows, cards = [], []
    for feature in current["features"]:
        name = feature["name"]
        base = baseline.get(name, {})
        b_num, c_num = base.get("numerical_statistics") or {}, feature.get("numerical_statistics") or {}
        rows.append(
            f'<tr class="{"violating" if name in flagged else ""}"><td>{html.escape(name)}</td><td>{html.escape(feature["inferred_type"])}</td>'
            f'<td class=num>{fmt(b_num.get("mean"))}</td><td class=num>{fmt(c_num.get("mean"))}</td>'
            f'<td class=num>{fmt(c_num.get("common", feature.get("string_statistics", {}).get("common", {})).get("num_missing"))}</td>'
            f"<td>{_gauge(distances.get(name), 0.1)}</td></tr>"
        )
        chart = _bars(b_num, c_num, name) if b_num and c_num else ""
        if chart:
            cards.append(f'<div class="card"><h3>{html.escape(name)}{" ⚠" if name in flagged else ""}</h3>{chart}</div>')
    violation_rows = "".join(
        f"<tr><td>{html.escape(v['feature_name'])}</td><td>{html.escape(v['constraint_check_type'])}</td><td>{html.escape(v['description'])}</td></tr>" for v in violations
    ) or '<tr><td colspan=3 class="muted">No violations.</td></tr>'
    counts = details.get("dataset", {})
    body = (
        f"<h1>Data quality: {html.escape(endpoint)} / {html.escape(schedule)}</h1>"
        f'<p class=muted>Scheduled {scheduled:%Y-%m-%d %H:%M} UTC; data from {window[0]:%Y-%m-%d %H:%M} to {window[1]:%H:%M}; '
        f"{counts.get('rows', 0)} rows from {counts.get('records', 0)} captured records ({counts.get('malformed_lines', 0)} malformed lines, "
        f"{counts.get('undecodable_payloads', 0)} undecodable payloads) {status_badge(status)}</p>"
        f"<h2>Violations ({len(violations)})</h2><table><tr><th>feature</th><th>check</th><th>description</th></tr>{violation_rows}</table>"
        f"<h2>Features</h2><table><tr><th>feature</th><th>type</th><th>baseline mean</th><th>current mean</th><th>missing</th><th>drift distance (dashed: threshold)</th></tr>{''.join(rows)}</table>"
        f'<h2>Distributions</h2><div class="grid">{"".join(cards)}</div>'
    )
    target = output / "report.html"
    write_text_atomic(target, page(f"{schedule} {scheduled:%Y-%m-%d %H:%M}", body))
    return target


def timeline(path: Path, schedule: str, endpoint: str, executions: list[dict[str, Any]], thresholds: dict[str, float], baseline_means: dict[str, float] | None = None) -> Path:
    """``timeline.html``: per feature, drift distance and current mean over the executions."""
    features = sorted({k[len("feature_baseline_drift_") :] for e in executions for k in e.get("Metrics", {}) if k.startswith("feature_baseline_drift_")})
    rows = "".join(f"<tr><td>{html.escape(e['ScheduledTime'])}</td><td>{status_badge(e['MonitoringExecutionStatus'])}</td><td class=num>{e.get('Violations', '-')}</td><td>{html.escape(e.get('FailureReason') or '')}</td></tr>" for e in executions)
    cards: list[Any] = []
    for name in features:
        drift = [(e["ScheduledTime"], e.get("Metrics", {}).get(f"feature_baseline_drift_{name}")) for e in executions]
        mean = [(e["ScheduledTime"], e.get("Metrics", {}).get(f"feature_mean_{name}")) for e in executions]
        over = any(v is not None and v > thresholds.get(name, 0.1) for _, v in drift)
        cards.append(
            (
                not over,
                name,
                f'<div class="card"><h3>{html.escape(name)}{" ⚠" if over else ""}</h3>'
                f"<div class=muted>drift distance</div>{line_chart(name, drift, thresholds.get(name, 0.1), 'drift')}"
                f"<div class=muted>mean (dashed: baseline)</div>{line_chart(name, mean, None, 'mean', (baseline_means or {}).get(name))}</div>",
            )
        )
    cards = [card for _, _, card in sorted(cards)]  # features that drifted first
    body = (
        f"<h1>Drift over time: {html.escape(endpoint)} / {html.escape(schedule)}</h1>"
        f"<p class=muted>{len(executions)} executions. Per feature: drift distance against its threshold (dashed), and the current mean.</p>"
        f"<h2>Executions</h2><table><tr><th>scheduled</th><th>status</th><th>violations</th><th>failure</th></tr>{rows}</table>"
        f'<h2>Features</h2><div class="grid">{"".join(cards)}</div>'
    )
    write_text_atomic(path, page(f"{schedule} timeline", body))
    return path


QUALITY_METRICS = ("auc", "accuracy", "precision", "recall", "f1", "false_positive_rate")


def quality_timeline(path: Path, schedule: str, endpoint: str, executions: list[dict[str, Any]], constraints: dict[str, Any], baseline: dict[str, float]) -> Path:
    """``timeline.html`` of a model-quality schedule: each metric over the executions, with the
    baseline's value and the constraint's threshold drawn."""
    rows = "".join(
        f"<tr><td>{html.escape(e['ScheduledTime'])}</td><td>{status_badge(e['MonitoringExecutionStatus'])}</td>"
        f"<td class=num>{fmt(e.get('Metrics', {}).get('auc'))}</td><td class=num>{fmt(e.get('Metrics', {}).get('estimated_auc'))}</td>"
        f"<td class=num>{e.get('Violations', '-')}</td><td>{html.escape(e.get('FailureReason') or '')}</td></tr>"
        for e in executions
    )
    cards = []
    for name in [n for metric in QUALITY_METRICS for n in (metric, f"estimated_{metric}")]:
        points = [(e["ScheduledTime"], e.get("Metrics", {}).get(name)) for e in executions]
        rule = constraints.get(name.removeprefix("estimated_")) or {}
        threshold = rule.get("threshold") if isinstance(rule.get("threshold"), (int, float)) else None
        lower_is_worse = rule.get("comparison_operator", "LessThanThreshold").startswith("LessThan")
        chart = line_chart(name, points, threshold, name, baseline.get(name.removeprefix("estimated_")))
        if chart:
            worse = "below" if lower_is_worse else "above"
            cards.append(f'<div class="card"><h3>{html.escape(name)}</h3><div class=muted>dashed: baseline and threshold (a violation {worse} it)</div>{chart}</div>')
    body = (
        f"<h1>Model quality over time: {html.escape(endpoint)} / {html.escape(schedule)}</h1>"
        f"<p class=muted>{len(executions)} executions: captured predictions merged with their ground truth, against the baseline; "
        "estimated_*: the same window's metrics estimated from its predictions alone (confidence-based, the baseline's calibration), "
        "there before the labels come.</p>"
        f"<h2>Executions</h2><table><tr><th>scheduled</th><th>status</th><th>AUC</th><th>estimated AUC</th><th>violations</th><th>failure</th></tr>{rows}</table>"
        f'<h2>Metrics</h2><div class="grid">{"".join(cards)}</div>'
    )
    write_text_atomic(path, page(f"{schedule} model quality", body))
    return path

