"""Retraining on the local twin: the monitor's alarms start ``mlops run`` on the current data.

What a retraining trains on (decided here, as AWS's guidance on drift-triggered retraining has
it: retrain on current, labelled data, else there is nothing to learn from): the training data
of the package the endpoint serves (its execution's ``InputDataUrl``) plus every request the
endpoint captured since it began serving that package whose label has arrived as ground truth
(merged by inference id, as model-quality monitoring merges them), in the training data's own
layout. That file is written beside the capture (``.../retraining/<alarm>/<time>/data.csv``)
and the pipeline runs with ``InputDataUrl`` pointing at it. With no labelled request yet there
is nothing new to train on: the retraining is skipped, and the alarm's decision says why. A run
whose model comes out byte for byte a registered package's registers nothing new (the
RegisterModel step says so).

``LocalRetrainer`` is the monitor's ``Retrainer`` here (``monitor/scheduler.py``): it starts
the pipeline in a process of its own and answers whether a run it started, or one the records
hold, is still in progress.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipelines.core.errors import MlopsError
from pipelines.core.guard import Guarded
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.local.store import is_s3
from pipelines.monitor.job.common import layout
from pipelines.monitor.job.model_quality import quality
from pipelines.monitor.scheduler import NothingToRetrain, Window
from pipelines.registry.store import ModelRegistry
from pipelines.serving import deploy
from pipelines.serving.endpoints import EndpointStore

RETRAIN_MARKER = "retrain:alarm="  # in the execution's description: which alarm started it
LABEL_COLUMN = "Label"  # the training data's layout: the label first, then the features as served


@dataclass(frozen=True)
class TrainingData:
    """What a retraining trains on."""

    uri: str  # the file the run reads (InputDataUrl)
    original: str  # the served package's training data
    added: int  # labelled requests added to it


def current_data(home: Home, alarm: str, window: Window) -> TrainingData:
    """The served package's training data plus the labelled requests captured since it was
    deployed, written to the store; NothingToRetrain (saying why) when nothing was labelled."""
    original = _original_data(home, window.endpoint)
    source = home.objects().path(original) if is_s3(original) else Path(original)
    files = layout.data_files(source, (".csv",))
    if len(files) != 1:
        raise NothingToRetrain(f"the training data {original} is not one CSV file ({len(files)} found): add the labelled requests to it yourself")
    text = files[0].read_text(encoding="utf-8")
    header = text.split("\n", 1)[0].strip().split(",")
    if header[0] != LABEL_COLUMN:
        raise NothingToRetrain(f"the training data {original} does not start with a {LABEL_COLUMN} column: its layout is not the one the endpoint is served in")
    since = _serving_since(home, window.endpoint)
    store = home.objects()
    from pipelines.monitor.job.common import capture_rows  # numpy: when a retraining is started

    rows = capture_rows.read(store.path(f"{window.capture_uri.rstrip('/')}/{window.endpoint}"), since, None, width=len(header) - 1)
    truth = window.ground_truth_uri or deploy.ground_truth_destination(window.capture_uri)
    from pipelines.monitor.job.capture import merge  # pyarrow: when a retraining is started

    labels = merge.ground_truth(store.path(f"{truth.rstrip('/')}/{window.endpoint}"), None, None, merge.MergeCounters())
    by_id = dict(zip(labels.column("id").to_pylist(), labels.column("label").to_pylist(), strict=True))
    added = []
    for identifier, values in sorted(zip(rows.ids, rows.features, strict=True), key=lambda pair: pair[0]):  # by id: the same requests, the same file
        label = quality.binary_label(by_id[identifier]) if identifier in by_id else None
        if label is not None:
            added.append(",".join([str(label), *(repr(float(v)) for v in values)]))
    if not added:
        raise NothingToRetrain(f"none of the {len(rows.ids)} requests {window.endpoint} captured since {since:%Y-%m-%dT%H:%M:%SZ} has a label yet (ground truth under {truth}): nothing new to train on")
    base = window.capture_uri.rstrip("/")
    base = base[: -len("/data-capture")] if base.endswith("/data-capture") else base
    uri = f"{base}/retraining/{alarm}/{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}/data.csv"
    with tempfile.TemporaryDirectory(prefix="retraining-") as scratch:
        path = Path(scratch) / "data.csv"
        path.write_text(text.rstrip("\n") + "\n" + "\n".join(added) + "\n", encoding="utf-8")
        store.put_file(path, uri)
    return TrainingData(uri, original, len(added))


def _original_data(home: Home, endpoint: str) -> str:
    """The InputDataUrl of the execution that registered the package ``endpoint`` serves."""
    with EndpointStore(home) as endpoints:
        live = endpoints.endpoint_config_of(endpoint)
    package = (live[1][0]["PrimaryContainer"].get("ModelPackageName") if live else None) or ""
    if not package:
        raise NothingToRetrain(f"{endpoint} serves no registered model package: there is no training data to start from")
    with ModelRegistry(home) as registry:
        creator = (registry.describe(package).get("CreatedBy") or {}).get("UserProfileName") or ""
    if not creator.startswith("pipeline:arn:"):
        raise NothingToRetrain(f"{package} was not registered by a local pipeline execution: its training data is unknown here")
    with Records(home) as records:
        parameters = {p["Name"]: p["Value"] for p in records.describe_execution(creator.rsplit("/", 1)[1])["PipelineParameters"]}
    if "InputDataUrl" not in parameters:
        raise NothingToRetrain(f"the execution that registered {package} has no InputDataUrl parameter: its training data is unknown here")
    return parameters["InputDataUrl"]


def _serving_since(home: Home, endpoint: str) -> datetime:
    """When the endpoint's live configuration was made: capture before it served another model."""
    with EndpointStore(home) as endpoints:
        live = endpoints.endpoint_config_of(endpoint)
    created = live[0]["CreationTime"] if live else None
    moment = layout.parse_time(created) if created else None
    return moment or datetime(1970, 1, 1, tzinfo=timezone.utc)


class LocalRetrainer:
    """Starts ``mlops run`` on this MLOPS_HOME, on the current data, and returns a handle to it.

    With ``wait``, it waits for the run to end and returns the pipeline execution's ARN. The
    run's description carries the alarm (``retrain:alarm=<name>: <reason>``), so the execution
    says why it ran.
    """

    def __init__(self, home: Home, wait: bool = False) -> None:
        self.home = home
        self.wait = wait
        self._pids: dict[str, int] = {}

    def start(self, alarm: str, reason: str, window: Window) -> str:
        data = current_data(self.home, alarm, window)
        log_dir = self.home.retraining
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / f"{alarm}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.log"
        description = f"{RETRAIN_MARKER}{alarm}: {reason}; on {data.original} plus {data.added} labelled request(s)"
        parameters = json.dumps({"InputDataUrl": data.uri})
        command = [sys.executable, "-m", "pipelines.cli.main", "--home", str(self.home.root), "run", "--json", "--description", description, "--parameters", parameters]
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if self.wait:  # under the guard: the run ends with whoever waits for it (the demo)
                guarded = Guarded(command, stdout=fd, stderr=fd)
            else:  # on its own: it outlives the scheduler that started it, as a pipeline on AWS would
                pid = os.posix_spawnp(command[0], command, dict(os.environ), file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)], setsid=True)
        finally:
            os.close(fd)
        if self.wait:
            try:
                guarded.process.wait()
            finally:
                guarded.release()
            return _arn_from(log) or f"pending:{guarded.process.pid}:{log}"
        handle = f"pending:{pid}:{log}"
        self._pids[handle] = pid
        return handle

    def resolve(self, handle: str) -> str:
        """The pipeline execution's ARN for a ``pending:<pid>:<log>`` handle once its run has
        said it (at its end); the handle itself until then, and for anything else."""
        if not handle.startswith("pending:"):
            return handle
        _, _, log = handle.split(":", 2)
        try:
            return _arn_from(Path(log)) or handle
        except OSError:
            return handle

    def running(self, handle: str) -> bool:
        """A run this retrainer started and has not reaped, or a recorded execution still Executing
        (the records settle one whose runner died)."""
        pid = self._pids.get(handle)
        if pid is not None:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return False
            return done == 0
        if not handle.startswith("arn:") or not self.home.database.exists():
            return False
        with Records(self.home) as records:
            try:
                return records.describe_execution(handle)["PipelineExecutionStatus"] == "Executing"
            except MlopsError:
                return False


def _arn_from(log: Path) -> str | None:
    text = log.read_text(errors="replace")
    start = text.find("{\n")
    try:
        return json.loads(text[start:])["PipelineExecutionArn"] if start >= 0 else None
    except (ValueError, KeyError):
        return None
