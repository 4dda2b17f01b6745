"""buildspec.yml: it parses, and the run-pipeline line it runs takes valid arguments."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from pipelines import definition, jsonargs

ROOT = Path(__file__).resolve().parents[1]


def test_build_runs_run_pipeline_with_valid_kwargs() -> None:
    spec = yaml.safe_load((ROOT / "buildspec.yml").read_text())
    assert spec["version"] == 0.2
    commands = [c for c in spec["phases"]["build"]["commands"] if c.startswith("run-pipeline")]
    assert len(commands) == 1
    env = {"SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::1:role/r", "AWS_REGION": "eu-west-1", "ARTIFACT_BUCKET": "b", "PIPELINE_NAME": "P", "MODEL_PACKAGE_GROUP_NAME": "G", "PROJECT_TAGS": "{}"}
    argv = _expand(commands[0], env)
    kwargs = jsonargs.parse_object(argv[argv.index("--kwargs") + 1], "--kwargs")
    definition.check_kwargs(definition.load_builder(argv[argv.index("--module-name") + 1]), kwargs)
    assert kwargs["region"] == "eu-west-1" and kwargs["default_bucket"] == "b"
    jsonargs.parse_tags(argv[argv.index("--tags") + 1])
    assert "--wait" in argv
    assert any("pytest" in c for c in spec["phases"]["pre_build"]["commands"])


def _expand(command: str, env: dict[str, str]) -> list[str]:
    for key, value in env.items():
        command = command.replace(f"${key}", value)
    return shlex.split(command)
