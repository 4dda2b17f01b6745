"""The KLL quantile sketch in Deequ's layout (``QuantileNonSample``), as SageMaker writes it.

SageMaker's analyzer (Spark + Deequ) stores one sketch per numeric feature in
``statistics.json``: ``{"parameters": {"c": 0.64, "k": 2048.0}, "data": [[level 0], [level 1], ...]}``.
Level ``h`` holds items of weight ``2**h``; a level is compacted when it reaches
``2 * (ceil(k * c**h / 2) + 1)`` items, which sorts it and keeps every other item, starting at
an offset that alternates from one compaction of that level to the next (deterministic, as
in Deequ), the odd last item staying behind. This module follows those rules exactly, in
blocks of items rather than one at a time, so a sketch made here can be read by the
container and the other way round.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SKETCH_SIZE = 2048
SHRINKING_FACTOR = 0.64
# numpy before 1.25 sorts float64 with a scalar quicksort on every CPU (SIMD sorts came in 1.25
# for AVX-512 and in 2.0 for AVX2). There, a level-0 buffer of integers (counts, codes, amounts:
# 21 of the credit capture's 24 columns) sorts two to three times faster as 16-bit radix keys,
# one pass below 2**16 apart, two below 2**32; with SIMD sorts the float sort is faster.
RADIX = np.lib.NumpyVersion(np.__version__) < "1.25.0"
_EXACT = 2.0**53  # integers up to here are exact in float64, and so are their differences


class KLLSketch:
    def __init__(self, sketch_size: int = SKETCH_SIZE, shrinking_factor: float = SHRINKING_FACTOR) -> None:
        self.k = sketch_size
        self.c = shrinking_factor
        self._capacities: list[int] = []
        self.levels: list[list[np.ndarray]] = [[]]  # each level: chunks in insertion order
        self.sizes: list[int] = [0]
        self.compressions: list[int] = [0]
        self.offsets: list[int] = [0]
        self._plain = True  # no NaN and no -0.0 added: equal items are the same bits, so any sort gives one order
        self._low, self._high = math.inf, -math.inf
        self._integers = RADIX  # every item so far an integer, all of them less than 2**32 apart: radix keys

    # -- building ---------------------------------------------------------------------------
    def capacity(self, height: int) -> int:
        while len(self._capacities) <= height:
            level = len(self._capacities)
            self._capacities.append(2 * (math.ceil(self.k * self.c**level / 2) + 1))
        return self._capacities[height]

    def _total_capacity(self) -> int:
        self.capacity(len(self.levels) - 1)
        return sum(self._capacities[: len(self.levels)])

    def update(self, values: np.ndarray) -> "KLLSketch":
        """Add values in order; the same as Deequ's ``update`` called for each of them."""
        values = np.asarray(values, dtype=np.float64)
        if self._plain and len(values) and (np.isnan(values).any() or (np.signbit(values) & (values == 0)).any()):
            self._plain = False
        if self._integers and len(values):
            self._low, self._high = min(self._low, values.min()), max(self._high, values.max())
            self._integers = bool(-_EXACT < self._low and self._high < _EXACT and self._high - self._low < 2.0**32 and (values == np.rint(values)).all())
        position, count = 0, len(values)
        sizes = self.sizes
        while position < count:
            # Computed once a pass: the capacity changes only when _condense adds a level, and a
            # pass condenses at most once (thousands of passes per column of a large window).
            total_capacity = self._total_capacity()
            take = min(total_capacity - sum(sizes) + 1, count - position)  # the item that overflows triggers a condense
            if take > 0:
                self.levels[0].append(values[position : position + take])
                sizes[0] += take
                position += take
            if sum(sizes) > total_capacity:
                self._condense()
        return self

    def _condense(self) -> None:
        for height in range(len(self.levels)):
            if self.sizes[height] >= self.capacity(height):
                if height + 1 >= len(self.levels):
                    self.levels.append([])
                    self.sizes.append(0)
                    self.compressions.append(0)
                    self.offsets.append(0)
                output = self._compact(height)
                self.levels[height + 1].append(output)
                self.sizes[height + 1] += len(output)
                return

    def _compact(self, height: int) -> np.ndarray:
        chunks = self.levels[height]
        buffer = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        items = len(buffer)
        even = items - items % 2
        if self.compressions[height] % 2 == 1:
            self.offsets[height] = 1 - self.offsets[height]
        # Deequ's sort is stable. Without NaN or -0.0, equal items cannot be told apart and any
        # sort gives the same array: above level 0 the buffer is a few sorted runs (earlier
        # compactions' outputs), which the stable sort (timsort) merges in linear time, two to
        # three times faster than the default; level 0 holds items as they came, where numpy's
        # default sort (vectorised in numpy 2) is four times faster than the stable one. With
        # NaN or -0.0, the stable sort keeps Deequ's order of 0.0 and -0.0. A copy of the even
        # part is sorted in place (the method: np.sort's dispatch is per call, 30k calls a 1M window).
        if height == 0 and self._plain and self._integers:
            ordered = _radix_sorted(buffer[:even], self._low, self._high)
        else:
            ordered = buffer[:even].copy()
            ordered.sort(kind="stable" if height or not self._plain else None)
        output = ordered[self.offsets[height] :: 2]
        if items % 2:
            self.levels[height] = [buffer[items - 1 :]]
            self.sizes[height] = 1
        else:
            self.levels[height] = []
            self.sizes[height] = 0
        self.compressions[height] += 1
        return output

    # -- reading ----------------------------------------------------------------------------
    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """Every retained item and its weight, sorted by item."""
        values, weights = [], []
        for height, chunks in enumerate(self.levels):
            for chunk in chunks:
                values.append(chunk)
                weights.append(np.full(len(chunk), 1 << height, dtype=np.int64))
        if not values:
            return np.empty(0), np.empty(0, dtype=np.int64)
        v, w = np.concatenate(values), np.concatenate(weights)
        order = np.argsort(v, kind="stable")
        return v[order], w[order]

    @property
    def count(self) -> int:
        return int(sum(size << height for height, size in enumerate(self.sizes)))

    def rank(self, points: np.ndarray | float) -> np.ndarray:
        """Total weight of items <= each point (Deequ's inclusive ``getRank``)."""
        values, weights = self.items()
        cumulative = np.concatenate([[0], np.cumsum(weights)])
        return cumulative[np.searchsorted(values, points, side="right")]

    def rank_exclusive(self, points: np.ndarray | float) -> np.ndarray:
        """Total weight of items < each point (Deequ's ``getRankExclusive``)."""
        values, weights = self.items()
        cumulative = np.concatenate([[0], np.cumsum(weights)])
        return cumulative[np.searchsorted(values, points, side="left")]

    def buckets(self, low: float, high: float, count: int = 10) -> list[dict[str, float]]:
        """Equal-width buckets from ``low`` to ``high`` with counts from the sketch, the last one inclusive."""
        edges = [low + (high - low) * i / count for i in range(count + 1)]
        lower = self.rank_exclusive(np.array(edges[:-1]))
        upper_exclusive = self.rank_exclusive(np.array(edges[1:]))
        upper_last = self.rank(np.array([edges[-1]]))[0]
        result = []
        for i in range(count):
            top = upper_last if i == count - 1 else upper_exclusive[i]
            result.append({"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": float(top - lower[i])})
        return result

    # -- the statistics.json form -----------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = []
        for chunks in self.levels:
            level = np.concatenate(chunks) if chunks else np.empty(0)
            data.append([float(x) for x in level])
        return {"parameters": {"c": self.c, "k": float(self.k)}, "data": data}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> "KLLSketch":
        parameters = document.get("parameters") or {}
        sketch = cls(int(parameters.get("k", SKETCH_SIZE)), float(parameters.get("c", SHRINKING_FACTOR)))
        levels = document.get("data") or [[]]
        sketch.levels = [[np.asarray(level, dtype=np.float64)] if len(level) else [] for level in levels]
        sketch.sizes = [len(level) for level in levels]
        sketch.compressions = [0] * len(levels)
        sketch.offsets = [0] * len(levels)
        sketch._integers = False  # the items read are not in _low.._high
        return sketch


def _radix_sorted(items: np.ndarray, low: float, high: float) -> np.ndarray:
    """``items`` (integers from ``low`` to ``high``, less than 2**32 apart) sorted by a least
    significant digit first radix sort: numpy's stable sort of 16-bit integers is a radix sort."""
    if high - low < 1 << 16:
        keys = (items - low).astype(np.uint16)
        keys.sort(kind="stable")
        return keys + low  # exact: integers below 2**53
    keys = (items - low).astype(np.uint32)
    order = np.argsort(keys.astype(np.uint16), kind="stable")
    order = order[np.argsort((keys[order] >> 16).astype(np.uint16), kind="stable")]
    return items[order]


def linf_distance(first: KLLSketch, second: KLLSketch) -> float:
    """L-infinity distance between the two CDFs: max over retained items of |F1(x) - F2(x)|."""
    n, m = first.count, second.count
    if n == 0 or m == 0:
        return 0.0
    points = np.union1d(first.items()[0], second.items()[0])
    return float(np.max(np.abs(first.rank(points) / n - second.rank(points) / m)))
