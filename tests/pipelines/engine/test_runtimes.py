"""The scikit-learn images as versions: the table checked against the SDK's own list of images
and the container repository's pins, an image SageMaker does not have refused by name, and a
job told when the image's scikit-learn is not the one that runs it."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

import pytest

from pipelines.engine.orchestrator import Engine
from pipelines.engine.runtimes import SCIKIT_LEARN, Runtimes, scikit_learn_version
from pipelines.engine.validation import ValidationError, validate
from pipelines.local.home import Home
from tests.helpers.engine_defs import definition, processing

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:{}"


def test_the_versions_are_those_the_sdk_names_with_the_containers_pins() -> None:
    sdk = json.loads(files("sagemaker.core").joinpath("image_uri_config", "sklearn.json").read_text())
    assert set(SCIKIT_LEARN) == set(sdk["training"]["versions"])
    source = json.loads((Path(__file__).parent / "sklearn_containers.json").read_text())
    for name, (scikit_learn, python) in SCIKIT_LEARN.items():
        pinned = re.search(r"[\d.]+$", source[name]["scikit-learn"])[0]
        assert pinned.startswith(scikit_learn), name
        assert source[name]["python"].split("=")[1].startswith(python), name


def test_image_tags_name_their_version() -> None:
    assert scikit_learn_version(IMAGE.format("1.2-1-cpu-py3")) == "1.2-1"
    assert scikit_learn_version(IMAGE.format("1.4-2-py312")) == "1.4-2-py312"
    assert scikit_learn_version(IMAGE.format("0.20.0-cpu-py3")) == "0.20.0"
    assert scikit_learn_version(IMAGE.format("0.24-1-cpu-py3")) is False  # never released
    assert scikit_learn_version("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3") is None


def test_an_image_sagemaker_does_not_have_is_refused_naming_those_it_has(tmp_path: Path) -> None:
    step = processing("Prep", tmp_path / "prep.py", [])
    step["Arguments"]["AppSpecification"]["ImageUri"] = IMAGE.format("0.24-1-cpu-py3")
    with pytest.raises(ValidationError) as refused:
        validate(definition([step]), Runtimes(mapped={}))
    (problem,) = [str(p) for p in refused.value.problems]
    assert problem.startswith(f"/Steps/0/Arguments/AppSpecification/ImageUri: image {IMAGE.format('0.24-1-cpu-py3')} has no local runtime for 'python3': SageMaker has no such scikit-learn image")
    assert "SageMaker has no such scikit-learn image; its versions are 0.20.0, 0.23-1, 1.0-1, 1.2-1, 1.4-2, 1.4-2-py312, 1.9-0" in problem
    # Mapped in images.json, it is the user's to run.
    validate(definition([step]), Runtimes(mapped={IMAGE.format("0.24-1-cpu-py3"): {"python3": "/usr/bin/python3"}}))


def test_a_job_on_another_scikit_learn_is_told_in_its_log_and_still_runs(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    script = tmp_path / "prep.py"
    script.write_text("print('ran')\n")  # nothing hard-coded: without bubblewrap /opt/ml would be the host's
    step = processing("Prep", script, [])
    step["Arguments"]["AppSpecification"]["ImageUri"] = IMAGE.format("0.23-1-cpu-py3")
    result = Engine(home).run(definition([step]), "Versions")
    assert result.status == "Succeeded", result.failure_reason
    log = next(home.root.glob("executions/*/Prep.log")).read_text()
    assert f"\nnote: the image sagemaker-scikit-learn:0.23-1 has scikit-learn 0.23.2 on Python 3.7; this job runs on scikit-learn {version('scikit-learn')}" in log
    assert f"map the image in {home.images} to a Python with scikit-learn 0.23.2" in log
    # The version this interpreter has: nothing to say.
    same = next(name for name, (theirs, _) in SCIKIT_LEARN.items() if theirs.split(".")[:2] == version("scikit-learn").split(".")[:2])
    assert Runtimes(mapped={}).difference(IMAGE.format(f"{same}-cpu-py3")) is None
