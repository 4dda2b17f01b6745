"""Fitness tests of the package's shape: no import cycle, no private name used outside its module,
and the monitoring job's seam (what the bundle ships imports nothing of the host side)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pipelines"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


@functools.cache  # the tests below walk the same files, some of them several times
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


@functools.cache
def imports(path: Path) -> tuple[tuple[str, tuple[str, ...], int], ...]:
    """(module imported, names taken from it, line) of every import of ``path``, lazy ones included."""
    found = []
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, (), node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((full, (), node.lineno) if full in MODULES else (base, (alias.name,), node.lineno))
    return tuple(found)


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in imports(path):
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + ".") and target != "pipelines":
                edges[name].add(target)
    return edges


def test_no_module_imports_itself_back_through_others() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == [], "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_no_private_name_is_used_outside_its_module() -> None:
    used = []
    for name, path in MODULES.items():
        aliases = {}
        for target, names, line in imports(path):
            for taken in names:
                if taken.startswith("_") and not taken.startswith("__"):
                    used.append(f"{path.relative_to(ROOT)}:{line} imports {target}.{taken}")
            if target in MODULES and not names:
                aliases[target.rpartition(".")[2]] = target
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in MODULES:
                        aliases[alias.asname or alias.name] = full
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                if node.attr.startswith("_") and not node.attr.startswith("__") and aliases[node.value.id] != name:
                    used.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert used == []


JOB = "pipelines.monitor.job"
ALLOWED_OUTSIDE_THE_JOB = ("pipelines.core.fileio", "pipelines.core.model_archive", "pipelines.core.xgb")


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith(JOB)))
def test_the_monitoring_job_imports_nothing_of_the_host_side(name: str) -> None:
    """What the bundle ships runs alone in a processing job: it may import itself, the standard
    library, its image's libraries, and the modules of ``pipelines.core`` the bundle ships above it."""
    reached = [(target, line) for target, _, line in imports(MODULES[name]) if target.startswith(("pipelines", "steps"))]
    outside = [f"{target} (line {line})" for target, line in reached if not target.startswith(JOB) and target not in ALLOWED_OUTSIDE_THE_JOB and target != "pipelines"]
    assert outside == []


def test_the_bundle_is_the_job_folder_walked() -> None:
    from pipelines.monitor import bundle

    shipped = {name for name, _ in bundle.entries() if name.startswith("pipelines/monitor/job/")}
    assert shipped == {p.relative_to(ROOT).as_posix() for p in (PACKAGE / "monitor" / "job").rglob("*.py")}


def test_the_allowed_modules_are_what_the_bundle_ships_above_the_job() -> None:
    from pipelines.monitor import bundle

    above = {module_name(PACKAGE / m) for m in bundle.ABOVE if not m.endswith("__init__.py")}
    assert above == set(ALLOWED_OUTSIDE_THE_JOB)


def test_no_library_module_imports_a_job_script() -> None:
    """``steps/`` holds job scripts that run alone in processing jobs; the library never imports
    one (it finds them to ship them, ``code_assets``)."""
    found = [f"{name}:{line} imports {target}" for name, path in sorted(MODULES.items()) for target, _, line in imports(path) if target.split(".")[0] == "steps"]
    assert found == []


def test_every_source_file_is_one_git_keeps() -> None:
    """A pattern of .gitignore once left pipelines/build/__init__.py out of every commit: a fresh
    clone imported a namespace package, and a wheel left the folder out."""
    import subprocess

    files = [str(p.relative_to(ROOT)) for folder in ("pipelines", "steps", "tests", "bench", "scripts") for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts]
    done = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(files), capture_output=True, text=True)
    if done.returncode == 128:
        pytest.skip(f"not a git checkout: {done.stderr.strip()}")
    assert done.stdout.split() == []
    packages = [p for p in PACKAGE.rglob("*") if p.is_dir() and "__pycache__" not in p.parts and any(p.glob("*.py"))]
    assert [str(p.relative_to(ROOT)) for p in packages if not (p / "__init__.py").is_file()] == []


def test_every_test_folder_is_one_pytest_collects(pytestconfig: pytest.Config) -> None:
    """pytest does not enter folders that match ``norecursedirs``; its default holds "build", and
    tests/pipelines/build (the render cache's tests, the SDK seam's) went unrun by make test."""
    import fnmatch

    patterns = pytestconfig.getini("norecursedirs")
    folders = sorted({p.parent for p in (ROOT / "tests").rglob("test_*.py") if "__pycache__" not in p.parts})
    skipped = [str(f.relative_to(ROOT)) for f in folders if any(fnmatch.fnmatch(part, pattern) for part in f.relative_to(ROOT).parts for pattern in patterns)]
    assert folders and skipped == []
