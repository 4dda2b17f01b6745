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
    "monitor/attribution.py",
    "monitor/capture_rows.py",
    "monitor/bias.py",
    "monitor/checks.py",
    "monitor/clarify_job.py",
    "monitor/clarify_monitor.py",
    "monitor/clarify_report.py",
    "monitor/constraints.py",
    "monitor/dataset.py",
    "monitor/job.py",
    "monitor/kll.py",
    "monitor/layout.py",
    "monitor/merge.py",
    "monitor/metrics.py",
    "monitor/model_quality.py",
    "monitor/objects.py",
    "monitor/quality.py",
    "monitor/report.py",
    "monitor/result.py",
    "monitor/statistics.py",
    "monitor/window.py",
)
# The explain job's model loader is the Evaluate step's (its safe extraction), from steps/.
STEPS = ("__init__.py", "evaluate.py")
# Clarify's jobs (bias, explain and their monitors; clarify_job.MODES) run apart from Model
# Monitor's: explain and attribution-monitor run on the built-in XGBoost image (Python 3.8, no
# pyarrow), which never imports the columnar capture reader.
MAIN = (
    "import sys\n\n"
    "if sys.argv[1:2] and sys.argv[1] in ('bias', 'explain', 'bias-monitor', 'attribution-monitor'):\n"
    "    from pipelines.monitor.clarify_job import main\n"
    "else:\n"
    "    from pipelines.monitor.job import main\n\n"
    "sys.exit(main())\n"
)
# The modules the explain job imports: they keep to the XGBoost image's Python 3.8.
XGBOOST_IMAGE_MODULES = ("__init__.py", "fileio.py", "monitor/__init__.py", "monitor/attribution.py", "monitor/bias.py",
                         "monitor/capture_rows.py", "monitor/clarify_job.py", "monitor/clarify_report.py", "monitor/layout.py",
                         "monitor/clarify_monitor.py", "monitor/metrics.py", "monitor/objects.py", "monitor/report.py", "monitor/result.py", "monitor/window.py")
_STAMP = (1980, 1, 1, 0, 0, 0)


STEPS_DIR = PACKAGE.parent / "steps"


def entries() -> list[tuple[str, Path]]:
    """(name in the bundle, file) of everything the bundle holds but its ``__main__.py``."""
    return [(f"pipelines/{m}", PACKAGE / m) for m in MODULES] + [(f"steps/{m}", STEPS_DIR / m) for m in STEPS]


def files() -> list[Path]:
    return [path for _, path in entries()]


def contents() -> bytes:
    """The bundle's bytes: the same files give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in [("__main__.py", MAIN.encode())] + [(name, path.read_bytes()) for name, path in entries()]:
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
