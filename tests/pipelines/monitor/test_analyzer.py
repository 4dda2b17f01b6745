"""The analyzer on the real data: SageMaker's file shapes, and drift found exactly where it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.monitor.job.common.result import Result
from pipelines.monitor.job.data_quality import analyzer
from steps.preprocess import plain_decimals

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "monitor"
DRIFTED = {"LIMIT_BAL", "EDUCATION", "MARRIAGE"}


@pytest.fixture(scope="module")
def base(evaluated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baseline")
    analyzer.baseline(evaluated / "baseline" / "baseline.csv", out)
    return out


def traffic(scored: Path, rng: np.random.Generator | None = None, rows: int | None = None) -> pd.DataFrame:
    test = pd.read_csv(scored, dtype={"prediction": str})
    if rows is not None:
        test = test.sample(n=rows, random_state=int(rng.integers(1 << 31)) if rng is not None else 0)
    return test


@pytest.fixture(scope="module")
def rescore(model_dir: Path):  # type: ignore[no-untyped-def]
    """Score rows again with the model, as the endpoint would after their features changed."""
    import tarfile

    import xgboost

    with tarfile.open(model_dir / "model.tar.gz") as tar:
        raw = tar.extractfile("xgboost-model").read()  # type: ignore[union-attr]
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))

    def score(frame: pd.DataFrame) -> pd.DataFrame:
        scores = booster.predict(xgboost.DMatrix(frame.iloc[:, 1:].to_numpy(dtype=float)))
        return frame.assign(prediction=[repr(float(x)) for x in scores])

    return score


def inject_drift(frame: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """The workshop's drift: LIMIT_BAL / 1000 on half the rows, EDUCATION negated on 75%, MARRIAGE negated on half."""
    rng = np.random.default_rng(seed)
    drifted = frame.copy()
    n = len(drifted)
    half = rng.random(n) < 0.5
    drifted["LIMIT_BAL"] = np.where(half, drifted["LIMIT_BAL"] // 1000, drifted["LIMIT_BAL"])
    drifted["EDUCATION"] = np.where(rng.random(n) < 0.75, -drifted["EDUCATION"], drifted["EDUCATION"])
    drifted["MARRIAGE"] = np.where(rng.random(n) < 0.5, -drifted["MARRIAGE"], drifted["MARRIAGE"])
    return drifted


def check(frame: pd.DataFrame, base: Path, tmp: Path) -> Result:
    tmp.mkdir(parents=True, exist_ok=True)
    source = tmp / "current.csv"
    plain_decimals(frame).to_csv(source, header=False, index=False)  # numbers as a client writes them
    return analyzer.monitor(source, tmp / "out", base / "statistics.json", base / "constraints.json", capture=False)


def test_baseline_statistics_have_sagemakers_shape(base: Path) -> None:
    stats = json.loads((base / "statistics.json").read_text())
    real = json.loads((GOLDEN / "statistics_xgb_churn_partial.json").read_text())
    assert set(stats) == set(real) and stats["version"] == 0.0
    assert stats["dataset"] == {"item_count": 21000}
    label, pay_amt1 = stats["features"][0], stats["features"][1]
    assert (label["name"], label["inferred_type"], pay_amt1["inferred_type"]) == ("prediction", "Fractional", "Fractional")
    real_numeric = real["features"][1]["numerical_statistics"]
    ours = pay_amt1["numerical_statistics"]
    assert set(ours) == set(real_numeric)
    assert set(ours["common"]) == set(real_numeric["common"]) and ours["common"]["num_present"] == 21000.0
    kll = ours["distribution"]["kll"]
    assert len(kll["buckets"]) == 10 and sum(b["count"] for b in kll["buckets"]) == 21000.0
    assert set(kll["buckets"][0]) == {"lower_bound", "upper_bound", "count"}
    assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
    assert sum(len(level) << h for h, level in enumerate(kll["sketch"]["data"])) == 21000
    # Laid out as SageMaker's files are: indented objects, each sketch's levels on one line.
    text = (base / "statistics.json").read_text()
    assert all(line.strip().startswith('"data": [[') for line in text.splitlines() if '"data"' in line)
    assert len(text.splitlines()) < 5000


def test_json_layout_keeps_every_value(tmp_path: Path) -> None:
    from pipelines.monitor.job.common.result import dumps

    document = {"a": [1, 2.5, [3, 4]], "b": [{"x": [1.5, "y,z"]}], "c": "\x00inline-0\x00", "e": [], "f": ['"q', None, True]}
    assert json.loads(dumps(document)) == document


def test_suggested_constraints_have_sagemakers_shape(base: Path) -> None:
    ours = json.loads((base / "constraints.json").read_text())
    real = json.loads((GOLDEN / "constraints_xgb_churn.json").read_text())
    assert set(ours) == set(real)
    assert set(real["monitoring_config"]) <= set(ours["monitoring_config"])
    assert set(real["monitoring_config"]["distribution_constraints"]) <= set(ours["monitoring_config"]["distribution_constraints"])
    assert set(ours["features"][0]) == set(real["features"][0])
    by_name = {f["name"]: f for f in ours["features"]}
    assert by_name["AGE"]["num_constraints"] == {"is_non_negative": True}
    assert by_name["PAY_0"]["num_constraints"] == {"is_non_negative": False}
    assert all(f["completeness"] == 1.0 for f in ours["features"])


def test_unchanged_traffic_raises_nothing(base: Path, scored_test: Path, tmp_path: Path) -> None:
    result = check(traffic(scored_test), base, tmp_path)
    assert result.violations == [] and result.status == "Completed"
    written = json.loads((tmp_path / "out" / "constraint_violations.json").read_text())
    assert written == {"violations": []}


def test_the_workshops_drift_is_flagged_on_exactly_the_changed_features(base: Path, scored_test: Path, tmp_path: Path, rescore) -> None:  # type: ignore[no-untyped-def]
    result = check(rescore(inject_drift(traffic(scored_test))), base, tmp_path)
    drift = {v["feature_name"] for v in result.violations if v["constraint_check_type"] == "baseline_drift_check"}
    # The three changed features, and the model's output, which moves with them; no other feature.
    assert drift - {"prediction"} == DRIFTED
    assert {v["feature_name"] for v in result.violations} <= DRIFTED | {"prediction"}
    assert result.status == "CompletedWithViolations"
    for v in result.violations:
        if v["constraint_check_type"] == "baseline_drift_check":
            assert v["description"].startswith("Baseline drift distance: ") and v["description"].endswith(" exceeds threshold: 0.1")


def test_hourly_windows_of_a_few_hundred_unchanged_rows_stay_clean(base: Path, scored_test: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(2024)
    for hour in range(12):
        result = check(traffic(scored_test, rng, rows=int(rng.integers(200, 500))), base, tmp_path / str(hour))
        assert [v for v in result.violations if v["constraint_check_type"] == "baseline_drift_check"] == [], hour


def test_simple_method_is_noisier_on_small_windows(base: Path, scored_test: Path, tmp_path: Path) -> None:
    """What Robust is for: the same small windows judged by Simple raise false alarms."""
    constraints = json.loads((base / "constraints.json").read_text())
    constraints["monitoring_config"]["distribution_constraints"]["comparison_method"] = "Simple"
    simple = tmp_path / "simple"
    simple.mkdir()
    (simple / "constraints.json").write_text(json.dumps(constraints))
    (simple / "statistics.json").write_text((base / "statistics.json").read_text())
    rng = np.random.default_rng(5)
    alarms = sum(
        bool([v for v in check(traffic(scored_test, rng, rows=100), simple, tmp_path / str(i)).violations if v["constraint_check_type"] == "baseline_drift_check"])
        for i in range(6)
    )
    assert alarms >= 1


def test_per_feature_override_of_the_threshold(base: Path, scored_test: Path, tmp_path: Path, rescore) -> None:  # type: ignore[no-untyped-def]
    constraints = json.loads((base / "constraints.json").read_text())
    for feature in constraints["features"]:
        if feature["name"] == "MARRIAGE":
            feature["monitoringConfigOverrides"] = {"comparison_threshold": 0.99}
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "constraints.json").write_text(json.dumps(constraints))
    (custom / "statistics.json").write_text((base / "statistics.json").read_text())
    result = check(rescore(inject_drift(traffic(scored_test))), custom, tmp_path)
    assert {v["feature_name"] for v in result.violations if v["constraint_check_type"] == "baseline_drift_check"} - {"prediction"} == {"LIMIT_BAL", "EDUCATION"}


def test_data_type_and_completeness_violations_use_the_containers_words(base: Path, scored_test: Path, tmp_path: Path) -> None:
    frame = traffic(scored_test).head(1000).astype(object)
    frame.loc[:3, "AGE"] = "unknown"
    frame.loc[10:19, "SEX"] = None
    result = check(frame, base, tmp_path)
    by_check = {(v["feature_name"], v["constraint_check_type"]): v["description"] for v in result.violations}
    assert by_check[("AGE", "data_type_check")] == "Data type match requirement is not met. Expected data type: Integral, Expected match: 100.0%. Observed: Only 99.6% of data is Integral."
    assert by_check[("SEX", "completeness_check")] == "Data completeness requirement is not met. Expected completeness: 100.0%. Observed: Only 99.0% of data is present."


def test_rows_with_missing_and_extra_columns_are_counted_and_reported(base: Path, scored_test: Path, tmp_path: Path) -> None:
    frame = traffic(scored_test).head(200)
    lines = [",".join(map(str, row)) for row in frame.itertuples(index=False)]
    lines[0] = ",".join(lines[0].split(",")[:20])  # 20 values instead of 24
    lines[1] = lines[1] + ",1,2"  # 26 values
    lines.append("{not csv at all")
    (tmp_path / "current.csv").write_text("\n".join(lines) + "\n")
    result = analyzer.monitor(tmp_path / "current.csv", tmp_path / "out", base / "statistics.json", base / "constraints.json", capture=False)
    kinds = {(v["constraint_check_type"], v["feature_name"]) for v in result.violations}
    assert ("missing_column_check", "PAY_AMT3") in kinds and ("extra_column_check", "_c24") in kinds
    assert result.counters["rows_with_wrong_column_count"] == {"1": 1, "20": 1, "26": 1}
    assert result.counters["rows"] == 198


def test_string_features_get_categorical_statistics_domains_and_drift(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base_frame = pd.DataFrame({"score": rng.random(2000).round(4), "colour": rng.choice(["red", "green", "blue"], 2000, p=[0.5, 0.3, 0.2])})
    base_frame.to_csv(tmp_path / "base.csv", index=False)
    analyzer.baseline(tmp_path / "base.csv", tmp_path / "b")
    stats = json.loads((tmp_path / "b" / "statistics.json").read_text())
    colour = stats["features"][1]
    assert colour["inferred_type"] == "String" and colour["string_statistics"]["distinct_count"] == 3.0
    assert {b["value"] for b in colour["string_statistics"]["distribution"]["categorical"]["buckets"]} == {"red", "green", "blue"}
    constraints = json.loads((tmp_path / "b" / "constraints.json").read_text())
    assert constraints["features"][1]["string_constraints"] == {"domains": ["red", "green", "blue"]}
    current = pd.DataFrame({"score": rng.random(500).round(4), "colour": rng.choice(["red", "green", "purple"], 500, p=[0.2, 0.3, 0.5])})
    current.to_csv(tmp_path / "cur.csv", index=False, header=False)
    result = analyzer.monitor(tmp_path / "cur.csv", tmp_path / "o", tmp_path / "b" / "statistics.json", tmp_path / "b" / "constraints.json", capture=False)
    kinds = {(v["feature_name"], v["constraint_check_type"]) for v in result.violations}
    assert kinds == {("colour", "baseline_drift_check"), ("colour", "categorical_values_check")}


AS_THE_PROGRAM_THEN_WHAT_IT_LOADED = (
    "import runpy, sys\n"
    "try:\n"
    "    runpy.run_module('pipelines.monitor.job.environment', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    print('loaded:', ' '.join(sorted(name for name, module in sys.modules.items() if module is not None)), file=sys.stderr)\n"
)  # python -m pipelines.monitor.job.environment, then the modules its process loaded


def test_the_container_contract_from_the_environment(evaluated: Path, base: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "PYTHON"))}
    env.update({"dataset_format": json.dumps({"csv": {"header": True, "output_columns_position": "START"}}), "dataset_source": str(evaluated / "baseline"), "output_path": str(tmp_path / "suggested"), "publish_cloudwatch_metrics": "Disabled"})
    done = subprocess.run([sys.executable, "-c", AS_THE_PROGRAM_THEN_WHAT_IT_LOADED], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "suggested" / "statistics.json").read_text()) == json.loads((base / "statistics.json").read_text())
    loaded = set(done.stderr.split("loaded: ", 1)[1].split())
    assert "pyarrow.compute" in loaded and not {name for name in loaded if name.split(".")[0] == "pandas"}  # pyarrow would import it for nothing (0.15 s)
    empty = tmp_path / "empty"
    empty.mkdir()
    env.update({"dataset_source": str(empty), "output_path": str(tmp_path / "nothing")})
    failed = subprocess.run([sys.executable, "-m", "pipelines.monitor.job.environment"], env=env, capture_output=True, text=True)
    assert failed.returncode == 1 and "analysis failed: No data in the baseline dataset" in failed.stderr
    assert not (tmp_path / "nothing").exists()


def test_the_sdks_set_monitoring_is_honoured_and_unknown_keys_are_named(tmp_path: Path, evaluated: Path, scored_test: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Constraints.set_monitoring (SDK v3) writes monitoring_config_overrides; AWS's schema says
    monitoringConfigOverrides. Both turn a feature's checks off; a key neither knows is logged."""
    import pandas as pd
    from sagemaker.core.model_monitor.monitoring_files import Constraints

    from pipelines.monitor.job.data_quality import constraints as settings

    analyzer.baseline(evaluated / "baseline" / "baseline.csv", tmp_path / "baseline")
    body = json.loads((tmp_path / "baseline" / "constraints.json").read_text())
    sdk_constraints = Constraints(body_dict=body, constraints_file_s3_uri="s3://b/constraints.json")
    sdk_constraints.set_monitoring(False, "EDUCATION")
    edited = sdk_constraints.body_dict
    assert "monitoring_config_overrides" in next(f for f in edited["features"] if f["name"] == "EDUCATION")
    next(f for f in edited["features"] if f["name"] == "LIMIT_BAL")["monitoringConfigOverrides"] = {"comparison_threshold": 1.0}
    next(f for f in edited["features"] if f["name"] == "MARRIAGE")["monitoring_overrides"] = {"evaluate_constraints": "Disabled"}  # a typo
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    drifted = pd.read_csv(scored_test, dtype={"prediction": str}).head(400)
    drifted["EDUCATION"] = -drifted["EDUCATION"].astype(int)
    drifted["LIMIT_BAL"] = drifted["LIMIT_BAL"].astype(float) // 1000
    drifted.to_csv(tmp_path / "current.csv", index=False)
    result = analyzer.monitor(tmp_path / "current.csv", tmp_path / "out", tmp_path / "baseline" / "statistics.json", tmp_path / "edited.json", capture=False, header=True)
    flagged = {v["feature_name"] for v in result.violations}
    assert "EDUCATION" not in flagged  # the SDK's spelling switched its checks off
    assert "LIMIT_BAL" not in {v["feature_name"] for v in result.violations if v["constraint_check_type"] == "baseline_drift_check"}  # AWS's spelling raised its threshold
    assert settings.unknown_keys(edited) == ["features[MARRIAGE].monitoring_overrides"]
    assert "unknown constraints key(s), ignored: features[MARRIAGE].monitoring_overrides" in caplog.text


def json_types(document: Any, path: str = "") -> dict[str, str]:
    """Each path's JSON type (int and float told apart), lists collapsed to their items."""
    if isinstance(document, dict):
        return {k: v for key, value in document.items() for k, v in json_types(value, f"{path}.{key}").items()}
    if isinstance(document, list):
        return {k: v for item in document for k, v in json_types(item, f"{path}[]").items()}
    return {path: type(document).__name__}


def test_numbers_are_written_with_the_types_sagemakers_files_have(base: Path) -> None:
    """Counts are integers (num_present, num_missing, categorical counts), KLL bucket counts and
    sketch items floats, as in a real statistics.json and the SDK's test data."""
    ours = json_types(json.loads((base / "statistics.json").read_text()))
    for reference in ("statistics_xgb_churn_partial.json",):
        real = json_types(json.loads((GOLDEN / reference).read_text()))
        shared = set(ours) & set(real)
        assert {".features[].numerical_statistics.common.num_present", ".dataset.item_count", ".features[].numerical_statistics.distribution.kll.buckets[].count"} <= shared
        assert {p: (ours[p], real[p]) for p in shared if ours[p] != real[p]} == {}


def test_string_statistics_have_the_types_of_the_sdks_test_data(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("label,message\n" + "".join(f"{i % 2},{'abc'[i % 3]}\n" for i in range(30)))
    analyzer.baseline(tmp_path / "data.csv", tmp_path / "out")
    ours = json_types(json.loads((tmp_path / "out" / "statistics.json").read_text()))
    real = json_types(json.loads((GOLDEN / "statistics_sdk_testdata.json").read_text()))
    shared = {p for p in set(ours) & set(real) if "string_statistics" in p}
    assert ".features[].string_statistics.distribution.categorical.buckets[].count" in shared
    assert {p: (ours[p], real[p]) for p in shared if ours[p] != real[p]} == {}
