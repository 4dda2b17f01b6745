"""The CloudWatch metrics Model Monitor published, published the same way.

Data quality: namespace ``aws/sagemaker/Endpoints/data-metrics``, dimensions ``Endpoint`` and
``MonitoringSchedule``, one datum per feature and metric: ``feature_baseline_drift_<name>``,
``feature_non_null_<name>``, ``feature_data_<name>``. So alarms made for Model Monitor (the
project's per-feature drift alarms among them) keep working when this job replaces it. The
analyzer's other figures (``feature_mean_``, ``feature_data_type_``) are for reports, not
CloudWatch. Model quality (``quality.py``): every metric with a value (``auc``, ``f1``,
``accuracy``, ...) in ``aws/sagemaker/Endpoints/model-metrics``, the same dimensions.

Part of the analyzer bundle (``bundle.py``): standard library and boto3 only, Python 3.9.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List

NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
PUBLISHED = ("feature_baseline_drift_", "feature_non_null_", "feature_data_")
BATCH = 500  # PutMetricData takes up to 1,000 data a call


def published(metrics: Dict[str, float]) -> Dict[str, float]:
    """The metrics Model Monitor publishes, out of everything the analyzer computed."""
    return {name: value for name, value in metrics.items() if name.startswith(PUBLISHED) and not name.startswith("feature_data_type_")}


def metric_data(metrics: Dict[str, float], endpoint: str, schedule: str, timestamp: datetime, every: bool = False) -> List[Dict[str, Any]]:
    """One datum per metric Model Monitor published (``every``: each metric given, as the
    model-quality jobs published all of theirs)."""
    dimensions = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule}]
    chosen = metrics if every else published(metrics)
    return [{"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Value": float(value), "Unit": "None"} for name, value in sorted(chosen.items())]


def publish(client: Any, data: List[Dict[str, Any]], namespace: str = NAMESPACE) -> int:
    """PutMetricData in batches; how many data were sent."""
    for start in range(0, len(data), BATCH):
        client.put_metric_data(Namespace=namespace, MetricData=data[start : start + BATCH])
    return len(data)
