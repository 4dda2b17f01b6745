"""Loaded by Python at start-up in subprocesses the tests launch with this directory on
PYTHONPATH: installs the loopback-only network guard there too, and records every refused
address in the file named by ``MLOPS_NETGUARD_LOG`` so a test can assert there were none; with
``MLOPS_TEST_TIME_SCALE``, the faster clock of ``tests/helpers/timescale.py``.

The helpers are loaded from their files, not put on sys.path: the programs run here may have
packages of their own named like this project's (AWS's seed code has a ``pipelines``)."""

import importlib.util
import os
import sys

HELPERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "helpers")


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_mlops_test_{name}", os.path.join(HELPERS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_load("netguard").install(log_path=os.environ.get("MLOPS_NETGUARD_LOG"))

if os.environ.get("MLOPS_TEST_TIME_SCALE"):
    _load("timescale").install(float(os.environ["MLOPS_TEST_TIME_SCALE"]))
