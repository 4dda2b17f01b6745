"""Every expression of the definition language, resolved in one place.

``{"Get": "Parameters.X"}``, ``{"Get": "Execution.X"}``, ``{"Get": "Steps.S.<property path>"}``,
``{"Std:Join": {"On": .., "Values": [..]}}``, ``{"Std:JsonGet": {"PropertyFile": .., "Path": ..}}``
and the condition types (Equals, GreaterThan, GreaterThanOrEqualTo, LessThan,
LessThanOrEqualTo, In, Not, Or). Errors carry the JSON pointer of the expression.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from pipelines.core.errors import DefinitionError

EXECUTION_VARIABLES = ("PipelineExecutionId", "PipelineExecutionArn", "PipelineName", "StartDateTime", "CurrentDateTime")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}
CONDITION_TYPES = (*COMPARISONS, "In", "Not", "Or")
_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
# List elements are addressed by name in property paths: Outputs['train'], FinalMetricDataList['validation:auc'].
_NAME_KEYS = ("OutputName", "InputName", "ChannelName", "MetricName", "PropertyFileName", "Name")


class ExpressionError(DefinitionError):
    """An expression that cannot be resolved; the message starts with its JSON pointer."""


def parse_path(path: str) -> list[str | int]:
    """``A.B['x'][0].C`` -> ``['A', 'B', 'x', 0, 'C']``; raises ValueError when malformed."""
    tokens: list[str | int] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if not match or (position == 0 and path.startswith(".")):
            raise ValueError(f"malformed property path {path!r} at {path[position:]!r}")
        name, index, quoted, double_quoted = match.groups()
        if index is not None:
            tokens.append(int(index))
        elif name is not None:
            tokens.append(name)
        else:
            tokens.append(quoted if quoted is not None else double_quoted)
        position = match.end()
    if not tokens:
        raise ValueError("empty property path")
    return tokens


def lookup(document: Any, tokens: list[str | int]) -> Any:
    """Follow ``tokens`` through dicts and lists; a string key on a list matches an element's name."""
    value = document
    for token in tokens:
        if isinstance(value, dict) and isinstance(token, str) and token in value:
            value = value[token]
        elif isinstance(value, list) and isinstance(token, int) and -len(value) <= token < len(value):
            value = value[token]
        elif isinstance(value, list) and isinstance(token, str):
            matches = [item for item in value if isinstance(item, dict) and any(item.get(k) == token for k in _NAME_KEYS)]
            if not matches:
                raise KeyError(token)
            value = matches[0]
        else:
            raise KeyError(token)
    return value


def json_path(document: Any, path: str) -> Any:
    """The ``Std:JsonGet`` path language: dotted keys and ``[index]``."""
    tokens: list[str | int] = []
    for part in path.split("."):
        match = re.fullmatch(r"([^\[\]]*)((?:\[\d+\])*)", part)
        if not match:
            raise KeyError(part)
        if match[1]:
            tokens.append(match[1])
        tokens.extend(int(i) for i in re.findall(r"\[(\d+)\]", match[2]))
    return lookup(document, tokens)


@dataclass
class Scope:
    """What expressions of one execution can see."""

    parameters: dict[str, Any]
    execution: dict[str, Any]
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    property_files: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # step -> name -> {OutputName, FilePath}
    read_text: Callable[[str], str] | None = None  # s3:// URI -> text (the object store)

    def resolve(self, value: Any, pointer: str) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                (key, body), = value.items()
                if key == "Get" and isinstance(body, str):
                    return self.get(body, pointer)
                if key == "Std:Join":
                    return self._join(body, pointer)
                if key == "Std:JsonGet":
                    return self._json_get(body, pointer)
            return {k: self.resolve(v, f"{pointer}/{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, f"{pointer}/{i}") for i, v in enumerate(value)]
        return value

    def get(self, target: str, pointer: str) -> Any:
        kind, _, rest = target.partition(".")
        if kind == "Parameters":
            if rest not in self.parameters:
                raise ExpressionError(f"{pointer}: parameter {rest!r} is not defined")
            return self.parameters[rest]
        if kind == "Execution":
            if rest == "CurrentDateTime":
                return datetime.now(timezone.utc).isoformat()
            if rest not in self.execution:
                raise ExpressionError(f"{pointer}: unknown execution variable {rest!r}; known: {', '.join(EXECUTION_VARIABLES)}")
            return self.execution[rest]
        if kind == "Steps":
            step, _, path = rest.partition(".")
            if step not in self.properties:
                raise ExpressionError(f"{pointer}: step {step!r} has no properties yet (has it run?)")
            try:
                return lookup(self.properties[step], parse_path(path))
            except (KeyError, ValueError) as exc:
                raise ExpressionError(f"{pointer}: step {step} has no property {path!r} ({exc})") from exc
        raise ExpressionError(f"{pointer}: cannot resolve {target!r}")

    def _join(self, body: Any, pointer: str) -> str:
        if not isinstance(body, dict) or not isinstance(body.get("Values"), list):
            raise ExpressionError(f"{pointer}/Std:Join: needs On and a list of Values")
        values = self.resolve(body["Values"], f"{pointer}/Std:Join/Values")
        return str(body.get("On", "")).join(render(v) for v in values)

    def _json_get(self, body: Any, pointer: str) -> Any:
        where = f"{pointer}/Std:JsonGet"
        if not isinstance(body, dict) or "PropertyFile" not in body or "Path" not in body:
            raise ExpressionError(f"{where}: needs PropertyFile and Path")
        reference = body["PropertyFile"]
        target = reference.get("Get") if isinstance(reference, dict) else None
        match = re.fullmatch(r"Steps\.([^.]+)\.PropertyFiles\.([^.]+)", target or "")
        if not match:
            raise ExpressionError(f"{where}/PropertyFile: expected {{'Get': 'Steps.<step>.PropertyFiles.<name>'}}")
        step, name = match.groups()
        declared = self.property_files.get(step, {}).get(name)
        if declared is None:
            raise ExpressionError(f"{where}/PropertyFile: step {step} declares no property file {name!r}")
        try:
            output_uri = lookup(self.properties[step], ["ProcessingOutputConfig", "Outputs", declared["OutputName"], "S3Output", "S3Uri"])
        except KeyError as exc:
            raise ExpressionError(f"{where}: step {step} has no output {declared['OutputName']!r} holding {name}") from exc
        uri = f"{str(output_uri).rstrip('/')}/{declared['FilePath'].lstrip('/')}"
        if self.read_text is None:
            raise ExpressionError(f"{where}: no store to read {uri}")
        try:
            document = json.loads(self.read_text(uri))
        except FileNotFoundError as exc:
            raise ExpressionError(f"{where}: property file {name} ({uri}) does not exist") from exc
        except json.JSONDecodeError as exc:
            raise ExpressionError(f"{where}: property file {name} ({uri}) is not JSON: {exc}") from exc
        path = self.resolve(body["Path"], f"{where}/Path")
        try:
            return json_path(document, str(path))
        except KeyError as exc:
            raise ExpressionError(f"{where}/Path: {path!r} is not in {name} ({uri})") from exc

    def condition(self, condition: Any, pointer: str, trace: list[str] | None = None) -> bool:
        """Evaluate one condition of a ConditionStep; ``trace`` collects what was compared."""
        if not isinstance(condition, dict) or condition.get("Type") not in CONDITION_TYPES:
            kind = condition.get("Type") if isinstance(condition, dict) else condition
            raise ExpressionError(f"{pointer}/Type: unknown condition type {kind!r}; known: {', '.join(CONDITION_TYPES)}")
        kind = condition["Type"]
        if kind == "Not":
            return not self.condition(condition.get("Condition"), f"{pointer}/Condition", trace)  # the SDK's ConditionNot
        if kind == "Or":
            return any(self.condition(c, f"{pointer}/Conditions/{i}", trace) for i, c in enumerate(condition.get("Conditions") or []))
        if kind == "In":
            query = self.resolve(condition.get("QueryValue"), f"{pointer}/QueryValue")
            values = self.resolve(condition.get("Values") or [], f"{pointer}/Values")
            result = any(_same(query, v) for v in values)
            if trace is not None:
                trace.append(f"{query!r} In {values!r}: {str(result).lower()}")
            return result
        left = self.resolve(condition.get("LeftValue"), f"{pointer}/LeftValue")
        right = self.resolve(condition.get("RightValue"), f"{pointer}/RightValue")
        if kind == "Equals":
            result = _same(left, right)
        elif not (_is_number(left) and _is_number(right)) and not (isinstance(left, str) and isinstance(right, str)):
            raise ExpressionError(f"{pointer}: cannot compare {left!r} with {right!r} ({kind})")
        else:
            result = COMPARISONS[kind](left, right)
        if trace is not None:
            trace.append(f"{left!r} {kind} {right!r}: {str(result).lower()}")
        return result


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return float(left) == float(right)
    return bool(left == right)


def render(value: Any) -> str:
    """A value as ``Std:Join`` writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
