"""``constraints.json``: suggested from a baseline's statistics, and read back with its settings.

Suggestions follow the container's: every feature gets its inferred type and completeness;
numeric features whose minimum is not negative get ``is_non_negative``; String features with
few distinct values get a domain. ``monitoring_config`` carries SageMaker's keys and the values
its suggested files carry. Per-feature ``monitoringConfigOverrides`` replace those settings for
one feature.
"""

from __future__ import annotations

import copy
from typing import Any

MAX_DOMAIN_SIZE = 20
DEFAULT_MONITORING_CONFIG: dict[str, Any] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}


def suggest(statistics: dict[str, Any]) -> dict[str, Any]:
    features = []
    for feature in statistics.get("features", []):
        entry: dict[str, Any] = {"name": feature["name"], "inferred_type": feature["inferred_type"]}
        numeric = feature.get("numerical_statistics")
        strings = feature.get("string_statistics")
        common = (numeric or strings or {}).get("common", {})
        total = common.get("num_present", 0) + common.get("num_missing", 0)
        entry["completeness"] = float(common.get("num_present", 0) / total) if total else 1.0
        if numeric is not None:
            entry["num_constraints"] = {"is_non_negative": bool(numeric.get("min", 0) >= 0)}
        elif strings is not None:
            buckets = strings.get("distribution", {}).get("categorical", {}).get("buckets", [])
            if 0 < strings.get("distinct_count", 0) <= MAX_DOMAIN_SIZE:
                entry["string_constraints"] = {"domains": [b["value"] for b in buckets]}
        features.append(entry)
    return {"version": 0.0, "features": features, "monitoring_config": copy.deepcopy(DEFAULT_MONITORING_CONFIG)}


def settings(constraints: dict[str, Any], feature: dict[str, Any]) -> dict[str, Any]:
    """The monitoring settings for one feature: the file's, then the feature's overrides, then defaults."""
    merged = copy.deepcopy(DEFAULT_MONITORING_CONFIG)
    config = constraints.get("monitoring_config") or {}
    for key, value in config.items():
        if key == "distribution_constraints" and isinstance(value, dict):
            merged["distribution_constraints"].update(value)
        else:
            merged[key] = value
    for key, value in (feature.get("monitoringConfigOverrides") or {}).items():
        if key in merged["distribution_constraints"]:
            merged["distribution_constraints"][key] = value
        elif key == "distribution_constraints" and isinstance(value, dict):
            merged["distribution_constraints"].update(value)
        else:
            merged[key] = value
    return merged
