"""The feel of the tool: every command has help with an example, and docs/cli.md is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import cli_reference  # noqa: E402


@pytest.mark.parametrize(("name", "command"), cli_reference.commands(), ids=[name for name, _ in cli_reference.commands()])
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"{name} has no help"
    assert "Example" in (command.epilog or ""), f"{name}'s --help shows no example"


def test_the_readme_cli_reference_is_current() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "cli_reference.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
