"""What a job sees around it: its sandbox at the real /opt/ml (with bubblewrap), the twin's S3
with boto3, as a job on SageMaker reaches S3 with its role; with EnableNetworkIsolation, no
network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.api import job_endpoint
from pipelines.engine import confinement
from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.local.home import Home
from tests.helpers.engine_defs import definition, processing

# A job script written as AWS's examples write them: boto3 in the job, s3:// URIs.
USES_S3 = """
import argparse, os, pathlib, boto3
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
s3 = boto3.resource("s3")
s3.Bucket("raw-bucket").download_file("abalone/abalone.csv", "/tmp/abalone-%d.csv" % os.getpid())
rows = pathlib.Path("/tmp/abalone-%d.csv" % os.getpid()).read_text().splitlines()
boto3.client("s3").put_object(Bucket="raw-bucket", Key="made/by-the-job.txt", Body=f"{len(rows)} rows".encode())
pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(a.out) / "seen.json").write_text(json.dumps({k: os.environ.get(k) for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION")}))
""".replace("import argparse", "import json, argparse")

TRIES_THE_NETWORK = """
import argparse, json, os, pathlib, socket
p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--port", type=int); a = p.parse_args()
try:
    socket.create_connection(("127.0.0.1", a.port), timeout=5).close()
    reached = True
except OSError as exc:
    reached = str(exc)
pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(a.out) / "seen.json").write_text(json.dumps({"reached": reached, "endpoint": os.environ.get("AWS_ENDPOINT_URL")}))
"""


def run(home: Home, tmp_path: Path, name: str, script: str, arguments: list, isolated: bool = False, environment: dict | None = None) -> dict:
    path = tmp_path / f"{name}.py"
    path.write_text(script)
    step = processing(name, path, ["--out", "/opt/ml/processing/out", *arguments])
    if isolated:
        step["Arguments"]["NetworkConfig"] = {"EnableNetworkIsolation": True}
    if environment:
        step["Arguments"]["Environment"] = environment
    result = Engine(home).run(definition([step]), "Network")
    assert result.status == "Succeeded", result.failure_reason
    with Records(home) as records:
        properties = records.step_properties(result.execution_id, name)
    (uri,) = [o["S3Output"]["S3Uri"] for o in properties["ProcessingOutputConfig"]["Outputs"]]
    return json.loads(home.objects().path(f"{uri}/seen.json").read_text())


def test_a_job_reads_and_writes_the_store_with_boto3(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    home.objects().path("s3://raw-bucket/abalone/abalone.csv").parent.mkdir(parents=True)
    home.objects().path("s3://raw-bucket/abalone/abalone.csv").write_text("1,2\n3,4\n5,6\n")
    seen = run(home, tmp_path, "UsesS3", USES_S3, [])
    assert home.objects().path("s3://raw-bucket/made/by-the-job.txt").read_text() == "3 rows"
    # The host's AWS settings do not reach the job (the tests' fake token is set here).
    assert seen == {"AWS_SESSION_TOKEN": None, "AWS_PROFILE": None, "AWS_REGION": "us-east-1"}


def _no_namespaces() -> str | None:
    """Why this machine cannot give a job a network namespace (bubblewrap's or unshare's), if so."""
    from pipelines.engine import isolation

    if confinement.problem() is None:
        return None
    try:
        isolation.wrapper()
    except isolation.Unavailable as exc:
        return str(exc)
    return None


@pytest.mark.skipif(_no_namespaces() is not None, reason=f"{_no_namespaces()}: an isolated job fails before it starts here, saying so")
def test_network_isolation_leaves_a_job_no_network_and_no_endpoint(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    port = int(job_endpoint.for_home(home).url.rsplit(":", 1)[1])  # listening, in this process
    open_job = run(home, tmp_path, "Open", TRIES_THE_NETWORK, ["--port", str(port)])
    assert open_job["reached"] is True and open_job["endpoint"] == f"http://127.0.0.1:{port}"
    isolated = run(home, tmp_path, "Isolated", TRIES_THE_NETWORK, ["--port", str(port)], isolated=True)
    assert isolated["reached"] is not True and isolated["endpoint"] is None


# As AWS's examples write them: the container's paths hard-coded, no arguments.
HARD_CODED = """
import pathlib
base = "/opt/ml/processing"
pathlib.Path(f"{base}/out").mkdir(parents=True, exist_ok=True)
code = sorted(p.name for p in pathlib.Path(f"{base}/input/code").iterdir())
pathlib.Path(f"{base}/out/seen.json").write_text(__import__("json").dumps({"code": code}))
"""


@pytest.mark.skipif(confinement.problem() is not None, reason=f"{confinement.problem()} (.ci/run installs bubblewrap)")
def test_a_script_that_hard_codes_opt_ml_writes_its_sandbox_not_the_hosts(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    before = sorted(Path("/opt").iterdir()) if Path("/opt").is_dir() else []
    seen = run(home, tmp_path, "HardCoded", HARD_CODED, [])
    assert seen["code"] == ["HardCoded.py"]  # its code where the container puts it
    assert not Path("/opt/ml").exists() and (sorted(Path("/opt").iterdir()) if Path("/opt").is_dir() else []) == before


TRIES_TO_ESCAPE = """
import argparse, json, pathlib
p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--target", action="append"); a = p.parse_args()
tried = {}
for target in a.target:
    try:
        pathlib.Path(target).write_text("escaped")
        tried[target] = "written"
    except OSError as exc:
        tried[target] = type(exc).__name__ + ": " + exc.strerror
pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(a.out) / "seen.json").write_text(json.dumps(tried))
"""


@pytest.mark.skipif(confinement.problem() is not None, reason=f"{confinement.problem()} (.ci/run installs bubblewrap)")
def test_a_job_writes_nowhere_but_its_sandbox_and_the_store(tmp_path: Path) -> None:
    home = Home.resolve(tmp_path / "home")
    outside = [home.root / "escaped.txt", Path(__file__).resolve().parent / "escaped.txt", Path.home() / "escaped.txt"]
    private = Path("/tmp") / f"escaped-{tmp_path.name}.txt"
    in_store = home.objects().path("s3://bucket/written-by-the-job.txt")
    in_store.parent.mkdir(parents=True)
    seen = run(home, tmp_path, "Escape", TRIES_TO_ESCAPE, [arg for path in [*outside, private, in_store] for arg in ("--target", str(path))])
    for path in outside:
        assert not path.exists(), f"the job wrote {path} on the host"
        if not path.is_relative_to("/tmp"):  # under /tmp the job writes its own /tmp, gone with it
            assert seen[str(path)] == "OSError: Read-only file system"
    assert seen[str(private)] == "written" and not private.exists()  # its own /tmp, gone with it
    assert seen[str(in_store)] == "written" and in_store.read_text() == "escaped"


SEES_THREADS = """
import argparse, json, os, pathlib
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(a.out) / "seen.json").write_text(json.dumps({k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT")}))
"""


def test_a_jobs_openmp_threads_sleep_while_they_wait_unless_its_environment_says_otherwise(tmp_path: Path) -> None:
    """libgomp's threads spin at barriers by default; beside CPU-bound work that made a two-second
    training take eighteen (pipelines/core/threads.py). Jobs start with OMP_WAIT_POLICY=PASSIVE, and
    OpenBLAS's threads (numpy's, scipy's) sleep at once (OPENBLAS_THREAD_TIMEOUT=4)."""
    home = Home.resolve(tmp_path / "home")
    assert run(home, tmp_path, "Threads", SEES_THREADS, []) == {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}
    own = run(home, tmp_path, "Own", SEES_THREADS, [], environment={"OMP_WAIT_POLICY": "ACTIVE"})
    assert own == {"OMP_WAIT_POLICY": "ACTIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}  # the job's own setting wins


@pytest.mark.parametrize("preset, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_commands_set_the_wait_policy_before_anything_imports_xgboost(preset: str | None, expected: str, guarded_env: dict[str, str]) -> None:
    """libgomp reads OMP_WAIT_POLICY once, when XGBoost loads it: the commands set it first."""
    import subprocess
    import sys

    probe = (
        "import os, sys\n"
        "from pipelines.cli import main\n"
        "assert main.main(['--version']) == 0\n"
        "print(os.environ.get('OMP_WAIT_POLICY'), 'xgboost' in sys.modules)\n"
    )
    env = {k: v for k, v in guarded_env.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split()[-2:] == [expected, "False"]
