"""The fairness and explainability job, run from the analyzer bundle as a processing job runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.monitor import bundle
from pipelines.monitor.job.clarify import attribution, bias
from pipelines.monitor.job.clarify import jobs as clarify_job
from pipelines.monitor.job.common.result import JobFailed
from steps import evaluate

FACETS = ["--facet", "SEX=2", "--facet", "MARRIAGE=2", "--facet", "AGE>40"]


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle.build(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def predictions(preprocessed: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Evaluate step's predictions.csv (label,probability of each test row)."""
    out = tmp_path_factory.mktemp("evaluated-predictions")
    code = evaluate.main([
        "--model-dir", str(model_dir), "--test-dir", str(preprocessed / "test"), "--output-dir", str(out / "evaluation"),
        "--predictions-dir", str(out / "predictions"),
    ])  # fmt: skip
    assert code == 0
    return out / "predictions"


def run_bundle(pyz: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-I", str(pyz), *args, "--message", str(tmp_path / "message")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def bias_args(preprocessed: Path, predictions: Path, output: Path, *facets: str) -> list[str]:
    return [
        "bias", "--dataset", str(preprocessed / "test"), "--predictions", str(predictions), "--train", str(preprocessed / "train"),
        "--label", "Label", "--label-values", "0", *(facets or FACETS), "--group-variable", "EDUCATION", "--output", str(output),
    ]  # fmt: skip


def test_bias_job_writes_clarifys_files_and_the_gate_summary(pyz: Path, preprocessed: Path, predictions: Path, tmp_path: Path) -> None:
    done = run_bundle(pyz, tmp_path, *bias_args(preprocessed, predictions, tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["analysis.json", "analysis_config.json", "bias_summary.json", "report.html"]
    document = json.loads((out / "analysis.json").read_text())
    assert list(document) == ["version", "pre_training_bias_metrics", "post_training_bias_metrics"]
    post = document["post_training_bias_metrics"]
    assert post["label"] == "Label" and post["label_value_or_threshold"] == "0"
    oldest = int(pd.read_csv(preprocessed / "test" / "test.csv")["AGE"].max())
    assert {f: [e["value_or_threshold"] for e in entries] for f, entries in post["facets"].items()} == {"SEX": ["2"], "MARRIAGE": ["2"], "AGE": [f"(40, {oldest}]"]}
    # Pre-training metrics are the training split's: its class imbalance, counted here.
    train = pd.read_csv(preprocessed / "train" / "train.csv", header=None)
    women = int((train[train.columns[list(pd.read_csv(preprocessed / "test" / "test.csv", nrows=0).columns).index("SEX")]] == 2).sum())
    ci = bias.values(document, "CI", bias.PRE_TRAINING)
    assert ci[0][:2] == ("SEX", "2") and ci[0][2] == pytest.approx((len(train) - 2 * women) / len(train))
    # Every post-training metric has a value on the real split (the flip test included).
    assert all(isinstance(m["value"], float) for entries in post["facets"].values() for e in entries for m in e["metrics"])
    # The gate's summary is the lowest and highest DI of the report, with their groups.
    di = {f"{f}={v}": value for f, v, value in bias.values(document, "DI")}
    summary = json.loads((out / "bias_summary.json").read_text())["disparate_impact"]
    assert summary["lowest"] == {"value": min(di.values()), "group": min(di, key=di.get)}
    assert summary["highest"] == {"value": max(di.values()), "group": max(di, key=di.get)}
    assert summary["within_band"] == (0.8 <= min(di.values()) and max(di.values()) <= 1.25)
    config = json.loads((out / "analysis_config.json").read_text())
    assert bias.BiasConfig.from_dict(config).facets == (bias.Facet("SEX", (2,)), bias.Facet("MARRIAGE", (2,)), bias.Facet("AGE", (40,), continuous=True))
    report = (out / "report.html").read_text()
    assert report.count('class="chart band"') == 3 and report.count('class="chart metrics"') == 6
    assert "disparate impact" in (tmp_path / "message").read_text()


def test_a_facet_value_the_data_does_not_have_fails_naming_it_and_writes_nothing(pyz: Path, preprocessed: Path, predictions: Path, tmp_path: Path) -> None:
    done = run_bundle(pyz, tmp_path, *bias_args(preprocessed, predictions, tmp_path / "out", "--facet", "SEX=3"))
    assert done.returncode == 1
    message = (tmp_path / "message").read_text()
    assert message.startswith("disparate impact of SEX=3 has no value (Facet set is empty)")
    assert not (tmp_path / "out").exists()


def test_predictions_of_other_rows_are_refused(pyz: Path, preprocessed: Path, predictions: Path, tmp_path: Path) -> None:
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    pd.read_csv(predictions / "predictions.csv").sample(frac=1, random_state=1).to_csv(shuffled / "predictions.csv", index=False)
    done = run_bundle(pyz, tmp_path, *bias_args(preprocessed, shuffled, tmp_path / "out"))
    assert done.returncode == 1
    assert "not the same rows" in (tmp_path / "message").read_text()
    assert not (tmp_path / "out").exists()


def test_explain_job_writes_clarifys_explainability_files(pyz: Path, preprocessed: Path, model_dir: Path, tmp_path: Path) -> None:
    done = run_bundle(pyz, tmp_path, "explain", "--model", str(model_dir), "--dataset", str(preprocessed / "test"), "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == ["analysis.json", "analysis_config.json", "explanations_shap/out.csv", "report.html"]
    test = pd.read_csv(preprocessed / "test" / "test.csv")
    local = pd.read_csv(out / "explanations_shap" / "out.csv")
    assert list(local.columns) == [f"{name}_label0" for name in test.columns[1:]] and len(local) == len(test)
    # What AWS's notebooks do with Clarify's out.csv before plotting a row: strip the label's suffix.
    local.columns = [c.replace("_label0", "") for c in local.columns]
    document = json.loads((out / "analysis.json").read_text())
    global_shap = attribution.global_from(document)
    assert global_shap == pytest.approx(local.abs().mean().to_dict(), rel=1e-6)
    assert document["explanations"]["kernel_shap"]["label0"]["expected_value"] < 0  # a minority of defaults: negative log-odds
    config = json.loads((out / "analysis_config.json").read_text())
    assert config["methods"]["shap"] == {"algorithm": "tree", "use_logit": True, "agg_method": "mean_abs", "save_local_shap_values": True}
    report = (out / "report.html").read_text()
    assert 'class="chart importance"' in report and report.count("<circle") == clarify_job.clarify_report.BEESWARM_FEATURES * clarify_job.clarify_report.BEESWARM_ROWS
    assert (tmp_path / "message").read_text().startswith(f"SHAP of {len(test)} rows")


def test_explain_job_refuses_an_archive_without_a_model(pyz: Path, preprocessed: Path, tmp_path: Path) -> None:
    import tarfile

    (tmp_path / "model").mkdir()
    (tmp_path / "readme.txt").write_text("no model")
    with tarfile.open(tmp_path / "model" / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "readme.txt", arcname="readme.txt")
    done = run_bundle(pyz, tmp_path, "explain", "--model", str(tmp_path / "model"), "--dataset", str(preprocessed / "test"), "--output", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "holds no xgboost-model" in (tmp_path / "message").read_text()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SEX=2", bias.Facet("SEX", (2,))),
        ("MARRIAGE=1,3", bias.Facet("MARRIAGE", (1, 3))),
        ("AGE>40.5", bias.Facet("AGE", (40.5,), continuous=True)),
        ("EDUCATION", bias.Facet("EDUCATION")),
    ],
)
def test_facet_arguments(text: str, expected: bias.Facet) -> None:
    assert clarify_job.facet(text) == expected


def test_facet_argument_errors() -> None:
    with pytest.raises(JobFailed, match="must be numbers"):
        clarify_job.facet("SEX=female")
    with pytest.raises(JobFailed, match="one number"):
        clarify_job.facet("AGE>30,40")
