"""Loaded by Python at start-up in subprocesses the tests launch with this directory on
PYTHONPATH: installs the loopback-only network guard there too, and records every refused
address in the file named by ``MLOPS_NETGUARD_LOG`` so a test can assert there were none."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import netguard  # noqa: E402

netguard.install(log_path=os.environ.get("MLOPS_NETGUARD_LOG"))

if os.environ.get("MLOPS_TEST_TIME_SCALE"):
    import timescale  # noqa: E402

    timescale.install(float(os.environ["MLOPS_TEST_TIME_SCALE"]))
