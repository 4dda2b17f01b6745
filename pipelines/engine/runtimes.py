"""Which local program stands in for a container image.

The built-in scikit-learn and XGBoost images run job scripts with ``python3``; locally that is
the current interpreter, which has the same libraries. Other images can be mapped in
``$MLOPS_HOME/images.json``: ``{"<image URI or regular expression>": {"python3": "/path/to/python"}}``.
An image that maps to nothing is refused before the execution starts, with that hint.

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

    def command(self, image: str, program: str) -> str | None:
        """The local program for ``program`` in ``image``, or None when it is not mapped."""
        for pattern, programs in self.mapped.items():
            if image == pattern or re.fullmatch(pattern, image):
                return programs.get(program)
        if any(re.match(pattern, image) for pattern in BUILTIN) and program in INTERPRETERS:
            return sys.executable
        return None

    def hint(self, image: str, program: str) -> str:
        where = self.source or "$MLOPS_HOME/images.json"
        return f'map it in {where}, e.g. {{"{image}": {{"{program}": "{sys.executable}"}}}}'
