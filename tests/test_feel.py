"""The feel of the tool: every command has help with an example, and docs/cli.md is current."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str) -> Any:
    """A module of scripts/ (not a package: they run as ``python scripts/<name>.py``), from its file."""
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cli_reference = _script("cli_reference")


@pytest.mark.parametrize(("name", "command"), cli_reference.commands(), ids=[name for name, _ in cli_reference.commands()])
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"{name} has no help"
    assert "Example" in (command.epilog or ""), f"{name}'s --help shows no example"


def test_the_readme_cli_reference_is_current() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "cli_reference.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
