"""The endpoint server as production code meets it: boto3's sagemaker-runtime against 127.0.0.1."""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import boto3
import botocore.exceptions
import pytest

from pipelines.local.home import Home
from pipelines.serving import deploy
from tests.helpers.serving_helpers import RunningServer, broken_archive, deployed_home, register, wait_until_served

ROW = "0.1,0.2,20000,2,2,1,24,2,2,-1,-1,-2,-2,3913,3102,689,0,0,0,689,0,0,0"


@pytest.fixture
def home(tmp_path: Path, model_dir: Path) -> Home:
    return deployed_home(tmp_path / "home", model_dir)


@pytest.fixture
def server(home: Home) -> Iterator[RunningServer]:
    running = RunningServer(home)
    yield running
    running.stop()


def runtime(server: RunningServer):  # type: ignore[no-untyped-def]
    return boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=server.url)


def invoke(client, body: str, content_type: str = "text/csv", **kwargs: str) -> dict:  # type: ignore[no-untyped-def]
    return client.invoke_endpoint(EndpointName="credit-staging", ContentType=content_type, Body=body, **kwargs)


def test_boto3_invoke_endpoint_works_unchanged(server: RunningServer) -> None:
    client = runtime(server)
    answer = invoke(client, f"{ROW}\n{ROW}", Accept="text/csv", InferenceId="req-1", CustomAttributes="trace=1")
    scores = answer["Body"].read().decode().split("\n")
    assert len(scores) == 2 and 0 < float(scores[0]) < 1
    assert answer["ContentType"] == "text/csv; charset=utf-8" and answer["InvokedProductionVariant"] == "AllTraffic"
    assert answer["CustomAttributes"] == "trace=1"
    libsvm = " ".join(f"{i + 1}:{v}" for i, v in enumerate(ROW.split(",")))
    as_json = invoke(client, libsvm, "text/libsvm", Accept="application/json", TargetVariant="AllTraffic")
    assert json.loads(as_json["Body"].read())["predictions"][0]["score"] == pytest.approx(float(scores[0]), rel=1e-6)


def error_of(call) -> dict:  # type: ignore[no-untyped-def]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        call()
    return exc.value.response


def test_errors_in_the_runtimes_shape_and_the_server_keeps_serving(server: RunningServer) -> None:
    """As botocore's sagemaker-runtime model has them: ValidationError 400, and everything the
    container refuses a ModelError 424 carrying the container's own status (its source has them)."""
    from tests.helpers.aws_shapes import problems

    client = runtime(server)
    unknown = error_of(lambda: client.invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body=ROW))
    assert unknown["Error"]["Code"] == "ValidationError" and unknown["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Endpoint nope of account 000000000000 not found." == unknown["Error"]["Message"]
    for kwargs, fragment in (({"InferenceId": "x" * 65}, "at 'inferenceId' failed to satisfy constraint"), ({"TargetVariant": "Blue"}, "The variant Blue was not found for endpoint credit-staging")):
        refused = error_of(lambda kwargs=kwargs: invoke(client, ROW, **kwargs))
        assert refused["Error"]["Code"] == "ValidationError" and refused["ResponseMetadata"]["HTTPStatusCode"] == 400 and fragment in refused["Error"]["Message"]
    for body, content_type, accept, original, fragment in [
        (f"{ROW}\n1,2", "text/csv", "text/csv", 400, "row 2: 2 values"),
        (ROW.replace("24", "young"), "text/csv", "text/csv", 415, "row 1, column 7: 'young' is not a number"),
        (ROW, "application/json", "text/csv", 415, "Content-type application/json is not supported."),
        (ROW, "text/csv", "text/plain", 406, "Accept type text/plain is not supported."),
        (ROW, "text/csv", "application/jsonlines", 500, "Content type application/jsonlines is not supported by this framework."),
        (ROW.replace("20000", "inf"), "text/csv", "text/csv", 415, "row 1, column 3: inf is infinite"),
        ("[" * 200_000 + "]" * 200_000, "application/json", "text/csv", 415, "Content-type application/json is not supported."),
    ]:
        failed = error_of(lambda body=body, content_type=content_type, accept=accept: invoke(client, body, content_type, Accept=accept))
        assert failed["Error"]["Code"] == "ModelError" and failed["ResponseMetadata"]["HTTPStatusCode"] == 424
        assert failed["OriginalStatusCode"] == original and fragment in failed["OriginalMessage"]
        assert failed["Error"]["Message"].startswith(f"Received {'client' if original < 500 else 'server'} error ({original}) from primary with message")
        members = {k: v for k, v in failed.items() if k in ("OriginalStatusCode", "OriginalMessage", "LogStreamArn")}
        assert problems({"Message": failed["Error"]["Message"], **members}, "ModelError", service="sagemaker-runtime") == []
    huge = error_of(lambda: invoke(client, (ROW + "\n") * 100_000))  # 7 MB
    assert huge["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert 0 < float(invoke(client, ROW)["Body"].read()) < 1


def test_container_protocol(server: RunningServer) -> None:
    with urllib.request.urlopen(f"{server.url}/ping", timeout=5) as response:
        assert response.status == 200
    request = urllib.request.Request(f"{server.url}/invocations", data=ROW.encode(), headers={"Content-Type": "text/csv"}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert 0 < float(response.read()) < 1
    # The container itself answers a refusal with its own status and message, not the runtime's 424.
    refused = urllib.request.Request(f"{server.url}/invocations", data=b"{}", headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(refused, timeout=5)
    assert error.value.code == 415 and error.value.read() == b"Content-type application/json is not supported."


def captured(home: Home) -> list[dict]:
    root = home.store / "sagemaker-us-east-1-mlops" / "credit-default" / "data-capture" / "credit-staging" / "AllTraffic"
    return [json.loads(line) for path in root.rglob("*.jsonl") for line in path.read_text().splitlines()]


def test_every_answered_request_is_captured_after_sigterm(home: Home) -> None:
    server = RunningServer(home, workers=2)
    client = runtime(server)
    answered = 0
    for i in range(300):
        invoke(client, ROW, InferenceId=f"r{i}")
        answered += 1
    assert server.stop() == 0
    records = captured(home)
    assert len(records) == answered
    assert {r["eventMetadata"]["inferenceId"] for r in records} == {f"r{i}" for i in range(300)}
    from pipelines.cli.endpoint import capture_counts

    assert capture_counts(home, "credit-staging") == {"Captured": 300, "Dropped": 0, "Written": 300}


def test_a_new_model_is_swapped_in_without_dropping_requests_and_a_broken_one_is_refused(home: Home, server: RunningServer, model_dir: Path, tmp_path: Path) -> None:
    import xgboost

    client = runtime(server)
    before = float(invoke(client, ROW)["Body"].read())
    # A different model: trained on other labels, so it scores the row differently.
    import tarfile

    import numpy as np

    rng = np.random.default_rng(0)
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 2}, xgboost.DMatrix(rng.random((200, 23)), label=rng.integers(0, 2, 200)), 5)
    (tmp_path / "other").mkdir()
    booster.save_model(str(tmp_path / "other" / "m.ubj"))
    with tarfile.open(tmp_path / "other" / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "other" / "m.ubj", arcname="xgboost-model")
    failures: list[Exception] = []
    stop = threading.Event()

    def traffic() -> None:
        own = runtime(server)
        while not stop.is_set():
            try:
                invoke(own, ROW)["Body"].read()
            except Exception as exc:  # noqa: BLE001
                failures.append(exc)

    worker = threading.Thread(target=traffic)
    worker.start()
    second = register(home, tmp_path / "other" / "model.tar.gz", "second", status="Approved")
    deploy.deploy_package(home, second["ModelPackageArn"], "credit-staging", "staging")
    wait_until_served(home, server)
    after = float(invoke(client, ROW)["Body"].read())
    stop.set()
    worker.join()
    assert after != before and failures == []

    broken = register(home, broken_archive(tmp_path / "broken"), "broken", status="Approved")
    described = deploy.deploy_package(home, broken["ModelPackageArn"], "credit-staging", "staging")
    assert described["EndpointStatus"] == "InService" and "still serving" in described["FailureReason"]
    assert "is not an XGBoost model" in described["FailureReason"]
    wait_until_served(home, server)  # the server has seen the broken deployment, and refused it
    assert float(invoke(client, ROW)["Body"].read()) == after  # the previous model still answers


def test_a_model_tampered_with_after_deployment_is_a_model_error_that_names_it(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.cli import main as mlops
    from pipelines.serving.endpoints import EndpointStore

    with EndpointStore(home) as store:
        (config, models) = store.endpoint_config_of("credit-staging")
    url = models[0]["PrimaryContainer"]["ModelDataUrl"]
    home.objects().path(url).write_bytes(b"tampered with")  # the store's copy changed after deployment
    server = RunningServer(home)
    try:
        response = error_of(lambda: invoke(runtime(server), ROW))
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 424 and response["Error"]["Code"] == "ModelError"
        assert response["OriginalStatusCode"] == 500 and response["OriginalMessage"].startswith(f"Model at {url} cannot be loaded: ")
        assert "not a readable tar archive" in response["OriginalMessage"]
        capsys.readouterr()
        assert mlops.main(["--home", str(home.root), "endpoint", "describe", "credit-staging"]) == 0
        assert f"cannot load its model: Model at {url} cannot be loaded" in capsys.readouterr().out
    finally:
        server.stop()


@pytest.fixture
def small_disk(home: Home) -> Iterator[Path]:
    """A 256 KiB tmpfs mounted where the endpoint captures (root only; CI runs as root)."""
    import subprocess

    folder = home.store / "sagemaker-us-east-1-mlops" / "credit-default" / "data-capture"
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_capture_survives_a_full_disk_and_says_what_it_dropped(home: Home, small_disk: Path) -> None:
    from pipelines.cli.endpoint import capture_counts

    filler = small_disk / "filler"
    filler.write_bytes(b"x" * 200 * 1024)  # most of the disk: capture fills the rest
    server = RunningServer(home, workers=1)
    try:
        client = runtime(server)
        for i in range(400):  # about 350 bytes a record: more than the room left
            assert 0 < float(invoke(client, ROW, InferenceId=f"full-{i}")["Body"].read()) < 1  # answered all along
        wait_for_counts(home, lambda c: c["Written"] + c["Dropped"] == 400)
        full = capture_counts(home, "credit-staging")
        assert full["Dropped"] > 0 and full["Written"] > 0
        filler.unlink()  # room again
        for i in range(50):
            invoke(client, ROW, InferenceId=f"after-{i}")["Body"].read()
        wait_for_counts(home, lambda c: c["Written"] + c["Dropped"] == 450)
        after = capture_counts(home, "credit-staging")
        assert after["Dropped"] == full["Dropped"] and after["Written"] == full["Written"] + 50
    finally:
        server.stop()
    records = captured(home)  # every file ends in a whole line: json.loads would fail on half of one
    assert len(records) == after["Written"]
    assert {f"after-{i}" for i in range(50)} <= {r["eventMetadata"]["inferenceId"] for r in records}
    assert "No space left on device" in server.log.read_text()


def wait_for_counts(home: Home, done) -> None:  # type: ignore[no-untyped-def]
    """Wait until the server's capture counts (written every second) satisfy ``done``."""
    import threading

    from pipelines.cli.endpoint import capture_counts

    while not done(capture_counts(home, "credit-staging")):
        threading.Event().wait(0.05)


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_workers_stop_when_their_master_is_killed_and_keep_what_they_captured(home: Home) -> None:
    import signal as signals

    server = RunningServer(home, workers=2)
    client = runtime(server)
    for i in range(20):
        invoke(client, ROW, InferenceId=f"before-{i}")["Body"].read()
    wait_until_served(home, server, workers=2)
    (master,) = children_of(server.process.pid)  # under the guard
    workers = [pid for pid in children_of(master) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(workers) == 2, workers
    os.kill(master, signals.SIGKILL)
    server.process.wait()  # the guard ends as its child did
    while any(running(pid) for pid in workers):  # each notices its master is gone, and stops
        threading.Event().wait(0.05)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{server.url}/ping", timeout=5)
    assert {r["eventMetadata"]["inferenceId"] for r in captured(home)} == {f"before-{i}" for i in range(20)}
