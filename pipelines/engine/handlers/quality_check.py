"""``QualityCheck`` (DATA_QUALITY, MODEL_QUALITY): SageMaker's QualityCheckStep, on the local analyzer.

The step's arguments are the processing job of the model-monitor-analyzer image; here that
image's program is ``python -m pipelines.monitor.job.environment``, driven by the same environment,
so the definition runs as written. Then the step's own fields, as SageMaker documents them:

- the job always calculates a new baseline (``statistics.json``, ``constraints.json``):
  ``CalculatedBaselineStatistics`` / ``CalculatedBaselineConstraints``;
- ``SkipCheck`` false: the data is checked against the baseline used for drift checks (the
  supplied one, else the latest approved model package's of the group); violations are written
  to ``constraint_violations.json``, and with ``FailOnViolation`` they fail the step;
- ``BaselineUsedForDriftCheck*`` are the calculated files when ``RegisterNewBaseline`` is true,
  else the baseline the check used.

MODEL_QUALITY (``ModelQualityCheckConfig``: a dataset of labels and probabilities) runs the
model-quality analysis (``analysis_type`` in the environment, as the container reads it) and
checks against the package's ``DriftCheckBaselines.ModelQuality``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from pipelines.core.errors import UsageError
from pipelines.core.graph import Node
from pipelines.engine.events import Artifact
from pipelines.engine.handlers.base import FAILED, SUCCEEDED, Problem, StepOutcome, StepRun, artifact
from pipelines.engine.handlers.processing import ProcessingHandler, Sandbox
from pipelines.engine.runtimes import Runtimes
from pipelines.local.home import Home
from pipelines.monitor.job.common.result import CONSTRAINTS, STATISTICS, VIOLATIONS, JobFailed

ANALYZER_IMAGE = "sagemaker-model-monitor-analyzer"
PROGRAM = [sys.executable, "-m", "pipelines.monitor.job.environment"]


CHECKS = {"DATA_QUALITY": "ModelDataQuality", "MODEL_QUALITY": "ModelQuality"}  # check type: its DriftCheckBaselines key


def registered_baseline(home: Home, group: str, check_type: str = "DATA_QUALITY") -> tuple[str, str] | None:
    """The drift-check baseline of the group's latest approved model package, if any."""
    from pipelines.registry.store import ModelRegistry

    if not home.registry_db.exists():
        return None
    registry = ModelRegistry(home)
    try:
        package = registry.latest_approved(group)
    except UsageError:
        return None
    finally:
        registry.close()
    quality = ((package or {}).get("DriftCheckBaselines") or {}).get(CHECKS[check_type]) or {}
    statistics, constraints = (quality.get("Statistics") or {}).get("S3Uri"), (quality.get("Constraints") or {}).get("S3Uri")
    return (statistics, constraints) if statistics and constraints else None


class QualityCheckHandler(ProcessingHandler):
    type = "QualityCheck"
    properties = frozenset({"CalculatedBaselineStatistics", "CalculatedBaselineConstraints", "BaselineUsedForDriftCheckStatistics", "BaselineUsedForDriftCheckConstraints"})
    cache_fields = ("AppSpecification", "Environment", "ProcessingInputs")
    action = "QualityCheck"

    def artifacts(self, arguments: dict[str, Any], properties: dict[str, Any]) -> list[Artifact]:
        found = self.inputs(arguments)
        for key in ("CalculatedBaselineStatistics", "CalculatedBaselineConstraints"):
            found += artifact("out", "Baseline", key, properties.get(key))
        return found

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        """From the properties alone (a cache hit): the run itself sets the full Metadata."""
        keys = ("CalculatedBaselineStatistics", "CalculatedBaselineConstraints", "BaselineUsedForDriftCheckStatistics", "BaselineUsedForDriftCheckConstraints")
        found = {key: outcome.properties[key] for key in keys if key in outcome.properties}
        arn = outcome.properties.get("ProcessingJobArn")
        check_type = (arguments.get("Environment") or {}).get("analysis_type") or "DATA_QUALITY"
        return {"QualityCheck": {"CheckType": check_type, **found, **({"CheckJobArn": arn} if arn else {})}}

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        here = f"{node.pointer}"
        problems = []
        if node.step.get("CheckType") not in CHECKS:
            problems.append(Problem(f"{here}/CheckType", f"only {' and '.join(CHECKS)} checks run locally, not {node.step.get('CheckType')!r}"))
        arguments = node.step.get("Arguments") or {}
        image = (arguments.get("AppSpecification") or {}).get("ImageUri")
        if not isinstance(image, str) or ANALYZER_IMAGE not in image:
            problems.append(Problem(f"{here}/Arguments/AppSpecification/ImageUri", f"expected the {ANALYZER_IMAGE} image, got {image!r}"))
        outputs = (arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        if len(outputs) != 1:
            problems.append(Problem(f"{here}/Arguments/ProcessingOutputConfig/Outputs", "a QualityCheck has exactly one output"))
        return problems

    def check_property(self, node: Node, tokens: list[str | int]) -> str | None:
        if not tokens or tokens[0] not in self.properties:
            return f"QualityCheck steps have no property {tokens[0] if tokens else ''!r}; they have {', '.join(sorted(self.properties))}"
        return None

    def run(self, job: StepRun) -> StepOutcome:
        fields = {key: job.scope.resolve(job.node.step.get(key), f"{job.node.pointer}/{key}") for key in ("SkipCheck", "FailOnViolation", "RegisterNewBaseline", "SuppliedBaselineStatistics", "SuppliedBaselineConstraints", "ModelPackageGroupName")}
        output_uri = str(job.arguments["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]).rstrip("/")
        calculated = (f"{output_uri}/{STATISTICS}", f"{output_uri}/{CONSTRAINTS}")
        drift_baseline: tuple[str, str] | None = None
        if fields["SuppliedBaselineStatistics"] and fields["SuppliedBaselineConstraints"]:
            drift_baseline = (str(fields["SuppliedBaselineStatistics"]), str(fields["SuppliedBaselineConstraints"]))
        elif fields["ModelPackageGroupName"]:
            drift_baseline = registered_baseline(job.home, str(fields["ModelPackageGroupName"]), str(job.node.step.get("CheckType")))
        skip = _true(fields["SkipCheck"])
        if not skip and drift_baseline is None:
            return StepOutcome(FAILED, failure_reason="ClientError: SkipCheck is false but there is no baseline to check against: supply SuppliedBaselineStatistics/Constraints or approve a model package with drift-check baselines in the group")

        def check(job: StepRun, sandbox: Sandbox) -> StepOutcome:
            if skip or drift_baseline is None:
                job.log.write("SkipCheck: the new baseline is calculated, not checked\n")
                return StepOutcome(SUCCEEDED)
            return self._check(job, sandbox, drift_baseline, _true(fields["FailOnViolation"]))

        outcome = self.run_job(job, Sandbox(job.job_dir), list(PROGRAM), after=check)
        used = calculated if _true(fields["RegisterNewBaseline"]) or drift_baseline is None else drift_baseline
        metadata = {
            "CheckType": job.node.step.get("CheckType"),
            "CalculatedBaselineStatistics": calculated[0],
            "CalculatedBaselineConstraints": calculated[1],
            "ModelPackageGroupName": fields["ModelPackageGroupName"] or None,
            "ViolationReport": f"{output_uri}/{VIOLATIONS}" if not skip and drift_baseline is not None else None,
            "CheckJobArn": outcome.properties.get("ProcessingJobArn"),
            "SkipCheck": skip,
            "RegisterNewBaseline": _true(fields["RegisterNewBaseline"]),
        }
        if outcome.status == SUCCEEDED:
            metadata.update(BaselineUsedForDriftCheckStatistics=used[0], BaselineUsedForDriftCheckConstraints=used[1])
        outcome.metadata = {"QualityCheck": {key: value for key, value in metadata.items() if value is not None}}
        if outcome.status != SUCCEEDED:
            return outcome
        outcome.properties = {
            "CalculatedBaselineStatistics": calculated[0],
            "CalculatedBaselineConstraints": calculated[1],
            "BaselineUsedForDriftCheckStatistics": used[0],
            "BaselineUsedForDriftCheckConstraints": used[1],
            **{k: v for k, v in outcome.properties.items() if k.startswith("Processing")},
        }
        return outcome

    def _check(self, job: StepRun, sandbox: Sandbox, baseline: tuple[str, str], fail_on_violation: bool) -> StepOutcome:
        environment = job.arguments.get("Environment") or {}
        if job.node.step.get("CheckType") == "MODEL_QUALITY":
            return self._check_model_quality(job, sandbox, baseline[1], fail_on_violation)
        from pipelines.monitor.job.data_quality import analyzer  # numpy and pyarrow: only when a check runs

        local = job.job_dir / "drift-baseline"
        for uri, name in zip(baseline, (STATISTICS, CONSTRAINTS), strict=True):
            try:
                job.store.materialize(uri, local / name.split(".")[0])
            except FileNotFoundError:
                return StepOutcome(FAILED, failure_reason=f"ClientError: the drift-check baseline {uri} does not exist")
        dataset_format = json.loads(environment.get("dataset_format") or '{"csv": {"header": true}}')
        checked = job.job_dir / "check"
        try:
            result = analyzer.monitor(
                Path(sandbox.map(environment["dataset_source"])),
                checked,
                analyzer.baseline_file(local / "statistics", STATISTICS, baseline[0]),
                analyzer.baseline_file(local / "constraints", CONSTRAINTS, baseline[1]),
                capture=False,
                header=bool((dataset_format.get("csv") or {}).get("header", False)),
            )
        except JobFailed as exc:
            return StepOutcome(FAILED, failure_reason=f"ClientError: {exc}")
        # The output keeps the calculated baseline; the check adds its violations next to it.
        shutil.copyfile(checked / VIOLATIONS, Path(sandbox.map(environment["output_path"])) / VIOLATIONS)
        job.log.write(f"check against {baseline[0]}: {result.message}\n")
        if result.violations and fail_on_violation:
            listed = "; ".join(f"{v['feature_name']} {v['constraint_check_type']}" for v in result.violations[:10])
            return StepOutcome(FAILED, failure_reason=f"ClientError: Quality check failed with {len(result.violations)} violation(s): {listed}")
        return StepOutcome(SUCCEEDED, detail=result.message)


    def _check_model_quality(self, job: StepRun, sandbox: Sandbox, constraints_uri: str, fail_on_violation: bool) -> StepOutcome:
        """The dataset's metrics (the job just wrote them) against the drift-check constraints."""
        from pipelines.monitor.job.data_quality import analyzer
        from pipelines.monitor.job.model_quality import quality

        environment = job.arguments.get("Environment") or {}
        local = job.job_dir / "drift-baseline"
        try:
            job.store.materialize(constraints_uri, local / "constraints")
        except FileNotFoundError:
            return StepOutcome(FAILED, failure_reason=f"ClientError: the drift-check baseline {constraints_uri} does not exist")
        output = Path(sandbox.map(environment["output_path"]))
        try:
            constraints = json.loads(analyzer.baseline_file(local / "constraints", CONSTRAINTS, constraints_uri).read_text())
            metrics = json.loads((output / STATISTICS).read_text())[quality.KEY]
            violations = quality.check(metrics, constraints, constraints_uri)
        except (JobFailed, json.JSONDecodeError) as exc:
            return StepOutcome(FAILED, failure_reason=f"ClientError: {exc}")
        (output / VIOLATIONS).write_text(json.dumps({"violations": violations}, indent=2) + "\n")
        job.log.write(f"check against {constraints_uri}: {len(violations)} violation(s)\n")
        if violations and fail_on_violation:
            listed = "; ".join(f"{v['metric_name']} {v['constraint_check_type']}" for v in violations[:10])
            return StepOutcome(FAILED, failure_reason=f"ClientError: Quality check failed with {len(violations)} violation(s): {listed}")
        return StepOutcome(SUCCEEDED, detail=f"{len(violations)} violation(s)")


def _true(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
