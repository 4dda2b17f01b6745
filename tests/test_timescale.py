"""The faster clock the corpus tests give the programs they run (tests/helpers/timescale.py): sleeps are
shorter, a waiter's patience is the same."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = """
import time
import botocore.waiter as waiter

calls = []

class Client:
    def describe(self, **kwargs):
        calls.append(kwargs)
        return {"Status": "Executing"}

model = waiter.WaiterModel({"version": 2, "waiters": {"Done": {"delay": 0.5, "maxAttempts": 4, "operation": "Describe",
    "acceptors": [{"matcher": "path", "argument": "Status", "expected": "Succeeded", "state": "success"}]}}})
started = time.monotonic()
time.sleep(2)
slept = time.monotonic() - started
try:
    waiter.Waiter("Done", model.get_waiter("Done"), Client().describe).wait(Name="x")
except waiter.WaiterError as error:
    print(len(calls), round(slept, 2), round(time.monotonic() - started, 2), "Max attempts" in str(error))
"""


def run(scale: str | None) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "guarded")}
    env.pop("MLOPS_TEST_TIME_SCALE", None)
    if scale:
        env["MLOPS_TEST_TIME_SCALE"] = scale
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.long  # 6 s of a waiter's sleeps: run first (conftest.py)
def test_sleeps_are_shorter_and_a_waiter_asks_as_much_more_often_as_it_sleeps_less() -> None:
    calls, slept, _, exhausted = run("20")
    assert int(calls) == 80 and exhausted == "True"  # 4 attempts x 20, each 0.5 s / 20 apart
    assert float(slept) < 1.0  # 2 s / 20, with room for a slow machine
    calls, slept, _, exhausted = run(None)
    assert int(calls) == 4 and float(slept) >= 2.0 and exhausted == "True"
