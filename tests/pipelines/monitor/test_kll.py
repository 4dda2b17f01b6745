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
