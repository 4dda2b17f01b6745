"""The KLL sketch follows Deequ's compaction rules and reads SageMaker's real sketches."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pipelines.monitor.job.data_quality.kll import KLLSketch, linf_distance

REFERENCE = Path(__file__).resolve().parents[2] / "golden" / "monitor" / "statistics_xgb_churn_partial.json"


class ItemByItem:
    """A literal transcription of Deequ's QuantileNonSample, one update at a time (the oracle)."""

    def __init__(self, k: int = 2048, c: float = 0.64) -> None:
        self.k, self.c = k, c
        self.buffers: list[list[float]] = [[]]
        self.compressions = [0]
        self.offsets = [0]

    def capacity(self, h: int) -> int:
        return 2 * (math.ceil(self.k * self.c**h / 2) + 1)

    def update(self, item: float) -> None:
        self.buffers[0].append(item)
        if sum(map(len, self.buffers)) > sum(self.capacity(h) for h in range(len(self.buffers))):
            for h in range(len(self.buffers)):
                if len(self.buffers[h]) >= self.capacity(h):
                    if h + 1 >= len(self.buffers):
                        self.buffers.append([])
                        self.compressions.append(0)
                        self.offsets.append(0)
                    buffer = self.buffers[h]
                    items = len(buffer)
                    even = items - items % 2
                    if self.compressions[h] % 2 == 1:
                        self.offsets[h] = 1 - self.offsets[h]
                    output = sorted(buffer[:even])[self.offsets[h] :: 2]
                    self.buffers[h] = [buffer[items - 1]] if items % 2 else []
                    self.compressions[h] += 1
                    self.buffers[h + 1].extend(output)
                    break


@pytest.mark.parametrize("n", [1, 2050, 2051, 2333, 7000, 40000])
def test_block_updates_equal_deequ_item_by_item(n: int) -> None:
    rng = np.random.default_rng(n)
    values = rng.normal(size=n).round(3)
    oracle = ItemByItem()
    for value in values:
        oracle.update(float(value))
    sketch = KLLSketch()
    for chunk in np.array_split(values, 7):  # in uneven blocks, as a stream would arrive
        sketch.update(chunk)
    assert sketch.to_json()["data"] == oracle.buffers
    assert sketch.count == n


def test_level_sizes_match_a_real_sagemaker_sketch() -> None:
    """The container's sketch of 2,333 values has 283 items at level 0 and 1,025 at level 1."""
    document = json.loads(REFERENCE.read_text())
    feature = document["features"][1]["numerical_statistics"]
    real = feature["distribution"]["kll"]["sketch"]
    assert [len(level) for level in real["data"]] == [283, 1025]
    ours = KLLSketch().update(np.arange(2333, dtype=float))
    assert [len(level) for level in ours.to_json()["data"]] == [283, 1025]
    assert ours.to_json()["parameters"] == real["parameters"]


def test_real_buckets_are_reproduced_from_the_real_sketch() -> None:
    document = json.loads(REFERENCE.read_text())
    checked = 0
    for feature in document["features"]:
        stats = feature.get("numerical_statistics")
        if not stats:
            continue
        kll = stats["distribution"]["kll"]
        sketch = KLLSketch.from_json(kll["sketch"])
        assert sketch.count == stats["common"]["num_present"]
        ours = sketch.buckets(stats["min"], stats["max"])
        assert [b["count"] for b in ours] == [b["count"] for b in kll["buckets"]], feature["name"]
        assert ours[0]["lower_bound"] == pytest.approx(kll["buckets"][0]["lower_bound"])
        checked += 1
    assert checked >= 20


def test_distance_is_the_ks_statistic() -> None:
    rng = np.random.default_rng(0)
    same = linf_distance(KLLSketch().update(rng.normal(size=50000)), KLLSketch().update(rng.normal(size=50000)))
    shifted = linf_distance(KLLSketch().update(rng.normal(size=50000)), KLLSketch().update(rng.normal(0.5, size=50000)))
    assert same < 0.02
    assert 0.17 < shifted < 0.23  # the KS distance of N(0,1) and N(0.5,1) is 0.197


def test_zeros_of_both_signs_keep_deequs_order() -> None:
    """0.0 and -0.0 are equal to a sort but not in statistics.json: they keep the stable order."""
    rng = np.random.default_rng(11)
    values = rng.choice([0.0, -0.0, 1.0, -1.0], size=9000)
    oracle = ItemByItem()
    for value in values:
        oracle.update(float(value))
    sketch = KLLSketch()
    for chunk in np.array_split(values, 5):
        sketch.update(chunk)
    assert [[repr(x) for x in level] for level in sketch.to_json()["data"]] == [[repr(x) for x in level] for level in oracle.buffers]
    assert any("-0.0" in repr(level) for level in sketch.to_json()["data"])


def _stream(kind: str) -> list[np.ndarray]:
    rng = np.random.default_rng(len(kind))
    n = 30000
    if kind == "codes":  # a handful of small integers, one 16-bit pass
        values = rng.integers(-2, 9, n).astype(float)
    elif kind == "amounts":  # integers millions apart: two passes
        values = rng.integers(-300_000, 2_000_000, n).astype(float)
    elif kind == "17 bits":  # just over one pass: the second pass orders 65536 after 65535
        values = rng.integers(0, 70000, n).astype(float)
    elif kind == "widest":  # 2**32 - 1 apart, the most two passes order
        values = rng.choice([-(2.0**31), 2.0**32 - 1 - 2.0**31, 0.0, 1.0, 65535.0, 65536.0], n)
    elif kind == "huge":  # integers, but beyond the exact range: the float sort
        values = rng.integers(0, 1000, n) * 2.0**54
    elif kind == "too wide":  # 2**32 apart: the float sort
        values = rng.choice([0.0, 2.0**32, 7.0], n)
    elif kind == "turns fractional":  # integers, then one fraction: the float sort from then on
        values = rng.integers(0, 100, n).astype(float)
        values[20000] = 0.5
    else:  # "negative zero": the stable float sort keeps Deequ's order of 0.0 and -0.0
        values = rng.choice([0.0, -0.0, 3.0], n)
    return np.array_split(values, 9)


@pytest.mark.parametrize("kind", ["codes", "17 bits", "amounts", "widest", "huge", "too wide", "turns fractional", "negative zero"])
def test_radix_keys_make_the_same_sketch(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 16-bit radix sort that numpy before 1.25 uses for integers gives the float sort's bytes."""
    from pipelines.monitor.job.data_quality import kll

    sketches, compactions = {}, {}
    radix_calls = []
    real = kll._radix_sorted
    monkeypatch.setattr(kll, "_radix_sorted", lambda *a: radix_calls.append(1) or real(*a))
    chunks = _stream(kind)
    for radix in (False, True):
        monkeypatch.setattr(kll, "RADIX", radix)
        sketch = KLLSketch()
        for chunk in chunks:
            if not (chunk == np.rint(chunk)).all():
                compactions["before the fraction"] = sketch.compressions[0]
            sketch.update(chunk)
        sketches[radix] = [np.concatenate(level).tobytes() if level else b"" for level in sketch.levels]
        compactions["all"] = sketch.compressions[0]
    assert sketches[True] == sketches[False]
    # The radix sort took every level-0 compaction while the items were integers near enough.
    radix_used = {"codes": compactions["all"], "17 bits": compactions["all"], "amounts": compactions["all"], "widest": compactions["all"]}
    radix_used["turns fractional"] = compactions.get("before the fraction")
    assert 0 < compactions.get("before the fraction", 1) < compactions["all"]
    assert len(radix_calls) == radix_used.get(kind, 0)
