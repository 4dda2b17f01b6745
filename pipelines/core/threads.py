"""How OpenMP's threads wait: asleep, not spinning.

XGBoost (training in the engine's process, and scoring) and scikit-learn run parallel loops
with OpenMP; by default libgomp's threads spin at every barrier before they sleep. On a busy
machine (the demo beside CPU-bound work, a laptop doing other things) a thread that spins while
the one it waits for is descheduled makes a two-second training take eighteen: measured with two
CPU-bound loops beside it, training the credit model took 2.4-3.7 s and twice in eight runs
18.4-18.6 s by default, 2.1-3.0 s every time with ``OMP_WAIT_POLICY=PASSIVE``; on an idle machine
the two are the same (1.42 and 1.44 s). libgomp reads the variable when it is loaded, so the
commands set it before anything imports XGBoost, and every job's environment starts with it
(a job's own ``Environment`` may say otherwise).

OpenBLAS's threads (numpy's pool, and scipy's own) likewise spin after they start and after each
call, 2**28 cycles by default, before they sleep: importing numpy took 0.20 s of CPU for 0.12 s
of time, and 0.10 s with ``OPENBLAS_THREAD_TIMEOUT=4``, the least OpenBLAS takes (2**4 cycles);
importing scikit-learn (both pools) 0.2-0.4 s of CPU less. Every job process imports numpy.
"""

from __future__ import annotations

import os

WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}


def prefer_passive_waits() -> None:
    """Set ``WAIT_POLICY`` for this process and its children, where a variable is not set."""
    for name, value in WAIT_POLICY.items():
        os.environ.setdefault(name, value)
