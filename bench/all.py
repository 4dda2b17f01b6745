"""Every benchmark, one after another, then each aim and each growth figure they printed, together.

    python bench/all.py            (what ``make bench`` runs)

Each bench prints its own tables; the lines that start with ``aim`` (an aim, its figure, met or
not) and ``growth:`` (the same work at ten times the size, and the ratio) are collected and
printed again at the end, so the state of every performance goal reads in one place.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ("definition", "local_pipeline", "monitor", "model_quality", "alarms", "explain", "endpoint", "auth")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {', '.join(BENCHES)}")
    chosen = parser.parse_args().only.split(",")
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)}")
    summary: list[str] = []
    failed: list[str] = []
    for name in chosen:
        print(f"\n=== bench/{name}.py", flush=True)
        process = subprocess.Popen([sys.executable, str(ROOT / "bench" / f"{name}.py")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith(("aim", "growth:")):
                summary.append(f"{name}: {line.rstrip()}")
        if process.wait() != 0:
            failed.append(name)
    print("\n=== every aim and growth figure")
    print("\n".join(summary))
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
