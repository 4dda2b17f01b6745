"""The deploy pipeline's TestStaging action: does the staging endpoint answer as the package's
evaluation said its model would?

The package's evaluation step wrote, beside ``evaluation.json`` (its ModelMetrics), the
monitoring baseline ``baseline.csv``: for each training row, the model's output and then the
row's features (``steps/evaluate.py``). The test sends the first rows' features to the staging
endpoint, one request each as traffic comes, and compares each answer with the recorded output:
a model that is not the evaluated one, or a serving stack that reads rows differently (column
order, a header, a content type), answers differently and fails the pipeline before a human is
asked to approve production. It also requires the endpoint InService with data capture on, so
the monitoring that production will rely on has something to read. The report (JSON) is what
the ManualApproval action shows the approver.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelines.aws.stage_deploy import latest_approved, read_object
from pipelines.core.errors import UsageError

TOLERANCE = 1e-4  # float32 scores written with repr(): what serving adds is rounding, at most


@dataclass
class Report:
    endpoint: str
    package: str
    evaluation: str
    rows: int = 0
    max_difference: float = 0.0
    auc: float | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_json(self) -> str:
        return json.dumps({**asdict(self), "passed": self.passed}, indent=2)


def baseline_uri(evaluation_uri: str) -> str:
    """``.../Evaluate/output/evaluation/evaluation.json`` -> ``.../Evaluate/output/baseline/baseline.csv``."""
    parts = evaluation_uri.rstrip("/").split("/")
    if len(parts) < 3 or parts[-1] != "evaluation.json":
        raise UsageError(f"the package's ModelQuality statistics {evaluation_uri} is not an evaluation step's evaluation.json")
    return "/".join([*parts[:-2], "baseline", "baseline.csv"])


def _read(s3: Any, uri: str) -> bytes:
    try:
        return read_object(s3, uri)
    except s3.exceptions.NoSuchKey:
        raise UsageError(f"{uri} does not exist: the staging test reads the evaluation step's outputs") from None


def check(registry: Any, sagemaker: Any, runtime: Any, s3: Any, endpoint: str, group: str, rows: int = 200) -> Report:
    """The staging test's findings for ``endpoint`` serving ``group``'s newest Approved package:
    ``registry`` and ``s3`` (the evaluation's files) are the tooling account's clients,
    ``sagemaker`` and ``runtime`` the staging account's (the same account unless staging has
    its own)."""
    package = latest_approved(registry, group)
    evaluation_uri = ((package.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics", {}).get("S3Uri")
    if not evaluation_uri:
        raise UsageError(f"{package['ModelPackageArn']} has no ModelMetrics.ModelQuality statistics: register it with its evaluation")
    report = Report(endpoint, package["ModelPackageArn"], evaluation_uri)
    evaluation = json.loads(_read(s3, evaluation_uri))
    report.auc = ((evaluation.get("binary_classification_metrics") or {}).get("auc") or {}).get("value")

    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    if described["EndpointStatus"] != "InService":
        report.failures.append(f"endpoint {endpoint} is {described['EndpointStatus']}, not InService")
        return report
    capture = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"]).get("DataCaptureConfig") or {}
    if not capture.get("EnableCapture"):
        report.failures.append(f"endpoint config {described['EndpointConfigName']} captures no data: the monitoring schedules would have nothing to read")

    reader = csv.reader(io.StringIO(_read(s3, baseline_uri(evaluation_uri)).decode()))
    next(reader, None)  # the header: the output's name, then the features'
    for number, row in enumerate(reader, start=1):
        if number > rows:
            break
        expected, features = float(row[0]), ",".join(row[1:])
        answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=features)["Body"].read().decode().strip()
        try:
            got = float(answer.split(",")[0])
        except ValueError:
            report.failures.append(f"row {number}: the endpoint answered {answer[:80]!r}, not a score")
            break
        difference = abs(got - expected)
        report.rows, report.max_difference = number, max(report.max_difference, difference)
        if difference > TOLERANCE:
            report.failures.append(f"row {number}: the endpoint scored {got:.6f} where the evaluated model scored {expected:.6f}: it is not the model the evaluation measured")
            break
    if report.rows == 0 and not report.failures:
        report.failures.append(f"{baseline_uri(evaluation_uri)} has no rows to send")
    return report
