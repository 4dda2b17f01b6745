"""Deployment stages: which endpoint each stage deploys to, and how much traffic it captures.

Defaults: staging -> ``credit-default-staging`` capturing 100%, prod -> ``credit-default-prod``
capturing 80% (AWS's model-deploy template's figures). ``$MLOPS_HOME/stages.json`` may
override them: ``{"staging": {"endpoint": "...", "sampling": 100}, "prod": {...}}``.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.core.errors import UsageError
from pipelines.local.home import Home

DEFAULTS: dict[str, dict[str, Any]] = {
    "staging": {"endpoint": "credit-default-staging", "sampling": 100},
    "prod": {"endpoint": "credit-default-prod", "sampling": 80},
}


def stages(home: Home) -> dict[str, dict[str, Any]]:
    merged = {name: dict(values) for name, values in DEFAULTS.items()}
    path = home.stages
    if path.is_file():
        try:
            configured = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        for name, values in configured.items():
            if name not in merged or not isinstance(values, dict):
                raise UsageError(f"{path}: unknown stage {name!r}; stages are {', '.join(DEFAULTS)}")
            merged[name].update(values)
    for name, values in merged.items():
        sampling = values.get("sampling")
        if not isinstance(sampling, int) or not 0 <= sampling <= 100:
            raise UsageError(f"stage {name}: sampling must be an integer 0-100, got {sampling!r}")
    return merged
