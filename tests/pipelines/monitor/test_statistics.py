"""Sums that do not depend on the numpy version (the job runs on numpy 1.24 on AWS, 2.x here)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.monitor.job.data_quality.statistics import LANES, stable_sum


def reference_sum(values: list[float]) -> float:
    """The same sum in plain Python floats: each lane added in order, then the lanes and the tail
    exactly. No numpy reduction is involved, so no numpy version can change it."""
    whole = len(values) // LANES * LANES
    lanes = [0.0] * LANES if whole else []
    for row in range(0, whole, LANES):
        for lane in range(LANES):
            lanes[lane] += values[row + lane]
    return math.fsum(lanes + values[whole:])


@pytest.mark.parametrize("size", [0, 1, LANES - 1, LANES, LANES + 1, 10 * LANES + 17, 200_003])
def test_the_sum_is_the_plain_python_sum_bit_for_bit(size: int) -> None:
    values = np.random.default_rng(size).normal(size=size) * 1e3 + 0.1
    assert stable_sum(values) == reference_sum(values.tolist())
    assert stable_sum(np.square(values)) == reference_sum(np.square(values).tolist())


def test_it_stays_within_the_error_bound_of_in_order_addition_over_a_lane() -> None:
    values = np.random.default_rng(7).normal(size=1_000_000) * 1e6 + 1e-3
    exact, magnitude = math.fsum(values.tolist()), math.fsum(np.abs(values).tolist())
    bound = (len(values) / LANES + 1) * np.finfo(float).eps * magnitude  # each lane adds ~977 values in order
    assert abs(stable_sum(values) - exact) <= bound
    assert bound / magnitude < 1e-12
