"""A builder written the usual way (a processor's code= is a local file) renders offline and runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipelines.build import code_assets
from pipelines.engine.records import Records
from pipelines.local.home import Home
from pipelines.runs import local_run

ROOT = Path(__file__).resolve().parents[2]


def test_get_pipeline_definition_renders_it_without_credentials_or_network(guarded_env: dict[str, str]) -> None:
    env = {k: v for k, v in guarded_env.items() if not k.startswith("AWS_ACCESS") and not k.startswith("AWS_SECRET") and not k.startswith("AWS_SESSION")}
    done = subprocess.run([sys.executable, "-m", "pipelines.get_pipeline_definition", "--module-name", "tests.builders.local_code"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    (code,) = [i["S3Input"]["S3Uri"] for i in document["Steps"][0]["Arguments"]["ProcessingInputs"] if i["InputName"] == "code"]
    assert code.startswith("s3://my-bucket/LocalCode/code/") and code.endswith("/hello.py")  # the SDK's own content-hashed URI


def test_the_local_engine_runs_it_with_the_file_where_the_sdk_would_have_put_it(tmp_path: Path) -> None:
    document, name = local_run.load_definition("tests.builders.local_code", {}, None, None)
    assets = code_assets.find(document)
    assert [a.path.name for a in assets] == ["hello.py"]
    home = Home.resolve(tmp_path / "home")
    result = local_run.run(home, document, name, {}, None, tracking="off")
    assert result.status == "Succeeded", result.failure_reason
    with Records(home) as records:
        outputs = records.step_properties(result.execution_id, "Hello")["ProcessingOutputConfig"]["Outputs"]
    assert (home.objects().path(outputs[0]["S3Output"]["S3Uri"]) / "hello.txt").read_text() == "hello from a local code path"
