"""The analyzer bundle: the monitoring job as one file a processing job can run.

``monitor-analyzer.pyz`` is a zip application (``python3 monitor-analyzer.pyz ...``) holding the
monitoring job: ``pipelines/monitor/job/`` (walked, not listed) and the packages above it,
nothing else of the project. Its bytes
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
JOB = PACKAGE / "monitor" / "job"  # walked: the bundle is what this folder holds, and the packages above it
ABOVE = ("__init__.py", "core/__init__.py", "core/fileio.py", "core/model_archive.py", "core/xgb.py", "monitor/__init__.py")
# The folders that keep to the XGBoost image's Python 3.8 without pyarrow (explain, attribution-monitor).
PYTHON_38 = ("common", "clarify", "html")


def modules() -> list[str]:
    """The bundle's modules under ``pipelines/``: those above the job, and every one under it."""
    return [*ABOVE, *sorted(p.relative_to(PACKAGE).as_posix() for p in JOB.rglob("*.py"))]


def python_38_files() -> list[Path]:
    """What the jobs of the XGBoost image import: the packages above the job, ``job/__init__.py``,
    and the Python 3.8 folders."""
    return [PACKAGE / m for m in ABOVE] + [JOB / "__init__.py"] + sorted(p for folder in PYTHON_38 for p in (JOB / folder).rglob("*.py"))


# Clarify's jobs (bias, explain and their monitors; clarify_job.MODES) run apart from Model
# Monitor's: explain and attribution-monitor run on the built-in XGBoost image (Python 3.8, no
# pyarrow), which never imports the columnar capture reader.
MAIN = (
    "import sys\n\n"
    "if sys.argv[1:2] and sys.argv[1] in ('bias', 'explain', 'bias-monitor', 'attribution-monitor'):\n"
    "    from pipelines.monitor.job.clarify.jobs import main\n"
    "else:\n"
    "    from pipelines.monitor.job.main import main\n\n"
    "sys.exit(main())\n"
)
_STAMP = (1980, 1, 1, 0, 0, 0)


def entries() -> list[tuple[str, Path]]:
    """(name in the bundle, file) of everything the bundle holds but its ``__main__.py``."""
    return [(f"pipelines/{m}", PACKAGE / m) for m in modules()]


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
