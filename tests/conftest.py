"""Test setup: fake AWS credentials, a fixed region, and no network beyond loopback.

This runs before any test module imports the SDK or boto3, so nothing can pick up a real
profile, and every non-loopback connection fails the test that made it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipelines.core import threads
from tests.helpers import netguard

ROOT = Path(__file__).resolve().parents[1]  # on sys.path by pytest.ini's pythonpath: tests.helpers, tests.builders

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "SAGEMAKER_VALIDATE_ROLE": "false",
    "MLOPS_TRACKING": "off",  # MLflow logging is tested where it is meant to be
    "MLOPS_API_STRICT": "1",  # the local AWS endpoint answers exactly botocore's output shapes, or 500s
}
# One cache for the whole run, shared by the xdist workers (they inherit the controller's
# environment) and never the user's: rendered definitions (render_cache.py) and what other tools keep.
if "PYTEST_XDIST_WORKER" not in os.environ:
    import atexit
    import tempfile

    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="mlops-tests-cache-")
    atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "MLOPS_HOME"):
    os.environ.pop(_name, None)
os.environ.update(FAKE_AWS_ENV)
threads.prefer_passive_waits()  # as the CLI does, before anything here imports numpy or XGBoost
netguard.install()

DATA_DIR = ROOT / "data" / "credit-card-default"
RAW_CSV = DATA_DIR / "credit_default.csv"


@pytest.fixture(scope="session")
def raw_csv() -> Path:
    return RAW_CSV


@pytest.fixture(scope="session")
def preprocessed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real data run through steps/preprocess.py once for the session."""
    from steps import preprocess

    out = tmp_path_factory.mktemp("preprocessed")
    assert preprocess.main(["--input", str(RAW_CSV), "--output-dir", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def script_train(preprocessed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3,000 rows of the real train split (train.csv, label first, no header): what the
    script-mode training tests give their scikit-learn script, which fits in a fraction of the
    time the whole split takes and still learns (AUC well above chance)."""
    target = tmp_path_factory.mktemp("script-train") / "train.csv"
    lines = (preprocessed / "train" / "train.csv").read_text().splitlines(keepends=True)
    target.write_text("".join(lines[:3000]))
    return target


@pytest.fixture(scope="session")
def model_dir(preprocessed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model.tar.gz shaped like the built-in XGBoost container's, trained on the real split."""
    import tarfile

    import numpy as np
    import xgboost

    train = np.loadtxt(preprocessed / "train" / "train.csv", delimiter=",")
    validation = np.loadtxt(preprocessed / "validation" / "validation.csv", delimiter=",")
    booster = xgboost.train(
        {"objective": "binary:logistic", "eval_metric": "auc", "max_depth": 4, "eta": 0.2},
        xgboost.DMatrix(train[:, 1:], label=train[:, 0]),
        num_boost_round=40,
        evals=[(xgboost.DMatrix(validation[:, 1:], label=validation[:, 0]), "validation")],
        verbose_eval=False,
    )
    work = tmp_path_factory.mktemp("model")
    booster.save_model(str(work / "model.ubj"))  # UBJSON, as XGBoost writes by default
    target = tmp_path_factory.mktemp("model-dir")
    with tarfile.open(target / "model.tar.gz", "w:gz") as tar:
        tar.add(work / "model.ubj", arcname="xgboost-model")
    shutil.rmtree(work)
    return target


@pytest.fixture
def guarded_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a subprocess: fake AWS settings and the network guard, logging refusals."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(FAKE_AWS_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "guarded"), str(ROOT)])
    env["MLOPS_NETGUARD_LOG"] = str(tmp_path / "netguard.log")
    return env


@pytest.fixture(scope="session")
def evaluated(preprocessed: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """steps/evaluate.py on the real split: evaluation/evaluation.json and baseline/baseline.csv."""
    from steps import evaluate

    out = tmp_path_factory.mktemp("evaluated")
    code = evaluate.main([
        "--model-dir", str(model_dir), "--test-dir", str(preprocessed / "test"), "--output-dir", str(out / "evaluation"),
        "--train-dir", str(preprocessed / "train"), "--baseline-dir", str(out / "baseline"),
    ])  # fmt: skip
    assert code == 0
    return out


@pytest.fixture(scope="session")
def scored_test(preprocessed: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test rows as the endpoint sees them: the model's output first (instead of the label), then the features."""
    import tarfile

    import pandas as pd
    import xgboost

    work = tmp_path_factory.mktemp("scored")
    with tarfile.open(model_dir / "model.tar.gz") as tar:
        raw = tar.extractfile("xgboost-model").read()  # type: ignore[union-attr]
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    test = pd.read_csv(preprocessed / "test" / "test.csv", dtype=str)  # the features as written, as a client sends them
    scores = booster.predict(xgboost.DMatrix(test.iloc[:, 1:].to_numpy(dtype=float)))
    scored = pd.concat([pd.Series([repr(float(s)) for s in scores], name="prediction"), test.iloc[:, 1:]], axis=1)
    scored.to_csv(work / "scored_test.csv", index=False)
    return work / "scored_test.csv"


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (make test), the tests that share a module-scoped fixture run on one
    worker, so the fixture (a pipeline run, a baseline) is made once, not once per worker."""
    for item in items:
        definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        if any(d.scope == "module" for defs in definitions.values() for d in defs) and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    # The long tests first (each kind in the order collected): xdist hands the workers their work
    # in this order (make test: --no-loadscope-reorder), so the short ones fill the end and both
    # workers finish together; collected last, the corpus tests kept one worker busy alone.
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail loudly when xdist stops grouping: with pytest 9.2 its loadgroup silently ran the tests
    of a group on both workers (pytest-xdist#1386), each making the module's fixtures again."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    lost = [item.nodeid for item in session.items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid.rsplit("]", 1)[-1]]
    if lost:
        raise pytest.UsageError(f"--dist loadgroup is not grouping here (pytest {pytest.__version__}; pytest-xdist#1386): {lost[0]} has no @group")


_HOST_OPT_ML = Path("/opt/ml")
_HOST_OPT_ML_BEFORE = _HOST_OPT_ML.exists()  # the controller's look, before any test ran


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run when a test wrote to the host's /opt/ml: a job's /opt/ml is its sandbox's
    (bubblewrap), and without bubblewrap a script that hard-codes it writes to the host's, where
    the next run's tests would find it (a test's script did, found when a run without bubblewrap
    failed the next run's /opt/ml checks)."""
    if "PYTEST_XDIST_WORKER" in os.environ or _HOST_OPT_ML_BEFORE or not _HOST_OPT_ML.exists():
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"a test wrote to the host's {_HOST_OPT_ML}, which did not exist before the run: {sorted(str(p) for p in _HOST_OPT_ML.rglob('*'))[:5]}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
