"""Benchmark rows made distinct: the credit data's amounts moved by under a dollar."""

from __future__ import annotations

import numpy as np
import pandas as pd

AMOUNTS = ("LIMIT_BAL", "BILL_AMT", "PAY_AMT")  # the columns in dollars (prefixes)


def distinct(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``rows`` (a default index) with every amount moved by up to half a dollar, from ``seed``:
    rows drawn or copied from the 30,000 are no longer alike."""
    amounts = [name for name in rows.columns if name.startswith(AMOUNTS)]
    rows[amounts] = rows[amounts].to_numpy(dtype=float) + np.random.default_rng(seed).uniform(-0.5, 0.5, (len(rows), len(amounts)))
    return rows
