"""What every HTML report shares: the page and its style, the status badge, numbers as text, and
the line chart of a value over a schedule's executions. Inline SVG, no script, no network;
standard library only, Python 3.8.
"""

from __future__ import annotations

import html
from typing import Any, List, Optional, Tuple

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2733;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px} .muted{color:#5b6b7c}
.status{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;font-size:13px}
.ok{background:#dff5e3;color:#17662c} .bad{background:#fde4e1;color:#9b1c10} .fail{background:#eee;color:#444}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px} th,td{padding:6px 8px;border-bottom:1px solid #e3e8ee;text-align:left}
th{background:#f0f3f7} td.num{text-align:right;font-variant-numeric:tabular-nums} tr.violating td{background:#fff5f4}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:14px}
.card{background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:10px} .card h3{font-size:14px;margin:0 0 6px}
svg text{font-size:10px;fill:#5b6b7c}
"""


def page(title: str, body: str) -> str:
    return f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"


def status_badge(status: str) -> str:
    kind = "ok" if status == "Completed" else "bad" if status == "CompletedWithViolations" else "fail"
    return f'<span class="status {kind}">{html.escape(status)}</span>'


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def line_chart(name: str, points: List[Tuple[str, Optional[float]]], threshold: Optional[float], label: str, baseline: Optional[float] = None) -> str:
    width, height, pad = 320, 130, 24
    values = [v for _, v in points if v is not None]
    if not values:
        return ""
    references = [r for r in (threshold, baseline) if r is not None]
    low, high = min(values + references + [0.0]), max(values + references)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(1, len(points) - 1)

    def y(value: float) -> float:
        return height - pad - (height - 2 * pad) * (value - low) / span

    parts = [f'<svg class="chart timeline" data-feature="{html.escape(name)}" data-series="{label}" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{label} of {html.escape(name)} over time">']
    parts.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#aab"/>')
    for reference, color, text in ((threshold, "#d1495b", "threshold"), (baseline, "#4a6fa5", "baseline")):
        if reference is not None:
            parts.append(
                f'<line x1="{pad}" y1="{y(reference):.1f}" x2="{width - pad}" y2="{y(reference):.1f}" stroke="{color}" stroke-dasharray="4,3"/>'
                f'<text x="{width - pad}" y="{y(reference) - 3:.1f}" text-anchor="end" style="fill:{color}">{text} {reference:.3g}</text>'
            )
    coords = [(pad + i * step, y(v)) for i, (_, v) in enumerate(points) if v is not None]
    parts.append('<polyline fill="none" stroke="#e07a5f" stroke-width="2" points="' + " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords) + '"/>')
    for (x, yy), (when, value) in zip(coords, [p for p in points if p[1] is not None]):
        over = threshold is not None and value is not None and value > threshold
        parts.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3" fill="{"#d1495b" if over else "#e07a5f"}"><title>{html.escape(when)}: {value:.4g}</title></circle>')
    parts.append(f'<text x="{pad}" y="{height - 6}">{html.escape(points[0][0][5:16])}</text><text x="{width - pad}" y="{height - 6}" text-anchor="end">{html.escape(points[-1][0][5:16])}</text></svg>')
    return "".join(parts)
