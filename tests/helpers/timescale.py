"""Faster clocks for the programs the tests run unchanged (notebooks, AWS's seed code, SDK scripts).

Those programs pace themselves for AWS: ``execution.wait()`` asks every 30 s, a notebook sleeps
5 s between lineage queries. Against the twin that is nearly all of their time (the abalone
notebook: 143 s, of which 12 s of work). With ``MLOPS_TEST_TIME_SCALE=k`` in a process's
environment (``tests/guarded/sitecustomize.py`` calls ``install``), every ``time.sleep`` lasts
1/k of what was asked, and every botocore waiter gets k times its attempts, so a waiter polls
k times as often and still gives up only after the same time as before: the programs wait on
the same events, only their polling is faster. Nothing else about time changes (``time.time``,
timeouts measured with it).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import time
from typing import Any

VARIABLE = "MLOPS_TEST_TIME_SCALE"


def install(scale: float) -> None:
    if scale <= 1:
        return
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        real_sleep(seconds / scale)

    time.sleep = sleep
    if "botocore.waiter" in sys.modules:
        _patch_waiter(sys.modules["botocore.waiter"], scale)
    else:
        sys.meta_path.insert(0, _WhenImported("botocore.waiter", lambda module: _patch_waiter(module, scale)))


def _patch_waiter(module: Any, scale: float) -> None:
    original = module.Waiter.wait

    def wait(self: Any, **kwargs: Any) -> Any:
        config = dict(kwargs.pop("WaiterConfig", None) or {})
        config["MaxAttempts"] = int(config.get("MaxAttempts", self.config.max_attempts) * scale)
        return original(self, WaiterConfig=config, **kwargs)

    module.Waiter.wait = wait


class _WhenImported(importlib.abc.MetaPathFinder):
    """Runs ``then(module)`` once ``name`` has been imported (before anyone uses it)."""

    def __init__(self, name: str, then: Any) -> None:
        self.name, self.then = name, then

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader, then = spec.loader, self.then
        execute = loader.exec_module

        def exec_module(module: Any) -> None:
            execute(module)
            then(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
