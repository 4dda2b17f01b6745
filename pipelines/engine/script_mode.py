"""Script-mode training (the SDK v3 ``ModelTrainer`` with a ``SourceCode``), run as SageMaker runs it.

The definition's job runs ``sm_drivers/sm_train.sh``, which the SDK uploads with the user's
code: it writes the training toolkit's environment (``scripts/environment.py``: ``SM_MODEL_DIR``,
``SM_CHANNEL_<NAME>``, ``SM_HPS``, ``SM_HP_<NAME>``, ``SM_TRAINING_ENV``, ...) from
``/opt/ml/input/config/*.json``, then the basic script driver runs the entry script with the
hyperparameters as ``--name value`` arguments. Locally there is no ``/opt/ml``: this runs the
*same driver code from the job's own sm_drivers channel* with its paths pointed at the job's
folder, so the entry script sees the contract the SDK defines, and the step reads back what
the container would leave: ``SM_MODEL_DIR`` packed into ``model.tar.gz``, and the failure file
(``SM_OUTPUT_FAILURE``) for the reason when the script fails. Requirements named in
``sourcecode.json`` are never installed: a missing one is a clear error before anything runs.
"""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HOST = "algo-1"
# Phase 1 sets the SDK's own environment up with local paths; phase 2 runs its basic script
# driver's command. Runs in the job's interpreter, from the code channel's folder.
RUNNER = r"""
import json, os, subprocess, sys
drivers, settings_file = sys.argv[1:3]
settings = json.load(open(settings_file))
sys.path.insert(0, drivers)
from scripts import environment as env
for name, value in settings["constants"].items():
    setattr(env, name, value)
source = json.load(open(os.path.join(drivers, "sourcecode.json")))
distributed_file = os.path.join(drivers, "distributed.json")
distributed = json.load(open(distributed_file)) if os.path.exists(distributed_file) else {}
env.read_source_code_json = lambda *args, **kwargs: source
env.read_distributed_json = lambda *args, **kwargs: distributed
env.set_env(resource_config=settings["resource"], input_data_config=settings["inputs"], hyperparameters_config=settings["hyperparameters"], output_file=settings["env_file"])
for line in open(settings["env_file"]):
    if line.startswith("export "):
        key, _, value = line[len("export "):].rstrip("\n").partition("=")
        os.environ[key] = value[1:-1] if value.startswith("'") and value.endswith("'") else value
from distributed_drivers import basic_script_driver
command = basic_script_driver.create_commands()
print("running: " + " ".join(command), flush=True)
sys.exit(subprocess.call(command))
"""


class ScriptModeError(Exception):
    """The job cannot start (a requirement missing, the SDK's files absent); the message says why."""


@dataclass(frozen=True)
class Layout:
    """The job's stand-in for ``/opt/ml``."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "input" / "data"

    @property
    def config(self) -> Path:
        return self.root / "input" / "config"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def failure(self) -> Path:
        return self.output / "failure"

    def constants(self) -> dict[str, str]:
        """The SDK driver's path constants (environment.py), pointed here."""
        return {
            "SM_MODEL_DIR": str(self.model), "SM_INPUT_DIR": str(self.root / "input"), "SM_INPUT_DATA_DIR": str(self.data),
            "SM_INPUT_CONFIG_DIR": str(self.config), "SM_OUTPUT_DIR": str(self.output), "SM_OUTPUT_FAILURE": str(self.failure),
            "SM_OUTPUT_DATA_DIR": str(self.output / "data"), "SM_SOURCE_DIR_PATH": str(self.data / "code"),
            "SM_DISTRIBUTED_DRIVER_DIR_PATH": str(self.data / "sm_drivers" / "distributed_drivers"),
        }  # fmt: skip


FRAMEWORK_HYPERPARAMETERS = ("sagemaker_program", "sagemaker_submit_directory")


def is_script_mode(arguments: dict[str, Any]) -> bool:
    """A job whose code the SDK packed: ModelTrainer's sm_train.sh entrypoint, or (a tuning job's
    training jobs, which cannot take an entrypoint) the framework containers' hyperparameters
    ``sagemaker_program`` and ``sagemaker_submit_directory``."""
    channels = {c.get("ChannelName") for c in arguments.get("InputDataConfig") or []}
    hyperparameters = arguments.get("HyperParameters") or arguments.get("StaticHyperParameters") or {}
    legacy = all(name in hyperparameters for name in FRAMEWORK_HYPERPARAMETERS)
    return "sm_drivers" in channels and (bool((arguments.get("AlgorithmSpecification") or {}).get("ContainerEntrypoint")) or legacy)


def unpack_submitted(archive: Path, target: Path) -> int:
    """``sagemaker_submit_directory``'s sourcedir.tar.gz into the code folder, entries checked."""
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            destination = (target / member.name).resolve()
            if member.issym() or member.islnk() or not (destination == root or root in destination.parents):
                raise ScriptModeError(f"sourcedir.tar.gz: {member.name} would land outside the code folder, or is a link")
        tar.extractall(target)
    return len(members)


def source_code(layout: Layout) -> dict[str, Any]:
    path = layout.data / "sm_drivers" / "sourcecode.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ScriptModeError("the sm_drivers channel has no sourcecode.json (was the definition rendered by the SDK's ModelTrainer?)") from exc


def missing_requirements(layout: Layout, source: dict[str, Any]) -> list[str]:
    """Requirements (``sourcecode.json``'s file, in the code channel) this interpreter lacks."""
    from packaging.requirements import InvalidRequirement, Requirement

    name = source.get("requirements")
    if not name:
        return []
    path = layout.data / "code" / str(name)
    if not path.is_file():
        raise ScriptModeError(f"SourceCode requirements {name} is not in the source directory")
    missing = []
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            missing.append(f"{text} (not a requirement this reads)")
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(f"{text} (not installed)")
            continue
        if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
            missing.append(f"{text} (installed: {version})")
    return missing


def settings(layout: Layout, arguments: dict[str, Any], channels: list[str], env_file: Path) -> dict[str, Any]:
    """What the runner needs, and the config files the container would hold."""
    resource = {"current_host": HOST, "current_instance_type": (arguments.get("ResourceConfig") or {}).get("InstanceType", "ml.m5.large"), "hosts": [HOST], "network_interface_name": "eth0"}
    inputs = {name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"} for name in channels}
    # The framework containers keep their own (sagemaker_*) hyperparameters from the script.
    hyperparameters = {k: str(v) for k, v in (arguments.get("HyperParameters") or {}).items() if not k.startswith("sagemaker_")}
    layout.config.mkdir(parents=True, exist_ok=True)
    for name, value in (("resourceconfig.json", resource), ("inputdataconfig.json", inputs), ("hyperparameters.json", hyperparameters)):
        (layout.config / name).write_text(json.dumps(value))
    for folder in (layout.model, layout.output / "data"):
        folder.mkdir(parents=True, exist_ok=True)
    return {"constants": layout.constants(), "resource": resource, "inputs": inputs, "hyperparameters": hyperparameters, "env_file": str(env_file)}


def pack_model(layout: Layout, target: Path) -> int:
    """``SM_MODEL_DIR`` as SageMaker packs it: a gzipped tar of its contents."""
    files = sorted(p for p in layout.model.rglob("*") if p.is_file())
    with tarfile.open(target, "w:gz") as archive:
        for file in files:
            archive.add(file, arcname=file.relative_to(layout.model).as_posix())
    return len(files)


def final_metrics(log_text: str, definitions: list[dict[str, str]]) -> dict[str, float]:
    """Each MetricDefinition's last value in the log (its regex's first group)."""
    found: dict[str, float] = {}
    for definition in definitions:
        try:
            pattern = re.compile(definition["Regex"])
        except (KeyError, re.error):
            continue
        for match in pattern.finditer(log_text):
            try:
                found[definition["Name"]] = float(match.group(1))
            except (IndexError, ValueError):
                continue
    return found
