"""The analyzer bundle: the monitoring job as one file a processing job can run.

``monitor-analyzer.pyz`` is a zip application (``python3 monitor-analyzer.pyz ...``) holding the
analyzer and its job (``job.py``): the modules below, nothing else of the project. Its bytes
depend only on those files (fixed timestamps and order), so its content-addressed S3 URI
(``code_assets``) is the same for the same code, like the job scripts of ``steps/``. It needs
numpy, pyarrow, scipy and boto3, which SageMaker's stock scikit-learn 1.2-1 image has (and
Python 3.9, which a test checks with vermin): nothing is installed when the job starts, so it
runs in a VPC without internet.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

NAME = "monitor-analyzer.pyz"
PACKAGE = Path(__file__).resolve().parents[1]  # pipelines/
MODULES = (
    "__init__.py",
    "fileio.py",
    "monitor/__init__.py",
    "monitor/analyzer.py",
    "monitor/checks.py",
    "monitor/constraints.py",
    "monitor/dataset.py",
    "monitor/job.py",
    "monitor/kll.py",
    "monitor/merge.py",
    "monitor/metrics.py",
    "monitor/model_quality.py",
    "monitor/objects.py",
    "monitor/quality.py",
    "monitor/report.py",
    "monitor/statistics.py",
)
MAIN = "import sys\n\nfrom pipelines.monitor.job import main\n\nsys.exit(main())\n"
_STAMP = (1980, 1, 1, 0, 0, 0)


def files() -> list[Path]:
    return [PACKAGE / module for module in MODULES]


def contents() -> bytes:
    """The bundle's bytes: the same files give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in [("__main__.py", MAIN.encode())] + [(f"pipelines/{m}", (PACKAGE / m).read_bytes()) for m in MODULES]:
            info = zipfile.ZipInfo(arcname, date_time=_STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def build(folder: Path) -> Path:
    """Write the bundle into ``folder`` (unless the same bytes are there already); its path."""
    data = contents()
    target = folder / NAME
    if not target.is_file() or target.read_bytes() != data:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{NAME}.partial"
        partial.write_bytes(data)
        partial.replace(target)
    return target
