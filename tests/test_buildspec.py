"""buildspec.yml: it parses, and the run-pipeline line it runs takes valid arguments."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
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


def _run_deploy_build(tmp_path: Path, variables: dict[str, str]) -> list[list[str]]:
    """deployspec.yml's build phase in one shell, as CodeBuild runs it, with ``mlops``,
    ``run-pipeline`` and ``aws`` replaced by stubs that record their arguments and the access key
    they ran with; ``mlops aws target-env`` answers as target-account.yml's stage would."""
    spec = yaml.safe_load((ROOT / "deployspec.yml").read_text())
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir(parents=True)
    recorder = f'import json, os, sys\nopen({str(log)!r}, "a").write(json.dumps([os.environ.get("AWS_ACCESS_KEY_ID", "-"), os.path.basename(sys.argv[0]), *sys.argv[1:]]) + "\\n")\n'
    target_env = (
        'if sys.argv[1:3] == ["aws", "target-env"]:\n'
        '    print("export ARTIFACT_BUCKET=stage-bucket MODEL_EXECUTION_ROLE_ARN=arn:aws:iam::222233334444:role/m MONITORING_ROLE_ARN=arn:aws:iam::222233334444:role/mon")\n'
        '    print("export SUBNET_IDS=subnet-s SECURITY_GROUP_IDS=sg-s KMS_KEY_ARN=arn:aws:kms:eu-west-1:222233334444:key/s")\n'
        '    print("export RETRAIN_EVENT_BUS_ARN=arn:aws:events:eu-west-1:123456789012:event-bus/default CLOUDFORMATION_ROLE_ARN=arn:aws:iam::222233334444:role/cfn")\n'
        '    print("export TARGET_AWS_ACCESS_KEY_ID=stage-key TARGET_AWS_SECRET_ACCESS_KEY=s TARGET_AWS_SESSION_TOKEN=t")\n'
    )
    for name in ("mlops", "run-pipeline", "aws"):
        stub = bin_dir / name
        stub.write_text(f"#!{sys.executable}\n{recorder}" + (target_env if name == "mlops" else ""))
        stub.chmod(0o755)
    script = "set -e\n" + "\n".join(command.replace("/tmp/security.env", str(tmp_path / "security.env")) for command in spec["phases"]["build"]["commands"])
    env = {**{k: str(v) for k, v in spec["env"]["variables"].items()}, "PATH": f"{bin_dir}:/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "tooling-key", "AWS_REGION": "eu-west-1", **variables}
    subprocess.run(["bash", "-c", script], env=env, cwd=tmp_path, check=True)
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_stage_in_its_own_account_is_rendered_as_the_tooling_account_and_deployed_as_its_own(tmp_path: Path) -> None:
    project = {"STAGE": "prod", "ARTIFACT_BUCKET": "tooling-bucket", "MODEL_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/m"}
    calls = _run_deploy_build(tmp_path / "one", project)
    assert [(key, argv[:3]) for key, *argv in calls] == [("tooling-key", ["mlops", "aws", "deploy-config"]), ("tooling-key", ["aws", "cloudformation", "deploy"])]
    assert "--role-arn" not in calls[1]  # one account: the build's own role deploys, as before

    calls = _run_deploy_build(tmp_path / "two", {**project, "TARGET_ROLE_ARN": "arn:aws:iam::222233334444:role/credit-default-tooling-deploy"})
    assert [(key, argv[:3]) for key, *argv in calls] == [
        ("tooling-key", ["mlops", "aws", "target-env"]),  # shares the group, assumes the role, reads the stage's settings
        ("tooling-key", ["mlops", "aws", "deploy-config"]),  # reads the tooling account's registry
        ("stage-key", ["run-pipeline", "--module-name", "pipelines.monitoring.pipeline"]),  # the stage's own monitoring pipeline
        ("stage-key", ["aws", "cloudformation", "deploy"]),
    ]
    render, upsert, deploy = calls[1][1:], calls[2][1:], calls[3][1:]
    options = dict(zip(render[3::2], render[4::2], strict=True))
    assert options["--bucket"] == "stage-bucket" and options["--model-role-arn"] == "arn:aws:iam::222233334444:role/m"
    assert options["--retrain-event-bus-arn"] == "arn:aws:events:eu-west-1:123456789012:event-bus/default"
    assert (tmp_path / "two" / "security.env").read_text() == "SubnetIds=subnet-s\nSecurityGroupIds=sg-s\nKmsKeyArn=arn:aws:kms:eu-west-1:222233334444:key/s\n"
    assert upsert[upsert.index("--role-arn") + 1] == "arn:aws:iam::222233334444:role/mon" and "--no-start" in upsert
    assert json.loads(upsert[upsert.index("--kwargs") + 1])["default_bucket"] == "stage-bucket"
    assert deploy[deploy.index("--role-arn") + 1] == "arn:aws:iam::222233334444:role/cfn"
    from pipelines.cli import aws as aws_commands

    aws_commands.deploy_config.make_context("deploy-config", render[3:])  # raises on an unknown option
