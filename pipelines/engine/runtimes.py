"""Which local program stands in for a container image.

The built-in scikit-learn and XGBoost images run job scripts with ``python3``; locally that is
the current interpreter, which has the same libraries. Other images can be mapped in
``$MLOPS_HOME/images.json``: ``{"<image URI or regular expression>": {"python3": "/path/to/python"}}``.
An image that maps to nothing is refused before the execution starts, with that hint.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import DefinitionError

# Image URI patterns of AWS's built-in framework images whose `python3` is this interpreter.
BUILTIN = {
    r"^\d+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/sagemaker-scikit-learn:[\w.-]+$": "scikit-learn",
    r"^\d+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/sagemaker-xgboost:[\w.-]+$": "xgboost",
}
XGBOOST_ALGORITHM = re.compile(r"^\d+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/sagemaker-xgboost:1\.\d+-\d+(-cpu-py3)?$")
INTERPRETERS = ("python3", "python")


@dataclass(frozen=True)
class Runtimes:
    mapped: dict[str, dict[str, str]]
    source: Path | None = None

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
        return cls(mapped=mapped, source=path)

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
