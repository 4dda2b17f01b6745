"""Which local program stands in for a container image.

The built-in scikit-learn and XGBoost images run job scripts with ``python3``; locally that is
the current interpreter, which has the same libraries. Other images can be mapped in
``$MLOPS_HOME/images.json``: ``{"<image URI or regular expression>": {"python3": "/path/to/python"}}``.
An image that maps to nothing is refused before the execution starts, with that hint.

The scikit-learn images are versions (``SCIKIT_LEARN``, from aws/sagemaker-scikit-learn-container:
each version's scikit-learn and Python). A version SageMaker does not have is refused, naming
those it has, as SageMaker refuses an image that does not exist. A job on a version whose
scikit-learn differs from this interpreter's, in major.minor, runs here anyway, and its log
says so first (what the container has, what ran it, how to match it: map the image in
``images.json`` to a Python with that version), because scripts written for 0.23 may use what
1.x removed.

A Lambda step's function stands in the same way: ``$MLOPS_HOME/lambdas.json`` maps a function
ARN, or its name, to a Python callable, ``{"<ARN or name>": "package.module:handler"}``, called
as Lambda calls a handler, ``handler(event, context)``.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.errors import DefinitionError

# Image URI patterns of AWS's built-in framework images whose `python3` is this interpreter.
BUILTIN = {
    r"^\d+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/sagemaker-scikit-learn:[\w.-]+$": "scikit-learn",
    r"^\d+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/sagemaker-xgboost:[\w.-]+$": "xgboost",
}
# SageMaker's scikit-learn image versions: its scikit-learn and Python, as each version's branch
# of aws/sagemaker-scikit-learn-container pins them (requirements.txt, the base Dockerfile).
SCIKIT_LEARN = {
    "0.20.0": ("0.20", "3.7"), "0.23-1": ("0.23.2", "3.7"), "1.0-1": ("1.0.2", "3.8"), "1.2-1": ("1.2.1", "3.9"),
    "1.4-2": ("1.4.2", "3.10"), "1.4-2-py312": ("1.4.2", "3.12"), "1.9-0": ("1.9.0", "3.12"),
}  # fmt: skip
_SCIKIT_LEARN_IMAGE = re.compile(r"^\d+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/sagemaker-scikit-learn:(?P<tag>[\w.-]+)$")
XGBOOST_ALGORITHM = re.compile(r"^\d+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/sagemaker-xgboost:\d+\.\d+-\d+(-cpu-py3)?$")
INTERPRETERS = ("python3", "python")


FUNCTIONS_FILE = "lambdas.json"
_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True)
class Runtimes:
    mapped: dict[str, dict[str, str]]
    source: Path | None = None
    functions: dict[str, str] = field(default_factory=dict)  # Lambda ARN or name -> "module:callable"

    @classmethod
    def load(cls, path: Path | None) -> "Runtimes":
        mapped: dict[str, dict[str, str]] = {}
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise DefinitionError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
            if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
                raise DefinitionError(f'{path}: expected {{"<image>": {{"python3": "/path/to/python"}}}}')
            mapped = data
        functions: dict[str, str] = {}
        functions_file = path.with_name(FUNCTIONS_FILE) if path is not None else None
        if functions_file is not None and functions_file.is_file():
            try:
                data = json.loads(functions_file.read_text())
            except json.JSONDecodeError as exc:
                raise DefinitionError(f"{functions_file}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
            wrong = [key for key, value in data.items() if not isinstance(value, str) or not _CALLABLE.match(value)] if isinstance(data, dict) else None
            if wrong is None or wrong:
                raise DefinitionError(f'{functions_file}: expected {{"<function ARN or name>": "package.module:handler"}}' + (f"; {wrong[0]!r} is not" if wrong else ""))
            functions = data
        return cls(mapped=mapped, source=path, functions=functions)

    def function(self, arn: str) -> str | None:
        """The local callable for a Lambda function ARN (or name, alias or version left off)."""
        if arn in self.functions:
            return self.functions[arn]
        name = arn.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in arn else arn
        return self.functions.get(name)

    def function_hint(self, arn: str) -> str:
        where = self.source.with_name(FUNCTIONS_FILE) if self.source else f"$MLOPS_HOME/{FUNCTIONS_FILE}"
        name = arn.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in arn else arn
        handler = name.replace("-", "_")
        return f'map it in {where}, e.g. {{"{name}": "my_package.handlers:{handler}"}}'

    def _mapped(self, image: str) -> dict[str, str] | None:
        for pattern, programs in self.mapped.items():
            if image == pattern or re.fullmatch(pattern, image):
                return programs
        return None

    def command(self, image: str, program: str) -> str | None:
        """The local program for ``program`` in ``image``, or None when it is not mapped."""
        mapped = self._mapped(image)
        if mapped is not None:
            return mapped.get(program)
        if scikit_learn_version(image) is False:
            return None  # no such image on SageMaker
        if any(re.match(pattern, image) for pattern in BUILTIN) and program in INTERPRETERS:
            return sys.executable
        return None

    def hint(self, image: str, program: str) -> str:
        where = self.source or "$MLOPS_HOME/images.json"
        if scikit_learn_version(image) is False:
            return f"SageMaker has no such scikit-learn image; its versions are {', '.join(SCIKIT_LEARN)} (or map the image in {where})"
        return f'map it in {where}, e.g. {{"{image}": {{"{program}": "{sys.executable}"}}}}'

    def difference(self, image: str | None) -> str | None:
        """What a job on ``image`` should know before it runs here: that the scikit-learn image's
        own scikit-learn (major.minor) is not the one that runs it. None when they agree, or the
        image is mapped in images.json, or it is not a scikit-learn image."""
        version = scikit_learn_version(image) if image else None
        if not version or self._mapped(str(image)) is not None:
            return None
        from importlib.metadata import version as installed

        theirs, python, ours = *SCIKIT_LEARN[version], installed("scikit-learn")
        if theirs.split(".")[:2] == ours.split(".")[:2]:
            return None
        here = f"{sys.version_info.major}.{sys.version_info.minor}"
        where = self.source or "$MLOPS_HOME/images.json"
        return (
            f"the image sagemaker-scikit-learn:{version} has scikit-learn {theirs} on Python {python}; this job runs on scikit-learn "
            f"{ours} on Python {here} (this interpreter's). To run it as the container would, map the image in {where} "
            f'to a Python with scikit-learn {theirs}: {{"{image}": {{"python3": "/path/to/venv/bin/python"}}}}'
        )


def scikit_learn_version(image: str) -> str | None | bool:
    """The scikit-learn image version ``image`` names (``0.23-1`` for ``...:0.23-1-cpu-py3``);
    False when it is a scikit-learn image of a version SageMaker does not have; None when it is
    not a scikit-learn image."""
    match = _SCIKIT_LEARN_IMAGE.match(image)
    if not match:
        return None
    tag = match["tag"]
    for version in sorted(SCIKIT_LEARN, key=len, reverse=True):  # 1.4-2-py312 before 1.4-2
        if tag == version or tag.startswith(f"{version}-cpu") or tag.startswith(f"{version}-arm"):
            return version
    return False
