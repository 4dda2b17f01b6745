"""What CloudFormation does to a template's values, for tests: Ref, Fn::Sub, Fn::GetAtt, Fn::If,
Fn::Join and AWS::NoValue, given the stack's parameters, pseudo parameters, attributes and
conditions."""

from __future__ import annotations

import re
from typing import Any

NO_VALUE = object()
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}


class Stack:
    def __init__(self, parameters: dict[str, str], attributes: dict[str, str] | None = None, conditions: dict[str, bool] | None = None) -> None:
        self.names = {**PSEUDO, **parameters, **(attributes or {})}
        self.conditions = conditions or {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, body),) = value.items()
            if key == "Ref":
                return NO_VALUE if body == "AWS::NoValue" else self.names[body]
            if key == "Fn::GetAtt":
                return self.names[".".join(body)]
            if key == "Fn::Sub":
                text, local = (body, {}) if isinstance(body, str) else (body[0], {k: self.resolve(v) for k, v in body[1].items()})
                names = {**self.names, **local}
                return re.sub(r"\$\{([^}!]+)\}", lambda match: str(names[match[1]]) if match[1] in names else _missing(match[1]), text)
            if key == "Fn::If":
                condition, yes, no = body
                return self.resolve(yes if self.conditions[condition] else no)
            if key == "Fn::Join":
                separator, items = body
                return separator.join(str(self.resolve(item)) for item in items)
        if isinstance(value, dict):
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        return value


def _missing(name: str) -> str:
    raise KeyError(f"${{{name}}}: not a parameter, pseudo parameter or attribute of this stack")
