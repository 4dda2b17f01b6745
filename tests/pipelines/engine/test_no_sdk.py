"""The engine reads JSON only: nothing under pipelines/engine imports the SageMaker SDK."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pipelines.engine


def test_engine_modules_do_not_import_the_sdk() -> None:
    modules = [m.name for m in pkgutil.walk_packages(pipelines.engine.__path__, "pipelines.engine.")]
    modules += ["pipelines.runs.local_run", "pipelines.cli.run", "pipelines.cli.executions"]
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules) + "print(sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert len(modules) > 10
