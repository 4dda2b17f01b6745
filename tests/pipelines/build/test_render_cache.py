"""A rendering is used again only when nothing it came from changed, and then without the SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BUILDER = '''
from pipelines.credit_default.pipeline import get_pipeline as _credit_default

NAME = "{name}"


def get_pipeline(model_package_group_name: str = "CreditDefaultPackageGroup"):
    return _credit_default(pipeline_name=NAME, model_package_group_name=model_package_group_name)
'''
LOAD = """
import json, sys
from pipelines.runs import local_run
definition, name = local_run.load_definition(sys.argv[1], json.loads(sys.argv[2]), None, None)
print(json.dumps({"name": name, "sdk": "sagemaker" in sys.modules, "definition": definition}))
"""


@pytest.fixture
def builder(tmp_path: Path) -> Path:
    package = tmp_path / "src" / "cachedbuilder"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "pipeline.py").write_text(BUILDER.format(name="First"))
    return package / "pipeline.py"


def load(tmp_path: Path, kwargs: dict | None = None, module: str = "cachedbuilder.pipeline", **environment: str) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": os.pathsep.join([str(tmp_path / "src"), str(ROOT)]), **environment}
    done = subprocess.run([sys.executable, "-c", LOAD, module, json.dumps(kwargs or {})], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "mlops" / "definitions").glob("*.json"))


def test_the_second_run_takes_the_same_definition_without_importing_the_sdk(builder: Path, tmp_path: Path) -> None:
    first = load(tmp_path)
    assert first["sdk"] and first["name"] == "First" and len(entries(tmp_path)) == 1
    again = load(tmp_path)
    assert not again["sdk"]
    assert again == {**first, "sdk": False}
    sources = json.loads(entries(tmp_path)[0].read_text())["sources"]
    assert str(builder.resolve()) in sources  # the user's builder
    assert str((ROOT / "steps" / "evaluate.py").resolve()) in sources  # a job script it ships
    assert str((ROOT / "pipelines" / "monitor" / "job" / "main.py").resolve()) in sources  # the bundle it ships


def test_a_changed_builder_is_rendered_again(builder: Path, tmp_path: Path) -> None:
    assert load(tmp_path)["name"] == "First"
    builder.write_text(BUILDER.format(name="Second"))
    changed = load(tmp_path)
    assert changed["sdk"] and changed["name"] == "Second"
    assert load(tmp_path)["name"] == "Second"  # and that rendering is the one kept


def test_other_arguments_or_region_are_other_entries(builder: Path, tmp_path: Path) -> None:
    load(tmp_path)
    other = load(tmp_path, {"model_package_group_name": "Other"})
    assert other["sdk"] and "Other" in json.dumps(other["definition"])
    elsewhere = load(tmp_path, AWS_DEFAULT_REGION="eu-west-1")
    assert elsewhere["sdk"]
    assert len(entries(tmp_path)) == 3


def test_a_damaged_entry_is_rendered_again(builder: Path, tmp_path: Path) -> None:
    first = load(tmp_path)
    entries(tmp_path)[0].write_text('{"definition": ')
    again = load(tmp_path)
    assert again["sdk"] and again["definition"] == first["definition"]


def test_a_rendering_that_uploads_local_code_is_not_kept(tmp_path: Path) -> None:
    """The SDK's uploads of a processor's local ``code=`` live in the rendering process only."""
    (tmp_path / "src").mkdir()
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "src"), str(ROOT)])}
    assert load(tmp_path, module="tests.builders.local_code", **env)["sdk"]
    assert entries(tmp_path) == []
    assert load(tmp_path, module="tests.builders.local_code", **env)["sdk"]


def test_another_checkout_of_the_same_module_is_another_entry(builder: Path, tmp_path: Path) -> None:
    """Two checkouts import the same module name from different folders: each its own rendering
    (a fresh clone once took the other clone's definition, whose files it did not ship)."""
    other = tmp_path / "other" / "cachedbuilder"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    (other / "pipeline.py").write_text(BUILDER.format(name="Elsewhere"))
    assert load(tmp_path)["name"] == "First"
    elsewhere = load(tmp_path, PYTHONPATH=os.pathsep.join([str(tmp_path / "other"), str(ROOT)]))
    assert elsewhere["sdk"] and elsewhere["name"] == "Elsewhere"
    assert load(tmp_path)["name"] == "First" and not load(tmp_path)["sdk"]
