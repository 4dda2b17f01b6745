"""What the documentation shows a user to type works as shown."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.local.home import Home
from pipelines.serving import deploy
from tests.helpers.serving_helpers import RunningServer, register

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("auth", [("--auth", "sigv4"), ()], ids=["sigv4", "loopback-default"])
def test_the_boto3_snippet_scores_the_customer_it_names(tmp_path: Path, model_dir: Path, guarded_env: dict[str, str], auth: tuple[str, ...]) -> None:
    """docs/serving.md's snippet runs as written against ``mlops serve`` (signed, and with the
    loopback default), and what it prints is the model's answer for that customer: its body is
    a row of the data, in training order, as the model was trained on it."""
    import numpy as np

    from pipelines.serving.model import Predictor

    (snippet,) = [block for block in python_blocks((ROOT / "docs" / "serving.md").read_text()) if "sagemaker-runtime" in block]
    body = [float(v) for v in re.search(r'Body="([^"]+)"', snippet)[1].split(",")]  # type: ignore[index]
    data = np.loadtxt(ROOT / "data" / "credit-card-default" / "credit_default.csv", delimiter=",", skiprows=1)
    (matches,) = np.nonzero((data[:, 1:] == np.array(body)).all(axis=1))
    assert len(matches) == 1 and data[matches[0], 0] == 1  # one client of the data, who defaulted
    expected = float(Predictor.load(model_dir / "model.tar.gz").predict(np.array([body], dtype=np.float32))[0])
    home = Home.resolve(tmp_path / "home")
    package = register(home, model_dir / "model.tar.gz", "readme", status="Approved")
    deploy.deploy_package(home, package["ModelPackageArn"], "credit-default-staging", "staging")
    server = RunningServer(home, workers=1, extra_args=auth)
    try:
        code = snippet.replace("http://127.0.0.1:8080", server.url)
        env = dict(guarded_env, AWS_SHARED_CREDENTIALS_FILE=str(home.credentials))
        env.pop("AWS_ACCESS_KEY_ID"), env.pop("AWS_SECRET_ACCESS_KEY"), env.pop("AWS_SESSION_TOKEN")
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip()) == pytest.approx(expected, abs=1e-7)
