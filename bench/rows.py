"""Benchmark rows beyond the bundled 30,000: the same rows made distinct (amounts moved by under a
dollar), or new customers made from them."""

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


def new_customers(rows: pd.DataFrame, count: int, seed: int) -> pd.DataFrame:
    """``count`` new customers made from the real ``rows``: each the mix of two customers with
    the same label (SMOTE's way), its amounts a point between theirs, its other columns (sex,
    education, marriage, age, repayment status) one or the other's; the other columns' mix of
    fractions (the engineered ratios) a point between theirs too. Never a customer mixed with
    itself; a mix can still equal a real row where two customers are alike (39 of 270,000, all
    zero bills and the like). Grouped by label, in no other order: the caller shuffles."""
    rng = np.random.default_rng(seed)
    label = rows.columns[0]
    groups = [group.to_numpy(dtype=float) for _, group in rows.groupby(label, sort=True)]
    sizes = [round(count * len(values) / len(rows)) for values in groups[:-1]]
    sizes.append(count - sum(sizes))
    amounts = np.array([name.startswith(AMOUNTS) for name in rows.columns])
    made = []
    for values, n in zip(groups, sizes, strict=True):
        first = rng.integers(0, len(values), n)
        second = (first + rng.integers(1, len(values), n)) % len(values)  # another customer, never the same
        a, b = values[first], values[second]
        whole = np.all(np.mod(values, 1) == 0, axis=0)  # columns of whole numbers: categories, ages, dollars
        between = a + rng.uniform(0, 1, (n, 1)) * (b - a)
        picked = np.where(rng.integers(0, 2, a.shape).astype(bool), a, b)
        mixed = np.where(amounts | ~whole, between, picked)
        mixed[:, amounts & whole] = np.round(mixed[:, amounts & whole])
        made.append(mixed)
    frame = pd.DataFrame(np.concatenate(made), columns=rows.columns)
    return frame.astype(rows.dtypes.to_dict())
