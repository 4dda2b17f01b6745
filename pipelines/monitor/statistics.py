"""``statistics.json`` in SageMaker's shape, from columns of strings.

Types are inferred as Deequ does on text: a column with any value that is not a number is
String; otherwise Fractional if any value has a decimal point, else Integral. Empty values are
missing. Numeric features get mean, sum, std_dev (population), min, max, ten equal-width KLL
buckets and the sketch itself; String features get distinct_count and categorical buckets.
Counts are written as floats, as the container writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.monitor.kll import KLLSketch

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
STRING = "String"
UNKNOWN = "Unknown"
_INTEGRAL = r"^\s*[-+]? ?\d+\s*$"
_FRACTIONAL = r"^\s*[-+]? ?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?\s*$"
MAX_CATEGORIES = 1000


@dataclass
class Profile:
    """What one column holds; enough to write its statistics and to check it."""

    name: str
    present: int
    missing: int
    integral: int
    fractional: int  # numbers with a decimal point or exponent (integral ones not included)
    values: np.ndarray  # every value that is a number
    categories: dict[str, int] = field(default_factory=dict)  # for String columns

    @property
    def inferred_type(self) -> str:
        if self.present == 0:
            return UNKNOWN
        if self.integral + self.fractional < self.present:
            return STRING
        return FRACTIONAL if self.fractional else INTEGRAL

    def match_ratio(self, expected: str) -> float:
        """Share of present values of the expected type (an integer is also a Fractional)."""
        if self.present == 0:
            return 1.0
        if expected == INTEGRAL:
            matching = self.integral
        elif expected == FRACTIONAL:
            matching = self.integral + self.fractional
        else:
            matching = self.present
        return matching / self.present

    @property
    def completeness(self) -> float:
        total = self.present + self.missing
        return self.present / total if total else 1.0


def profile(name: str, column: pa.Array, categories: bool | None = None) -> Profile:
    text = pc.utf8_trim_whitespace(column.cast(pa.string()))
    missing_mask = pc.or_(pc.is_null(text), pc.equal(text, ""))
    missing = int(pc.sum(missing_mask).as_py() or 0)
    present_text = text.filter(pc.invert(missing_mask))
    present = len(present_text)
    integral_mask = pc.match_substring_regex(present_text, _INTEGRAL)
    numeric_mask = pc.match_substring_regex(present_text, _FRACTIONAL)
    integral = int(pc.sum(integral_mask).as_py() or 0)
    numeric = int(pc.sum(numeric_mask).as_py() or 0)
    numbers = present_text.filter(numeric_mask)
    values = pc.cast(pc.replace_substring(numbers, " ", ""), pa.float64()).to_numpy(zero_copy_only=False) if numeric else np.empty(0)
    result = Profile(name, present, missing, integral, numeric - integral, values)
    if categories or (categories is None and result.inferred_type == STRING):
        counts = pc.value_counts(present_text)
        pairs = sorted(((str(v["values"]), int(v["counts"])) for v in counts.to_pylist()), key=lambda p: (-p[1], p[0]))
        result.categories = dict(pairs)
    return result


def feature_statistics(p: Profile, sketch: KLLSketch | None = None) -> dict[str, Any]:
    kind = p.inferred_type
    common = {"num_present": float(p.present), "num_missing": float(p.missing)}
    entry: dict[str, Any] = {"name": p.name, "inferred_type": kind}
    if kind in (INTEGRAL, FRACTIONAL):
        values = p.values
        sketch = sketch or KLLSketch().update(values)
        low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 0.0)
        entry["numerical_statistics"] = {
            "common": common,
            "mean": float(values.mean()) if len(values) else 0.0,
            "sum": float(values.sum()),
            "std_dev": float(values.std()) if len(values) else 0.0,
            "min": low,
            "max": high,
            "distribution": {"kll": {"buckets": sketch.buckets(low, high), "sketch": sketch.to_json()}},
        }
    else:
        top = list(p.categories.items())[:MAX_CATEGORIES]
        entry["string_statistics"] = {
            "common": common,
            "distinct_count": float(len(p.categories)),
            "distribution": {"categorical": {"buckets": [{"value": value, "count": float(count)} for value, count in top]}},
        }
    return entry


def statistics_document(profiles: list[Profile], item_count: int) -> dict[str, Any]:
    return {"version": 0.0, "dataset": {"item_count": int(item_count)}, "features": [feature_statistics(p) for p in profiles]}


def sketch_of(feature: dict[str, Any]) -> KLLSketch | None:
    """The KLL sketch of a numeric feature of a statistics.json, if it has one."""
    kll = ((feature.get("numerical_statistics") or {}).get("distribution") or {}).get("kll") or {}
    return KLLSketch.from_json(kll["sketch"]) if "sketch" in kll else None
