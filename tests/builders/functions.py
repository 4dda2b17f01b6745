"""The local stand-ins for the Lambda functions of ``lambdas.py`` (mapped in lambdas.json)."""

from __future__ import annotations

from typing import Any


def score_applicant(event: dict[str, Any], context: Any) -> dict[str, Any]:
    score = min(1.0, float(event["limit_bal"]) / 100000) + (0.2 if event["education"] == "university" else 0.0)
    return {"score": round(score, 3), "approved": "true" if score >= 0.5 else "false", "tier": 2.0, "reason": f"{context.function_name}: limit {event['limit_bal']}"}


def notify_team(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"message": f"score {event['score']} ({event['reason']})"}


def forgets_an_output(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"score": 0.9}


def raises(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("the credit bureau is down")
