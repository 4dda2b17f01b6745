"""A home with a registered model package, and a server started on 127.0.0.1 for tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from pipelines.registry.store import ModelRegistry

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
GROUP = "CreditDefaultPackageGroup"


def register(home: Home, model_archive: Path, key: str, status: str = "PendingManualApproval", commit: str = "0123456789abcdef") -> dict:
    """Put ``model_archive`` in the store at s3://models/{key}/model.tar.gz and register it."""
    store = ObjectStore(home.store)
    uri = f"s3://sagemaker-us-east-1-mlops/credit-default/models/{key}/output/model.tar.gz"
    store.put_file(model_archive, uri)
    registry = ModelRegistry(home)
    try:
        return registry.register(
            GROUP,
            {
                "ModelApprovalStatus": status,
                "InferenceSpecification": {"Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": uri, "Environment": {}}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
                "CustomerMetadataProperties": {"GitCommit": commit},
                "MetadataProperties": {"CommitId": commit},
                "ModelPackageDescription": "test model",
            },
        )
    finally:
        registry.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen) -> bool:
    """Wait until ``process`` accepts connections on 127.0.0.1:port (True) or has ended (False).

    Waits on those two events, not on a duration: on a busy machine a server starts late, not never
    (pytest-timeout ends a test whose server hangs).
    """
    while process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_until_served(home: Home, server: "RunningServer", workers: int = 1) -> None:
    """Wait until ``workers`` server processes have loaded the endpoint store's current generation
    (each writes serving/workers/{pid}.json when it has): an event, however slow the machine."""
    import json

    from pipelines.serving.endpoints import EndpointStore

    store = EndpointStore(home)
    try:
        wanted = store.generation()
    finally:
        store.close()
    folder = home.workers
    while True:
        assert server.process.poll() is None, f"the server ended:\n{server.log.read_text()}"
        seen = []
        for path in folder.glob("*.json") if folder.is_dir() else []:
            try:
                seen.append(json.loads(path.read_text())["generation"])
            except (OSError, ValueError):
                continue
        if len([g for g in seen if g >= wanted]) >= workers:
            return
        time.sleep(0.05)


def deployed_home(folder: Path, model_dir: Path) -> Home:
    """A home with the model approved and deployed to ``credit-staging``."""
    from pipelines.serving import deploy

    home = Home.resolve(folder)
    package = register(home, model_dir / "model.tar.gz", "first", status="Approved")
    deploy.deploy_package(home, package["ModelPackageArn"], "credit-staging", "staging")
    return home


class RunningServer:
    """``mlops serve`` for a test, on a free port: the one serving lifecycle the demo and the
    benches use too (``pipelines.serving.process``), under the guard."""

    def __init__(self, home: Home, workers: int = 1, extra_args: tuple[str, ...] = ()) -> None:
        import uuid

        from pipelines.serving.process import ServingProcess

        self.log = home.root / f"server-{uuid.uuid4().hex[:8]}.log"
        self.serving = ServingProcess.start(home, self.log, None, ("--workers", str(workers), *extra_args))
        self.url = self.serving.url
        self.port = int(self.url.rsplit(":", 1)[1])

    @property
    def process(self) -> subprocess.Popen:
        """The guard's process: its only child is the server (uvicorn's master)."""
        return self.serving.guarded.process

    def stop(self) -> int:
        return self.serving.stop()


def serve(home: Home, workers: int = 1) -> Iterator[RunningServer]:
    server = RunningServer(home, workers)
    try:
        yield server
    finally:
        server.stop()


def broken_archive(folder: Path) -> Path:
    import io
    import tarfile

    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        data = b"definitely not a model"
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return folder / "model.tar.gz"


def copy_model(model_dir: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(model_dir / "model.tar.gz", folder / "model.tar.gz")
    return folder / "model.tar.gz"


def twin_environment(home: Home) -> dict[str, dict[str, str] | list[str]]:
    """What ``eval "$(mlops env)"`` leaves in a shell: the AWS_ and proxy variables set, and which
    of AWS_SESSION_TOKEN and AWS_PROFILE it unset (both are set in the shell beforehand)."""
    import os
    import shlex
    import sys

    shell = f'eval "$({shlex.quote(sys.executable)} -m pipelines.cli.main --home {shlex.quote(str(home.root))} env)" && env'
    out = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True, env={**os.environ, "AWS_PROFILE": "someone-else"}).stdout
    seen = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    proxying = ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy")
    return {"values": {k: v for k, v in seen.items() if k.startswith("AWS_") or k in proxying}, "unset": [k for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE") if k not in seen]}
