"""Local stand-ins for the breast-cancer pipeline's Lambda function (map it in
``$MLOPS_HOME/lambdas.json``: ``{"summarize-tuning": "pipelines.breast_cancer.functions:summarize"}``)."""

from __future__ import annotations

from typing import Any


def summarize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One line for the reviewer: the best training job's validation AUC against the baseline's,
    and where the test set's scores are."""
    auc, baseline = float(event["validation_auc"]), float(event["baseline_auc"])
    return {
        "summary": f"{event['best_job']} scored validation AUC {auc:.4f} (baseline {baseline:.4f}); test-set scores in {event['predictions']}",
        "auc_ok": auc >= float(event.get("minimum_auc", 0.9)),
    }
