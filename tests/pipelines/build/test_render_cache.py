"""A rendering is used again only when nothing it came from changed, and then without the SDK."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.long  # run first (conftest.py)

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


@pytest.fixture(scope="module")
def first_rendering(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The builder rendered once for the module, in a fresh process as every load here is (a
    rendering imports the SDK: about 4 s): the folder it lives in, and what that load answered.
    The cache as the rendering left it is kept aside in ``rendered``."""
    root = tmp_path_factory.mktemp("render-cache")
    package = root / "src" / "cachedbuilder"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "pipeline.py").write_text(BUILDER.format(name="First"))
    first = load(root)
    shutil.copytree(root / "cache", root / "rendered")
    return root, first


@pytest.fixture
def builder(first_rendering: tuple[Path, dict]) -> Path:
    """The builder as first rendered, and the cache holding only that rendering: each test
    starts from there, whatever the one before it changed."""
    root, _ = first_rendering
    shutil.rmtree(root / "cache")
    shutil.copytree(root / "rendered", root / "cache")
    path = root / "src" / "cachedbuilder" / "pipeline.py"
    path.write_text(BUILDER.format(name="First"))
    return path


def load(tmp_path: Path, kwargs: dict | None = None, module: str = "cachedbuilder.pipeline", **environment: str) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": os.pathsep.join([str(tmp_path / "src"), str(ROOT)]), **environment}
    done = subprocess.run([sys.executable, "-c", LOAD, module, json.dumps(kwargs or {})], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "mlops" / "definitions").glob("*.json"))


def test_the_second_run_takes_the_same_definition_without_importing_the_sdk(first_rendering: tuple[Path, dict], builder: Path) -> None:
    root, first = first_rendering
    assert first["sdk"] and first["name"] == "First" and len(entries(root)) == 1
    again = load(root)
    assert not again["sdk"]
    assert again == {**first, "sdk": False}
    sources = json.loads(entries(root)[0].read_text())["sources"]
    assert str(builder.resolve()) in sources  # the user's builder
    assert str((ROOT / "steps" / "evaluate.py").resolve()) in sources  # a job script it ships
    assert str((ROOT / "pipelines" / "monitor" / "job" / "main.py").resolve()) in sources  # the bundle it ships


def test_a_changed_builder_is_rendered_again(builder: Path) -> None:
    root = builder.parents[2]
    kept = load(root)
    assert kept["name"] == "First" and not kept["sdk"]  # the first rendering
    builder.write_text(BUILDER.format(name="Second"))
    changed = load(root)
    assert changed["sdk"] and changed["name"] == "Second"
    assert load(root) == {**changed, "sdk": False}  # and that rendering is the one kept


def test_other_arguments_or_region_are_other_entries(builder: Path) -> None:
    root = builder.parents[2]
    assert not load(root)["sdk"]
    other = load(root, {"model_package_group_name": "Other"})
    assert other["sdk"] and "Other" in json.dumps(other["definition"])
    elsewhere = load(root, AWS_DEFAULT_REGION="eu-west-1")
    assert elsewhere["sdk"]
    assert len(entries(root)) == 3


def test_a_damaged_entry_is_rendered_again(first_rendering: tuple[Path, dict], builder: Path) -> None:
    root, first = first_rendering
    entries(root)[0].write_text('{"definition": ')
    again = load(root)
    assert again["sdk"] and again["definition"] == first["definition"]
    assert not load(root)["sdk"]  # the entry rendered again replaced the damaged one


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
    root = builder.parents[2]
    other = tmp_path / "other" / "cachedbuilder"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    (other / "pipeline.py").write_text(BUILDER.format(name="Elsewhere"))
    assert load(root)["name"] == "First"
    elsewhere = load(root, PYTHONPATH=os.pathsep.join([str(tmp_path / "other"), str(ROOT)]))
    assert elsewhere["sdk"] and elsewhere["name"] == "Elsewhere"
    assert load(root)["name"] == "First" and not load(root)["sdk"]


def test_the_key_names_each_imported_project_file_at_its_real_path(tmp_path: Path) -> None:
    """The files a rendering depends on: every imported module outside Python's and the installed
    libraries' folders, links resolved (through a linked folder, and a module file that is a link)."""
    import importlib

    import numpy

    from pipelines.build import render_cache

    real = tmp_path / "real"
    (real / "probe_sources").mkdir(parents=True)
    (real / "probe_sources" / "__init__.py").write_text("")
    (real / "probe_sources" / "plain.py").write_text("X = 1\n")
    (tmp_path / "elsewhere.py").write_text("Y = 2\n")
    (real / "probe_sources" / "linked.py").symlink_to(tmp_path / "elsewhere.py")
    (tmp_path / "via").symlink_to(real, target_is_directory=True)
    sys.path.insert(0, str(tmp_path / "via"))
    try:
        importlib.import_module("probe_sources.plain")
        importlib.import_module("probe_sources.linked")
        found = render_cache._project_sources()
    finally:
        sys.path.remove(str(tmp_path / "via"))
        for name in ("probe_sources", "probe_sources.plain", "probe_sources.linked"):
            sys.modules.pop(name, None)
    base = real.resolve()
    assert {base / "probe_sources" / "__init__.py", base / "probe_sources" / "plain.py", (tmp_path / "elsewhere.py").resolve()} <= set(found)
    assert not any("via" in path.parts or path.name == "linked.py" for path in found)
    assert Path(__file__).resolve() in found and Path(render_cache.__file__).resolve() in found
    assert Path(json.__file__).resolve() not in found and Path(numpy.__file__).resolve() not in found
