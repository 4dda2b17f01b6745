"""``Transform``: SageMaker's batch transform, with the built-in XGBoost container's contract.

The model is the one a ModelStep (or CreateModel) made, served as the endpoint serves it
(``serving/model.py``: CSV or LIBSVM in, CSV or JSON out). Each object under
``TransformInput.DataSource.S3DataSource.S3Uri`` (an ``S3Prefix``) is split into records
(``SplitType`` Line, or None: the whole object), and each record goes through
``DataProcessing`` as SageMaker documents it:

- ``InputFilter`` picks what the model sees (``$`` everything, ``$[1:]``, ``$[0,2,5]``, ``$[-1]``
  of a CSV record's values; ``$.features`` of a JSON record);
- ``JoinSource`` ``Input`` puts the record and the prediction together (CSV: the prediction's
  values after the input's; JSON: under ``SageMakerOutput``);
- ``OutputFilter`` picks from that (``$[0,-1]``: the first input value and the prediction).

``BatchStrategy`` MultiRecord scores records in batches of at most ``MaxPayloadInMB``,
SingleRecord one by one (the same results). The records' outputs are joined by a newline
(``AssembleWith`` Line) or by nothing (None) into ``{S3OutputPath}/{object's path under the
prefix}.out``. A record the model refuses fails the job with the container's reason and the
object and line it came from. Properties follow DescribeTransformJob.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


from pipelines.core.graph import Node
from pipelines.engine.events import Artifact
from pipelines.engine.handlers.base import FAILED, SUCCEEDED, Handler, Problem, StepOutcome, StepRun, artifact
from pipelines.engine.runtimes import Runtimes

SPLITS = ("None", "Line")
ASSEMBLIES = ("None", "Line")
STRATEGIES = ("MultiRecord", "SingleRecord")
_INDEXES = re.compile(r"^\$\[(?P<body>[-\d:, ]+)\]$")
_KEY = re.compile(r"^\$\.(?P<key>[A-Za-z_][\w]*)(?P<rest>\[[-\d:, ]+\])?$")


class FilterError(ValueError):
    """A JSONPath outside the subset SageMaker's batch transform applies."""


def select(record: Any, path: str | None) -> Any:
    """SageMaker's JSONPath subset on one record: a list (a CSV record's values) or a JSON object."""
    if path in (None, "", "$"):
        return record
    match = _INDEXES.match(path)
    if match:
        if not isinstance(record, list):
            raise FilterError(f"{path}: an index selects from a CSV record (a list), not from {type(record).__name__}")
        return _indexes(record, match["body"], path)
    match = _KEY.match(path)
    if match:
        if not isinstance(record, dict) or match["key"] not in record:
            raise FilterError(f"{path}: the record has no {match['key']!r}")
        value = record[match["key"]]
        return _indexes(value, match["rest"][1:-1], path) if match["rest"] else value
    raise FilterError(f"{path!r} is not a JSONPath batch transform takes here: $, $[i], $[i:j], $[i,j,...] or $.key")


def _indexes(values: list[Any], body: str, path: str) -> list[Any]:
    picked: list[Any] = []
    for part in (p.strip() for p in body.split(",")):
        try:
            if ":" in part:
                start, _, stop = part.partition(":")
                picked.extend(values[int(start) if start else None : int(stop) if stop else None])
            else:
                picked.append(values[int(part)])
        except (ValueError, IndexError) as exc:
            raise FilterError(f"{path}: {part!r} does not select from {len(values)} value(s)") from exc
    return picked


def check_filter(path: Any) -> str | None:
    """None when ``path`` is in the subset (or a pipeline expression), else why not."""
    if path is None or isinstance(path, dict):
        return None
    if not isinstance(path, str) or not (path in ("", "$") or _INDEXES.match(path) or _KEY.match(path)):
        return f"{path!r} is not a JSONPath batch transform takes here: $, $[i], $[i:j], $[i,j,...] or $.key"
    return None


class TransformHandler(Handler):
    type = "Transform"
    properties = frozenset({
        "TransformJobName", "TransformJobArn", "TransformJobStatus", "ModelName", "TransformInput", "TransformOutput",
        "TransformResources", "DataProcessing", "BatchStrategy", "CreationTime", "TransformStartTime", "TransformEndTime",
    })  # fmt: skip
    cache_fields = ("BatchStrategy", "DataProcessing", "Environment", "MaxPayloadInMB", "ModelName", "TransformInput", "TransformOutput")
    makes_job = True
    action = "TransformJob"

    def validate(self, node: Node, runtimes: Runtimes) -> list[Problem]:
        here = f"{node.pointer}/Arguments"
        arguments = node.step.get("Arguments") or {}
        problems = []
        source = (((arguments.get("TransformInput") or {}).get("DataSource") or {}).get("S3DataSource")) or {}
        if source.get("S3DataType", "S3Prefix") not in ("S3Prefix",) and not isinstance(source.get("S3DataType"), dict):
            problems.append(Problem(f"{here}/TransformInput/DataSource/S3DataSource/S3DataType", f"{source.get('S3DataType')!r}: the local engine reads an S3Prefix (a manifest file is not read)"))
        if not source.get("S3Uri"):
            problems.append(Problem(f"{here}/TransformInput/DataSource/S3DataSource/S3Uri", "a transform needs its input's S3Uri"))
        if not (arguments.get("TransformOutput") or {}).get("S3OutputPath"):
            problems.append(Problem(f"{here}/TransformOutput/S3OutputPath", "a transform needs an S3OutputPath"))
        for field, allowed, value in (
            ("TransformInput/SplitType", SPLITS, (arguments.get("TransformInput") or {}).get("SplitType", "None")),
            ("TransformOutput/AssembleWith", ASSEMBLIES, (arguments.get("TransformOutput") or {}).get("AssembleWith", "None")),
            ("BatchStrategy", STRATEGIES, arguments.get("BatchStrategy", "MultiRecord")),
        ):
            if isinstance(value, str) and value not in allowed:
                problems.append(Problem(f"{here}/{field}", f"{value!r} is not one of {', '.join(allowed)} (locally)"))
        if (arguments.get("TransformInput") or {}).get("CompressionType", "None") not in ("None", None):
            problems.append(Problem(f"{here}/TransformInput/CompressionType", "compressed input is not read locally"))
        processing = arguments.get("DataProcessing") or {}
        for key in ("InputFilter", "OutputFilter"):
            problem = check_filter(processing.get(key))
            if problem:
                problems.append(Problem(f"{here}/DataProcessing/{key}", problem))
        if processing.get("JoinSource", "None") not in ("None", "Input") and not isinstance(processing.get("JoinSource"), dict):
            problems.append(Problem(f"{here}/DataProcessing/JoinSource", f"{processing.get('JoinSource')!r} is not Input or None"))
        return problems

    def metadata(self, outcome: StepOutcome, arguments: dict[str, Any]) -> dict[str, Any]:
        arn = outcome.properties.get("TransformJobArn")
        return {"TransformJob": {"Arn": arn}} if arn else {}

    def artifacts(self, arguments: dict[str, Any], properties: dict[str, Any]) -> list[Artifact]:
        source = arguments["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        return artifact("in", "DataSet", "input", source) + artifact("out", "DataSet", "output", (properties.get("TransformOutput") or {}).get("S3OutputPath"))

    def detail(self, properties: dict[str, Any]) -> str | None:
        return (properties.get("TransformOutput") or {}).get("S3OutputPath")

    def run(self, job: StepRun) -> StepOutcome:
        from pipelines.serving import deploy
        from pipelines.serving.model import ModelLoadError, PayloadError, Predictor

        arguments = job.arguments
        model_name = str(arguments.get("ModelName"))
        try:
            model = deploy.describe_model(job.home, model_name)
        except Exception as exc:  # noqa: BLE001 - NotFound and its kin: the job's own failure
            return StepOutcome(FAILED, failure_reason=f"ClientError: {exc}")
        model_uri = (model.get("PrimaryContainer") or {}).get("ModelDataUrl")
        try:
            predictor = Predictor.load(job.store.path(str(model_uri)), str(model_uri))
        except (ModelLoadError, FileNotFoundError, OSError) as exc:
            return StepOutcome(FAILED, failure_reason=f"ClientError: model {model_name}: {exc}")
        transform_input, transform_output = arguments["TransformInput"], arguments["TransformOutput"]
        prefix = str(transform_input["DataSource"]["S3DataSource"]["S3Uri"]).rstrip("/")
        output_path = str(transform_output["S3OutputPath"]).rstrip("/")
        processing = arguments.get("DataProcessing") or {}
        content_type = transform_input.get("ContentType") or "text/csv"
        accept = transform_output.get("Accept") or "text/csv"
        split = transform_input.get("SplitType") or "None"
        joiner = "\n" if transform_output.get("AssembleWith") == "Line" else ""
        single = arguments.get("BatchStrategy") == "SingleRecord"
        limit = int(float(arguments.get("MaxPayloadInMB") or 6) * 1024 * 1024)
        objects = job.store.objects(prefix)
        if split != "Line" and any(processing.get(k) not in (None, "", "$", "None") for k in ("InputFilter", "OutputFilter", "JoinSource")):
            return StepOutcome(FAILED, failure_reason="ClientError: DataProcessing (filters, JoinSource) needs SplitType Line locally: each line is a record")
        if not objects:
            return StepOutcome(FAILED, failure_reason=f"ClientError: no input objects under {prefix}")
        records_done = 0
        for relative, path in objects:
            text = path.read_text(encoding="utf-8")
            records = [line for line in text.splitlines() if line.strip()] if split == "Line" else [text]
            try:
                if split == "Line":
                    outputs = self._transform(predictor, records, processing, content_type, accept, single, limit)
                else:  # the whole object is one request; its answer is one record
                    outputs = [predictor.render(predictor.predict(predictor.parse(text.encode(), content_type)), accept)[0].decode()]
            except (PayloadError, FilterError) as exc:
                return StepOutcome(FAILED, failure_reason=f"ClientError: {prefix}/{relative}: {exc}")
            target = job.job_dir / "output" / f"{relative}.out"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(joiner.join(outputs) + ("\n" if joiner else ""))
            job.store.put_file(target, f"{output_path}/{relative}.out")
            records_done += len(records)
            job.log.write(f"{relative}: {len(records)} record(s) -> {output_path}/{relative}.out\n")
        arn = job.arn("transform-job")
        properties = {
            "TransformJobName": job.job_name, "TransformJobArn": arn, "TransformJobStatus": "Completed", "ModelName": model_name,
            "TransformInput": transform_input, "TransformOutput": transform_output, "TransformResources": arguments.get("TransformResources") or {},
            "DataProcessing": processing, "BatchStrategy": arguments.get("BatchStrategy") or "MultiRecord",
        }  # fmt: skip
        return StepOutcome(SUCCEEDED, properties=properties, detail=f"{records_done} record(s) from {len(objects)} object(s) -> {output_path}")

    @staticmethod
    def _transform(predictor: Any, records: list[str], processing: dict[str, Any], content_type: str, accept: str, single: bool, limit: int) -> list[str]:
        """Each record's output line(s), after the input filter, the join and the output filter."""
        import numpy as np  # when a transform runs: validating a definition does not need it

        csv = "csv" in content_type
        parsed = [record.strip().split(",") if csv else json.loads(record) for record in records]
        selected = [select(record, processing.get("InputFilter")) for record in parsed]
        bodies = [",".join(str(v) for v in value) if isinstance(value, list) else json.dumps(value) if not isinstance(value, str) else value for value in selected]
        scores: list[np.ndarray] = []
        batch: list[str] = []
        size = 0

        def flush() -> None:
            nonlocal size
            if batch:
                rows = predictor.parse("\n".join(batch).encode(), content_type)
                scores.append(predictor.predict(rows))
                batch.clear()
                size = 0

        for body in bodies:
            if single or size + len(body) + 1 > limit:
                flush()
            batch.append(body)
            size += len(body) + 1
        flush()
        flat = np.concatenate(scores) if scores else np.empty(0)
        outputs = []
        for record, score in zip(parsed, flat, strict=True):
            rendered, _ = predictor.render(np.array([score]), accept)
            answer = rendered.decode()
            if processing.get("JoinSource") == "Input":
                joined: Any = [*record, *answer.split(",")] if isinstance(record, list) else {**record, "SageMakerOutput": json.loads(answer) if answer.startswith("{") else answer}
                picked = select(joined, processing.get("OutputFilter"))
            else:
                picked = select(answer.split(",") if "csv" in accept or accept in ("", "*/*") else json.loads(answer), processing.get("OutputFilter"))
            outputs.append(",".join(str(v) for v in picked) if isinstance(picked, list) else json.dumps(picked) if not isinstance(picked, str) else picked)
        return outputs
