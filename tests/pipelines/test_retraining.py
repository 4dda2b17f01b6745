"""LocalRetrainer: the monitor's retraining seam on the local twin."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.runs.retraining import LocalRetrainer

ARN = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/abc123"


def test_a_recorded_execution_runs_while_it_is_executing_and_its_runner_lives(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    retrainer = LocalRetrainer(home)
    assert not retrainer.running(ARN)  # nothing recorded
    with Records(home) as records:
        records.create_execution("abc123", ARN, "p", None, "retraining", {}, {"Steps": []})  # run by this process
    assert retrainer.running(ARN)
    with Records(home) as records:
        records.end_execution("abc123", "Succeeded", None)
    assert not retrainer.running(ARN)
    assert not retrainer.running("pending:999999:/nowhere.log")  # started by another retrainer


def test_a_pending_handle_resolves_to_the_execution_its_run_reported(tmp_path: Path) -> None:
    retrainer = LocalRetrainer(Home.resolve(tmp_path / "home"))
    log = tmp_path / "drift.log"
    handle = f"pending:4242:{log}"
    assert retrainer.resolve(handle) == handle  # no log yet
    log.write_text("[ ok ] Preprocess ...\n")
    assert retrainer.resolve(handle) == handle  # still running: no ARN printed yet
    log.write_text('[ ok ] Register ...\n{\n  "PipelineExecutionArn": "' + ARN + '",\n  "PipelineExecutionStatus": "Succeeded"\n}\n')
    assert retrainer.resolve(handle) == ARN
    assert retrainer.resolve(ARN) == ARN


def test_retraining_data_is_the_served_packages_data_plus_the_labelled_requests_since_it_served(tmp_path: Path, model_dir: Path) -> None:
    from datetime import datetime, timedelta, timezone

    import pytest

    from pipelines.monitor.scheduler import NothingToRetrain, Window
    from pipelines.registry.store import ModelRegistry
    from pipelines.runs.retraining import current_data
    from pipelines.serving import deploy
    from tests.helpers.capture_helpers import hour_file, label

    home = Home.resolve(tmp_path / "home")
    original = tmp_path / "data.csv"
    original.write_text("Label,a,b\n0,1.0,2.0\n1,3.0,4.0\n")
    arn = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/exec00000001"
    with Records(home) as records:
        records.create_execution("exec00000001", arn, "P", None, None, {"InputDataUrl": str(original)}, {"Steps": []})
        records.end_execution("exec00000001", "Succeeded", None)
    home.objects().put_file(model_dir / "model.tar.gz", "s3://bucket/models/m/model.tar.gz")
    with ModelRegistry(home) as registry:
        package = registry.register("G", {"ModelApprovalStatus": "Approved", "InferenceSpecification": {"Containers": [{"Image": "x", "ModelDataUrl": "s3://bucket/models/m/model.tar.gz"}]}}, created_by=f"pipeline:{arn}")
    described = deploy.deploy_package(home, package["ModelPackageArn"], "ep", destination="s3://bucket/data-capture")
    window = Window("ep", "hourly", datetime.now(timezone.utc), datetime.now(timezone.utc), datetime.now(timezone.utc), described["DataCaptureConfig"]["DestinationS3Uri"], "s", "c", "s3://bucket/monitoring")
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    before = datetime.now(timezone.utc) - timedelta(days=1)  # served by an earlier model: not this one's to learn from

    def request(identifier: str, values: str, moment: datetime) -> str:
        return json.dumps({
            "captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": values, "encoding": "CSV"},
                            "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": "0.5", "encoding": "CSV"}},
            "eventMetadata": {"eventId": f"e-{identifier}", "inferenceId": identifier, "inferenceTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}, "eventVersion": "0",
        })  # fmt: skip

    capture = home.objects().path("s3://bucket/data-capture/ep/AllTraffic")
    hour_file(capture, later, [request("r2", "7.0,8.0", later), request("r1", "5.0,6.0", later), request("r3", "9.0,9.5", later)])
    hour_file(capture, before, [request("old", "0.0,0.0", before)])
    with pytest.raises(NothingToRetrain, match=r"none of the 3 requests ep captured since .* has a label yet"):
        current_data(home, "drift", window)
    truth = home.objects().path("s3://bucket/ground-truth/ep")
    hour_file(truth, later, [label("r1", "1"), label("r2", "0"), label("old", "1"), label("nobody", "1")])
    data = current_data(home, "drift", window)
    assert data.original == str(original) and data.added == 2
    assert data.uri.startswith("s3://bucket/retraining/drift/") and data.uri.endswith("/data.csv")
    assert home.objects().path(data.uri).read_text() == "Label,a,b\n0,1.0,2.0\n1,3.0,4.0\n1,5.0,6.0\n0,7.0,8.0\n"  # by id; r3 has no label yet
