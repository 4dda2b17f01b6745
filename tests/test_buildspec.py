"""buildspec.yml: it parses, and the run-pipeline line it runs takes valid arguments."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import yaml

from pipelines.build import definition, policy
from pipelines.core import graph, jsonargs

ROOT = Path(__file__).resolve().parents[1]


ENV = {"SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::1:role/r", "MONITORING_ROLE_ARN": "arn:aws:iam::1:role/m", "AWS_REGION": "eu-west-1", "ARTIFACT_BUCKET": "b",
       "PIPELINE_NAME": "P", "MONITORING_PIPELINE_NAME": "M", "MODEL_PACKAGE_GROUP_NAME": "G", "PROJECT_TAGS": "{}", "MLOPS_POLICY": "workshop"}  # fmt: skip


def run_pipeline_commands(spec: dict) -> dict[str, list[str]]:
    """Each run-pipeline line of the build, by module, expanded with ENV."""
    commands = [_expand(c, ENV) for c in spec["phases"]["build"]["commands"] if c.startswith("run-pipeline")]
    return {argv[argv.index("--module-name") + 1]: argv for argv in commands}


def test_build_upserts_the_monitoring_pipeline_then_runs_the_build_pipeline_with_valid_kwargs() -> None:
    from pipelines import run_pipeline

    spec = yaml.safe_load((ROOT / "buildspec.yml").read_text())
    assert spec["version"] == 0.2
    commands = run_pipeline_commands(spec)
    assert list(commands) == ["pipelines.monitoring.pipeline", "pipelines.credit_default.pipeline"]
    for module, argv in commands.items():
        run_pipeline.command.make_context("run-pipeline", argv[1:])  # raises on an unknown option
        kwargs = jsonargs.parse_object(argv[argv.index("--kwargs") + 1], "--kwargs")
        definition.check_kwargs(definition.load_builder(module), kwargs)
        assert kwargs["region"] == "eu-west-1" and kwargs["default_bucket"] == "b", module
        jsonargs.parse_tags(argv[argv.index("--tags") + 1])
    monitoring, build = commands.values()
    assert "--no-start" in monitoring and monitoring[monitoring.index("--role-arn") + 1] == ENV["MONITORING_ROLE_ARN"]
    assert "--wait" in build and build[build.index("--role-arn") + 1] == ENV["SAGEMAKER_PIPELINE_ROLE_ARN"]
    assert any("pytest" in c for c in spec["phases"]["pre_build"]["commands"])


def _expand(command: str, env: dict[str, str]) -> list[str]:
    for key, value in env.items():
        command = command.replace(f"${key}", value)
    return shlex.split(command)


def test_the_workshops_network_and_key_reach_the_definition_and_pass_the_policy(tmp_path: Path) -> None:
    spec = yaml.safe_load((ROOT / "buildspec.yml").read_text())
    assert spec["env"]["variables"]["MLOPS_POLICY"] == "workshop"  # secure by default
    env_file = str(tmp_path / "security.env")
    writer = next(c for c in spec["phases"]["build"]["commands"] if "security.env" in c).replace("/tmp/security.env", env_file)
    variables = {"SUBNET_IDS": "subnet-1,subnet-2", "SECURITY_GROUP_IDS": "sg-1", "KMS_KEY_ARN": "arn:aws:kms:eu-west-1:1:key/k"}
    subprocess.run(["bash", "-c", writer], env=variables, check=True)
    for module, argv in run_pipeline_commands(spec).items():
        assert argv[argv.index("--policy") + 1] == "workshop"
        kwargs = jsonargs.parse_object(argv[argv.index("--kwargs") + 1].replace("/tmp/security.env", env_file), "--kwargs")
        document = definition.render(definition.build(module, kwargs))
        assert policy.audit(document, policy.Policy.load("workshop")) == [], module
        jobs = [node.step for node in graph.steps(document) if node.type == "Processing"]
        assert jobs and all(job["Arguments"]["NetworkConfig"]["VpcConfig"] == {"Subnets": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]} for job in jobs), module


def test_deployspec_runs_deploy_config_with_valid_options_then_deploys_its_files() -> None:
    from pipelines.cli import aws as aws_commands

    spec = yaml.safe_load((ROOT / "deployspec.yml").read_text())
    commands = spec["phases"]["build"]["commands"]
    env = {"STAGE": "staging", "MODEL_PACKAGE_GROUP_NAME": "G", "ARTIFACT_BUCKET": "b", "MODEL_EXECUTION_ROLE_ARN": "arn:aws:iam::1:role/m",
           "RETRAIN_ROLE_ARN": "arn:aws:iam::1:role/r", "AWS_REGION": "eu-west-1", "MONITORING": "builtin", "SCHEDULER_ROLE_ARN": "arn:aws:iam::1:role/s"}
    argv = _expand(next(c for c in commands if c.startswith("mlops aws deploy-config")), env)
    context = aws_commands.deploy_config.make_context("deploy-config", argv[3:])  # raises on an unknown option
    assert context.params["stage"] == "staging" and context.params["environment_file"] == "/tmp/security.env"
    assert context.params["monitoring"] == "builtin" and context.params["scheduler_role_arn"] == "arn:aws:iam::1:role/s"
    assert yaml.safe_load((ROOT / "deployspec.yml").read_text())["env"]["variables"]["MONITORING"] == "builtin"
    deploy = _expand(next(c for c in commands if c.startswith("aws cloudformation deploy")), env)
    out = str(context.params["output_dir"])
    assert deploy[deploy.index("--template-file") + 1] == f"{out}/staging-template.json"
    assert deploy[deploy.index("--parameter-overrides") + 1] == f"file://{out}/staging-config-export.json"
