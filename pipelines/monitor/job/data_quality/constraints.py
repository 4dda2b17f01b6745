"""``constraints.json``: suggested from a baseline's statistics, and read back with its settings.

Suggestions follow the container's: every feature gets its inferred type and completeness;
numeric features whose minimum is not negative get ``is_non_negative``; String features with
few distinct values get a domain. ``monitoring_config`` carries SageMaker's keys and the values
its suggested files carry. Per-feature overrides replace those settings for one feature, under
either spelling: ``monitoringConfigOverrides`` (AWS's constraints.json schema) or
``monitoring_config_overrides`` (what the SDK's ``Constraints.set_monitoring`` writes); the
container is closed, so both are honoured rather than one silently ignored. Keys the container's
schema does not have are named in ``unknown_keys`` and logged, never silently dropped.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

logger = logging.getLogger(__name__)
OVERRIDE_KEYS = ("monitoringConfigOverrides", "monitoring_config_overrides")
FEATURE_KEYS = frozenset({"name", "inferred_type", "completeness", "num_constraints", "string_constraints", *OVERRIDE_KEYS})
TOP_KEYS = frozenset({"version", "features", "monitoring_config"})

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
    overrides = {key: value for spelling in reversed(OVERRIDE_KEYS) for key, value in (feature.get(spelling) or {}).items()}
    for key, value in overrides.items():
        if key in merged["distribution_constraints"]:
            merged["distribution_constraints"][key] = value
        elif key == "distribution_constraints" and isinstance(value, dict):
            merged["distribution_constraints"].update(value)
        else:
            merged[key] = value
    return merged


def unknown_keys(constraints: dict[str, Any]) -> list[str]:
    """Keys the container's constraints.json schema does not have: ``features[LIMIT_BAL].typo``."""
    known_config = set(DEFAULT_MONITORING_CONFIG)
    known_drift = set(DEFAULT_MONITORING_CONFIG["distribution_constraints"])
    found = [key for key in constraints if key not in TOP_KEYS]
    found += [f"monitoring_config.{key}" for key in constraints.get("monitoring_config") or {} if key not in known_config]
    found += [f"monitoring_config.distribution_constraints.{key}" for key in (constraints.get("monitoring_config") or {}).get("distribution_constraints") or {} if key not in known_drift]
    for feature in constraints.get("features") or []:
        name = feature.get("name")
        found += [f"features[{name}].{key}" for key in feature if key not in FEATURE_KEYS]
        for spelling in OVERRIDE_KEYS:
            found += [f"features[{name}].{spelling}.{key}" for key in feature.get(spelling) or {} if key not in known_config | known_drift]
    return found


def warn_unknown(constraints: dict[str, Any], source: str) -> list[str]:
    """Log the keys the container would not know (they change nothing here either)."""
    found = unknown_keys(constraints)
    if found:
        logger.warning("%s: unknown constraints key(s), ignored: %s", source, ", ".join(found))
    return found
