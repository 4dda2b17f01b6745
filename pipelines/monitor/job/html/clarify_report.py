"""HTML reports of the bias and explainability analyses, drawn like the drift reports (inline
SVG, no script, no network): disparate impact per facet group against its band, each group's
metrics as bars around zero, global feature importance, and a beeswarm of the rows' SHAP values
coloured by the feature's value.

Part of the analyzer bundle: standard library and numpy, Python 3.8 (it also runs on the
built-in XGBoost image).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pipelines.core.fileio import write_text_atomic
from pipelines.monitor.job.clarify.bias import numeric
from pipelines.monitor.job.html.page import fmt, page

BEESWARM_FEATURES = 12
BEESWARM_ROWS = 400


def _metric_bars(metrics: List[Dict[str, Any]], skip: Sequence[str] = ()) -> str:
    """Horizontal bars around zero, values clipped to [-1, 1] (the tooltip has the value)."""
    shown = [m for m in metrics if m["name"] not in skip]
    width, row, label = 320, 16, 54
    height = row * len(shown) + 8
    middle = label + (width - label) / 2
    half = (width - label) / 2 - 4
    parts = [f'<svg class="chart metrics" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="bias metrics">']
    parts.append(f'<line x1="{middle:.1f}" y1="0" x2="{middle:.1f}" y2="{height}" stroke="#aab"/>')
    for i, item in enumerate(shown):
        y = 4 + i * row
        value = numeric(item.get("value"))
        parts.append(f'<text x="0" y="{y + 11}">{html.escape(item["name"])}</text>')
        if value is None:
            parts.append(f'<text x="{middle + 4:.1f}" y="{y + 11}"><title>{html.escape(str(item.get("error") or item.get("value")))}</title>{html.escape(str(item.get("value") or "n/a"))}</text>')
            continue
        length = half * max(-1.0, min(1.0, value))
        x = middle if length >= 0 else middle + length
        parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{abs(length):.1f}" height="{row - 5}" fill="{"#4a6fa5" if value >= 0 else "#e07a5f"}"><title>{html.escape(item["description"])}: {value:.4g}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def _band(value: Optional[float], band: Tuple[float, float]) -> str:
    """Disparate impact on a 0-2 scale with the band shaded."""
    width, top = 180, 2.0
    low, high = band
    parts = [f'<svg class="chart band" viewBox="0 0 {width} 16" width="{width}" role="img" aria-label="disparate impact {fmt(value)}">']
    parts.append(f'<rect x="0" y="4" width="{width}" height="8" fill="#eef1f4"/><rect x="{width * low / top:.1f}" y="4" width="{width * (high - low) / top:.1f}" height="8" fill="#dff5e3"/>')
    if value is not None:
        inside = low <= value <= high
        parts.append(f'<line x1="{width * min(value, top) / top:.1f}" y1="0" x2="{width * min(value, top) / top:.1f}" y2="16" stroke="{"#17662c" if inside else "#d1495b"}" stroke-width="3"/>')
    parts.append("</svg>")
    return "".join(parts)


def bias_report(path: Path, document: Dict[str, Any], band: Tuple[float, float], rows: Dict[str, int]) -> Path:
    """``report.html`` of a bias analysis (pre- and post-training, Clarify's analysis.json)."""
    post = document.get("post_training_bias_metrics") or {}
    pre = document.get("pre_training_bias_metrics") or {}
    summary, cards = [], []
    for facet, entries in (post.get("facets") or pre.get("facets") or {}).items():
        for index, entry in enumerate(entries):
            group = f"{facet} = {entry['value_or_threshold']}"
            metrics = entry["metrics"]
            di = next((numeric(m.get("value")) for m in metrics if m["name"] == "DI"), None)
            inside = di is not None and band[0] <= di <= band[1]
            if post:
                summary.append(
                    f'<tr class="{"" if inside else "violating"}"><td>{html.escape(group)}</td><td class=num>{fmt(di)}</td>'
                    f"<td>{_band(di, band)}</td><td>{'within' if inside else 'outside'}</td></tr>"
                )
            pre_entries = (pre.get("facets") or {}).get(facet) or []
            pre_metrics = pre_entries[index]["metrics"] if index < len(pre_entries) else []
            charts = ""
            if pre_metrics:
                charts += f"<div class=muted>pre-training (labels)</div>{_metric_bars(pre_metrics)}"
            if post:
                charts += f"<div class=muted>post-training (predictions; DI above)</div>{_metric_bars(metrics, skip=('DI',))}"
            cards.append(f'<div class="card"><h3>{html.escape(group)}</h3>{charts}</div>')
    label = post.get("label") or pre.get("label") or ""
    favourable = post.get("label_value_or_threshold") or pre.get("label_value_or_threshold") or ""
    counts = ", ".join(f"{count} {html.escape(name)} rows" for name, count in rows.items())
    body = (
        "<h1>Bias report</h1>"
        f"<p class=muted>Favourable outcome: {html.escape(label)} = {html.escape(favourable)}. {counts}. "
        "The sensitive group of each facet is compared with the rest; metrics as SageMaker Clarify defines them.</p>"
    )
    if summary:
        body += (
            f"<h2>Disparate impact (band {band[0]:g} - {band[1]:g})</h2>"
            f"<table><tr><th>facet group</th><th>DI</th><th>0 - 2 (green: the band)</th><th></th></tr>{''.join(summary)}</table>"
        )
    body += f'<h2>Metrics per facet group</h2><div class="grid">{"".join(cards)}</div>'
    write_text_atomic(path, page("Bias report", body))
    return path


def _importance(global_shap: Dict[str, float], baseline: Optional[Dict[str, float]] = None) -> str:
    """Mean |SHAP| per feature, largest first; with a baseline, its value as a dark tick."""
    ranked = sorted(global_shap.items(), key=lambda item: -item[1])
    width, row, label = 420, 16, 110
    top = max([v for _, v in ranked] + list((baseline or {}).values()) + [1e-12])
    scale = (width - label - 50) / top
    parts = [f'<svg class="chart importance" viewBox="0 0 {width} {row * len(ranked) + 8}" width="100%" role="img" aria-label="global feature importance">']
    for i, (name, value) in enumerate(ranked):
        y = 4 + i * row
        length = scale * value
        parts.append(f'<text x="0" y="{y + 11}">{html.escape(name)}</text><rect x="{label}" y="{y + 2}" width="{length:.1f}" height="{row - 5}" fill="#4a6fa5"><title>{value:.4g}</title></rect>')
        if baseline and name in baseline:
            x = label + scale * baseline[name]
            parts.append(f'<line class="baseline" x1="{x:.1f}" y1="{y + 1}" x2="{x:.1f}" y2="{y + row - 2}" stroke="#1d2733" stroke-width="2"><title>baseline {baseline[name]:.4g}</title></line>')
        parts.append(f'<text x="{label + length + 4:.1f}" y="{y + 11}">{value:.3g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _beeswarm(values: np.ndarray, features: np.ndarray, names: Sequence[str], order: Sequence[str]) -> str:
    """Each row's SHAP value per feature (x), coloured from blue (low feature value) to red (high)."""
    shown = [n for n in order[:BEESWARM_FEATURES]]
    if len(values) > BEESWARM_ROWS:  # evenly spaced rows: the same file for the same data
        picked = np.linspace(0, len(values) - 1, BEESWARM_ROWS).round().astype(int)
        values, features = values[picked], features[picked]
    columns = [list(names).index(n) for n in shown]
    width, row, label = 520, 26, 110
    height = row * len(shown) + 24
    span = float(np.abs(values[:, columns]).max()) if len(values) else 1.0
    span = span or 1.0
    middle = label + (width - label) / 2
    scale = ((width - label) / 2 - 6) / span
    parts = [f'<svg class="chart beeswarm" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="SHAP values per row">']
    parts.append(f'<line x1="{middle:.1f}" y1="0" x2="{middle:.1f}" y2="{height - 20}" stroke="#aab"/>')
    for i, (name, column) in enumerate(zip(shown, columns)):
        y = 4 + i * row + row / 2
        parts.append(f'<text x="0" y="{y + 3:.1f}">{html.escape(name)}</text>')
        raw = features[:, column]
        ranks = raw.argsort().argsort() / max(1, len(raw) - 1) if len(raw) else raw
        for j, (shap, colour) in enumerate(zip(values[:, column], ranks)):
            jitter = ((j * 0.6180339887) % 1 - 0.5) * (row - 8)
            red, blue = int(40 + 200 * colour), int(240 - 200 * colour)
            parts.append(f'<circle cx="{middle + shap * scale:.1f}" cy="{y + jitter:.1f}" r="1.8" fill="rgb({red},70,{blue})" fill-opacity="0.7"/>')
    parts.append(
        f'<text x="{label}" y="{height - 4}">{-span:.2g}</text><text x="{middle:.1f}" y="{height - 4}" text-anchor="middle">SHAP value (log-odds)</text>'
        f'<text x="{width}" y="{height - 4}" text-anchor="end">{span:.2g}</text></svg>'
    )
    return "".join(parts)


def explainability_report(
    path: Path, global_shap: Dict[str, float], expected_value: float, values: np.ndarray, features: np.ndarray, names: Sequence[str],
    title: str = "Explainability report", baseline: Optional[Dict[str, float]] = None,
) -> Path:  # fmt: skip
    """``report.html`` of an explanation: global importance (against a baseline's) and the beeswarm."""
    order = [name for name, _ in sorted(global_shap.items(), key=lambda item: -item[1])]
    body = (
        f"<h1>{html.escape(title)}</h1>"
        f"<p class=muted>Exact SHAP values (tree SHAP, computed by XGBoost) of {len(values)} rows, in log-odds: each row's values plus the "
        f"expected value {expected_value:.4g} sum to its margin.</p>"
        f"<h2>Global importance (mean |SHAP|{'; dark tick: the baseline' if baseline else ''})</h2>{_importance(global_shap, baseline)}"
        f"<h2>SHAP values of the rows (blue: low feature value, red: high)</h2>{_beeswarm(values, features, names, order)}"
    )
    write_text_atomic(path, page(title, body))
    return path


def timeline(path: Path, schedule: str, endpoint: str, monitoring_type: str, executions: List[Dict[str, Any]]) -> Path:
    """``timeline.html`` of a ModelBias schedule (each facet group's DI and DPPL over the
    executions) or a ModelExplainability one (the nDCG against its 0.9 threshold, and the six
    features with the largest attributions in the latest execution)."""
    from pipelines.monitor.job.html.page import line_chart, status_badge

    metrics = [e.get("Metrics", {}) for e in executions]
    if monitoring_type == "ModelBias":
        names = sorted({k for m in metrics for k in m if k.startswith(("bias_metric_DI.", "bias_metric_DPPL."))})
        references = {n: (1.0 if n.startswith("bias_metric_DI.") else 0.0) for n in names}
        what = "disparate impact and DPPL per facet group (dashed: the ideal)"
    else:
        latest = next((m for m in reversed(metrics) if m), {})
        features = sorted((k for k in latest if k.startswith("feature_") and k != "feature_attribution_ndcg"), key=lambda k: -latest[k])[:6]
        names = ["feature_attribution_ndcg", *features]
        references = {"feature_attribution_ndcg": 0.9}
        what = "the nDCG of the attribution ranking (dashed: Clarify's 0.9) and the largest attributions"
    rows = "".join(
        f"<tr><td>{html.escape(e['ScheduledTime'])}</td><td>{status_badge(e['MonitoringExecutionStatus'])}</td>"
        f"<td class=num>{e.get('Violations', '-')}</td><td>{html.escape(e.get('FailureReason') or '')}</td></tr>"
        for e in executions
    )
    cards = []
    for name in names:
        points = [(e["ScheduledTime"], e.get("Metrics", {}).get(name)) for e in executions]
        chart = line_chart(name, points, None, name, references.get(name))
        if chart:
            cards.append(f'<div class="card"><h3>{html.escape(name)}</h3>{chart}</div>')
    title = "Bias drift" if monitoring_type == "ModelBias" else "Feature attribution drift"
    body = (
        f"<h1>{title} over time: {html.escape(endpoint)} / {html.escape(schedule)}</h1>"
        f"<p class=muted>{len(executions)} executions; {what}.</p>"
        f"<h2>Executions</h2><table><tr><th>scheduled</th><th>status</th><th>violations</th><th>failure</th></tr>{rows}</table>"
        f'<h2>Metrics</h2><div class="grid">{"".join(cards)}</div>'
    )
    write_text_atomic(path, page(f"{schedule} {title.lower()}", body))
    return path
