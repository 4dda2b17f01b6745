"""What the README shows a user to type works as shown."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pipelines.local.home import Home
from pipelines.serving import deploy

from serving_helpers import RunningServer, register

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_boto3_snippet_runs_against_mlops_serve(tmp_path: Path, model_dir: Path, guarded_env: dict[str, str]) -> None:
    (snippet,) = [block for block in python_blocks((ROOT / "README.md").read_text()) if "sagemaker-runtime" in block]
    home = Home.resolve(tmp_path / "home")
    package = register(home, model_dir / "model.tar.gz", "readme", status="Approved")
    deploy.deploy_package(home, package["ModelPackageArn"], "credit-default-staging", "staging")
    server = RunningServer(home, workers=1, extra_args=("--auth", "sigv4"))
    try:
        code = snippet.replace("http://127.0.0.1:8080", server.url)
        env = dict(guarded_env, AWS_SHARED_CREDENTIALS_FILE=str(home.credentials))
        env.pop("AWS_ACCESS_KEY_ID"), env.pop("AWS_SECRET_ACCESS_KEY"), env.pop("AWS_SESSION_TOKEN")
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert 0 < float(done.stdout.strip()) < 1
