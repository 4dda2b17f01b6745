"""Build the pipeline's raw input from the two files of the workshop's published split.

    python scripts/build_dataset.py [--check]

Writes ``data/credit-card-default/credit_default.csv``: a header (``Label`` and the 23
features, in the order of ``steps/preprocess.py``) then every row of ``train_data.csv`` and
``test_data.csv``, values copied as text so nothing is re-rounded. ``--check`` exits 1 when
the committed file differs from what this script would write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from steps.preprocess import COLUMNS  # noqa: E402

DATA_DIR = ROOT / "data" / "credit-card-default"
SOURCES = ("train_data.csv", "test_data.csv")
TARGET = DATA_DIR / "credit_default.csv"


def build(data_dir: Path = DATA_DIR) -> str:
    lines = [",".join(COLUMNS)]
    for name in SOURCES:
        for number, line in enumerate((data_dir / name).read_text().splitlines(), start=1):
            if line.count(",") != len(COLUMNS) - 1:
                raise SystemExit(f"{name} line {number}: expected {len(COLUMNS)} values")
            lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed file")
    args = parser.parse_args(argv)
    content = build()
    if args.check:
        same = TARGET.is_file() and TARGET.read_text() == content
        print(f"{TARGET.relative_to(ROOT)}: {'up to date' if same else 'STALE: run scripts/build_dataset.py'}")
        return 0 if same else 1
    TARGET.write_text(content)
    print(f"wrote {TARGET.relative_to(ROOT)} ({content.count(chr(10)) - 1} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
