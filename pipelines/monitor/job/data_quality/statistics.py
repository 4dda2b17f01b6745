"""``statistics.json`` in SageMaker's shape, accumulated column by column, chunk by chunk.

Types are inferred as Deequ does on text, with its patterns: a column with any value that is
not a plain decimal number (``6.7e-05`` and ``nan`` are not) is String; otherwise Fractional
if any value has a decimal point, else Integral.
Empty values are missing. Numeric features get mean, sum, std_dev (population), min, max, ten
equal-width KLL buckets and the sketch itself; String features get distinct_count and
categorical buckets. Counts are written as floats, as the container writes them.

A :class:`Profile` takes its column in chunks (a capture file at a time), so memory stays
bounded by one chunk however many records a window holds. Sums do not depend on the numpy
version (:func:`stable_sum`): the job on SageMaker's scikit-learn image (numpy 1.24) writes the
same bytes as the twin (numpy 2).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.monitor.job.data_quality.kll import KLLSketch

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
STRING = "String"
UNKNOWN = "Unknown"
# Deequ's patterns (StatefulDataType), without exponents: "6.7e-05" is text.
_INTEGRAL = r"^[-+]? ?\d+$"
_FRACTIONAL = r"^[-+]? ?(\d+\.\d*|\.\d+|\d+)$"
MAX_CATEGORIES = 1000
LANES = 1024


def stable_sum(values: np.ndarray) -> float:
    """The sum of ``values``, the same bits under any numpy version, as fast as ``values.sum()``.

    numpy's own reduction (pairwise, unrolled, SIMD) changed between 1.24 and 2.x, and with it
    the last bits of a column's sum, mean and std_dev. Here every one of ``LANES`` lanes adds its
    values in order (an element-wise add down the rows, which IEEE fixes), and the lanes and the
    tail are added exactly (``math.fsum``).
    """
    whole = len(values) // LANES * LANES
    lanes = values[:whole].reshape(-1, LANES).sum(axis=0).tolist() if whole else []
    return math.fsum(lanes + values[whole:].tolist())


@dataclass
class Profile:
    """What one column holds: counts by type, moments, a KLL sketch, and categories."""

    name: str
    keep_categories: bool = False
    present: int = 0
    missing: int = 0
    integral: int = 0
    fractional: int = 0  # numbers with a decimal point or exponent (integral ones not included)
    total: float = 0.0
    squares: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")
    sketch: KLLSketch = field(default_factory=KLLSketch)
    categories: Counter = field(default_factory=Counter)

    def add(self, column: Any) -> "Profile":
        """Take the next chunk of the column: strings (nulls and blanks are missing), or numbers
        already parsed (a ``dataset.NumericColumn``)."""
        if hasattr(column, "values") and hasattr(column, "integral"):
            self.present += len(column.values)
            self.integral += column.integral
            self.fractional += column.fractional
            self._add_values(column.values)
            if self.keep_categories:
                self.categories.update(str(v) for v in column.values)
            return self
        text = column.cast(pa.string())
        present_text = text.drop_null()
        values = _all_numbers(present_text)
        if values is None or pc.any(pc.or_(pc.match_substring(present_text, "e"), pc.match_substring(present_text, "E"))).as_py():
            return self._add_slowly(text)  # text, or exponents (text to Deequ): typed value by value
        self.missing += len(text) - len(present_text)
        self.present += len(present_text)
        integral = len(present_text) - int(pc.sum(pc.match_substring(present_text, ".")).as_py() or 0)
        self.integral += integral
        self.fractional += len(present_text) - integral
        self._add_values(values)
        if self.keep_categories:
            self._add_categories(present_text)
        return self

    def _add_slowly(self, text: pa.Array) -> "Profile":
        """Any text at all: trimmed, blanks missing, each value typed by Deequ's patterns."""
        text = pc.utf8_trim_whitespace(text)
        missing_mask = pc.or_kleene(pc.is_null(text), pc.equal(text, ""))
        present_text = text.filter(pc.invert(pc.fill_null(missing_mask, True)))
        self.missing += len(text) - len(present_text)
        self.present += len(present_text)
        integral_mask = pc.match_substring_regex(present_text, _INTEGRAL)
        numeric_mask = pc.match_substring_regex(present_text, _FRACTIONAL)
        integral = int(pc.sum(integral_mask).as_py() or 0)
        numeric = int(pc.sum(numeric_mask).as_py() or 0)
        self.integral += integral
        self.fractional += numeric - integral
        if numeric:
            numbers = present_text.filter(numeric_mask)
            self._add_values(pc.cast(pc.replace_substring(numbers, " ", ""), pa.float64()).to_numpy(zero_copy_only=False))
        if self.keep_categories or numeric < len(present_text):
            self.keep_categories = True
            self._add_categories(present_text)
        return self

    def _add_values(self, values: np.ndarray) -> None:
        if not len(values):
            return
        self.total += stable_sum(values)
        self.squares += stable_sum(np.square(values))
        self.low = min(self.low, float(values.min()))
        self.high = max(self.high, float(values.max()))
        self.sketch.update(values)

    def _add_categories(self, present_text: pa.Array) -> None:
        for item in pc.value_counts(present_text).to_pylist():
            self.categories[str(item["values"])] += int(item["counts"])

    @property
    def numbers(self) -> int:
        return self.integral + self.fractional

    @property
    def inferred_type(self) -> str:
        if self.present == 0:
            return UNKNOWN
        if self.numbers < self.present:
            return STRING
        return FRACTIONAL if self.fractional else INTEGRAL

    def match_ratio(self, expected: str) -> float:
        """Share of present values of the expected type (an integer is also a Fractional)."""
        if self.present == 0:
            return 1.0
        if expected == INTEGRAL:
            matching = self.integral
        elif expected == FRACTIONAL:
            matching = self.numbers
        else:
            matching = self.present
        return matching / self.present

    @property
    def completeness(self) -> float:
        total = self.present + self.missing
        return self.present / total if total else 1.0

    @property
    def mean(self) -> float:
        return self.total / self.numbers if self.numbers else 0.0

    @property
    def std_dev(self) -> float:
        if not self.numbers:
            return 0.0
        return float(np.sqrt(max(0.0, self.squares / self.numbers - self.mean**2)))


def _all_numbers(present_text: pa.Array) -> np.ndarray | None:
    """Every value as a float when every value is a plain finite number, else None."""
    if not len(present_text):
        return np.empty(0)
    try:
        values = pc.cast(present_text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return values if np.isfinite(values).all() else None  # "nan"/"inf" are text to Deequ


def profile(name: str, column: pa.Array, categories: bool = False) -> Profile:
    return Profile(name, keep_categories=categories).add(column)


def feature_statistics(p: Profile) -> dict[str, Any]:
    kind = p.inferred_type
    common = {"num_present": int(p.present), "num_missing": int(p.missing)}  # integers, as in real statistics.json
    entry: dict[str, Any] = {"name": p.name, "inferred_type": kind}
    if kind in (INTEGRAL, FRACTIONAL):
        low, high = (p.low, p.high) if p.numbers else (0.0, 0.0)
        entry["numerical_statistics"] = {
            "common": common,
            "mean": p.mean,
            "sum": p.total,
            "std_dev": p.std_dev,
            "min": low,
            "max": high,
            "distribution": {"kll": {"buckets": p.sketch.buckets(low, high), "sketch": p.sketch.to_json()}},
        }
    else:
        top = p.categories.most_common(MAX_CATEGORIES)
        entry["string_statistics"] = {
            "common": common,
            "distinct_count": float(len(p.categories)),
            "distribution": {"categorical": {"buckets": [{"value": value, "count": int(count)} for value, count in top]}},
        }
    return entry


def statistics_document(profiles: list[Profile], item_count: int) -> dict[str, Any]:
    return {"version": 0.0, "dataset": {"item_count": int(item_count)}, "features": [feature_statistics(p) for p in profiles]}


def sketch_of(feature: dict[str, Any]) -> KLLSketch | None:
    """The KLL sketch of a numeric feature of a statistics.json, if it has one."""
    kll = ((feature.get("numerical_statistics") or {}).get("distribution") or {}).get("kll") or {}
    return KLLSketch.from_json(kll["sketch"]) if "sketch" in kll else None
