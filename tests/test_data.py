"""The bundled data: present, attributed, and the raw CSV built from the published split."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "credit-card-default"


def test_raw_csv_is_built_from_the_two_files() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_dataset.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (DATA / "credit_default.csv").read_text().splitlines()
    assert len(lines) == 30001 and lines[0].startswith("Label,PAY_AMT1,BILL_AMT1,LIMIT_BAL")


def test_attribution_is_kept() -> None:
    for readme in (DATA / "README.md", ROOT / "README.md"):
        text = readme.read_text()
        assert "Yeh" in text and "CC BY 4.0" in text, readme
