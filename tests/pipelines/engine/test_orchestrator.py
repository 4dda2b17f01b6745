"""The engine on small definitions: order, data flow, conditions, failure, cache, stop."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from pipelines.engine.orchestrator import Engine
from pipelines.engine.records import Records
from pipelines.engine.validation import ValidationError
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from tests.helpers.engine_defs import definition, out_uri, processing, signals


def read_output(home: Home, properties_uri: str) -> str:
    return (ObjectStore(home.store).path(properties_uri) / "value.txt").read_text()


def step_properties(home: Home, execution_id: str, name: str) -> dict:
    records = Records(home)
    try:
        return records.step_properties(execution_id, name) or {}
    finally:
        records.close()


def test_linear_data_flows_through_the_store(engine: Engine, home: Home, scripts: Path) -> None:
    doc = definition(
        [
            processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--text", {"Get": "Parameters.Text"}]),
            processing("B", scripts / "copy.py", ["--src", "/opt/ml/processing/src", "--out", "/opt/ml/processing/out"], inputs=[("src", out_uri("A"))]),
        ],
        parameters=[{"Name": "Text", "Type": "String", "DefaultValue": "hello"}],
    )
    result = engine.run(doc, "Tiny", {"Text": "bonjour"})
    assert result.status == "Succeeded", result.failure_reason
    uri = step_properties(home, result.execution_id, "B")["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert uri == f"s3://bucket/p/{result.execution_id}/B/out"
    assert read_output(home, uri) == "bonjour+copied"
    assert [s.name for s in result.steps] == ["A", "B"]


def test_condition_runs_only_the_taken_branch(engine: Engine, scripts: Path, events: list) -> None:
    def doc(threshold: float) -> dict:
        return definition(
            [
                processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out"]),
                {
                    "Name": "Check",
                    "Type": "Condition",
                    "Arguments": {
                        "Conditions": [
                            {
                                "Type": "GreaterThanOrEqualTo",
                                "LeftValue": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.A.PropertyFiles.Report"}, "Path": "score.value"}},
                                "RightValue": {"Get": "Parameters.Threshold"},
                            }
                        ],
                        "IfSteps": [processing("High", scripts / "write.py", ["--out", "/opt/ml/processing/out"])],
                        "ElseSteps": [{"Name": "Low", "Type": "Fail", "Arguments": {"ErrorMessage": {"Std:Join": {"On": " ", "Values": ["score below", {"Get": "Parameters.Threshold"}]}}}}],
                    },
                },
            ],
            parameters=[{"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5}],
        )

    high = engine.run(doc(0.5), "Cond", {})
    assert high.status == "Succeeded"
    assert [s.name for s in high.steps] == ["A", "Check", "High"]
    assert high.steps[1].detail == "0.8 GreaterThanOrEqualTo 0.5: true"
    low = engine.run(doc(0.9), "Cond", {"Threshold": 0.9})
    assert low.status == "Failed" and low.failure_reason == "score below 0.9"
    assert [s.name for s in low.steps] == ["A", "Check", "Low"]
    assert ("High", "Executing") not in events[len(events) // 2 :]


def test_failed_job_reports_stderr_tail_and_publishes_nothing(engine: Engine, home: Home, scripts: Path) -> None:
    doc = definition(
        [
            processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--fail"]),
            processing("B", scripts / "copy.py", ["--src", "/opt/ml/processing/src", "--out", "/opt/ml/processing/out"], inputs=[("src", out_uri("A"))]),
        ]
    )
    result = engine.run(doc, "Broken", {})
    assert result.status == "Failed"
    assert result.failure_reason.startswith("Step A failed: AlgorithmError: write.py exited with code 3; stderr tail:")
    assert "something went wrong in the job" in result.failure_reason
    assert [s.name for s in result.steps] == ["A"]  # B never started
    assert not (home.store / "bucket" / "p" / result.execution_id).exists()
    log = Path(result.steps[0].log_path).read_text()
    assert "something went wrong in the job" in log


def test_independent_steps_run_concurrently(engine: Engine, home: Home, scripts: Path, tmp_path: Path) -> None:
    # Each job waits until the other one is running too: they meet only if they run at once,
    # whatever the machine's speed (run one after the other, each would give up alone).
    meeting = signals(home) / "meeting"
    meeting.mkdir()
    doc = definition(
        [
            processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--meet", str(meeting), "--name", "A"]),
            processing("B", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--meet", str(meeting), "--name", "B"]),
        ]
    )
    assert engine.run(doc, "Parallel", {}).status == "Succeeded"
    assert (meeting / "A.met").read_text() == "True" and (meeting / "B.met").read_text() == "True"


def test_max_parallel_one_runs_them_one_after_the_other(home: Home, scripts: Path, tmp_path: Path) -> None:
    stamps = [signals(home) / "a.stamp", signals(home) / "b.stamp"]
    doc = definition(
        [
            processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--sleep", "0.3", "--stamp", str(stamps[0])]),
            processing("B", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--sleep", "0.3", "--stamp", str(stamps[1])]),
        ]
    )
    assert Engine(home, max_parallel=1).run(doc, "Serial", {}).status == "Succeeded"
    (a_start, a_end), (b_start, b_end) = (map(float, p.read_text().split()) for p in stamps)
    assert a_end <= b_start or b_end <= a_start


def test_cache_hit_reuses_the_result_and_a_changed_input_misses(engine: Engine, home: Home, scripts: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_text("one")
    runs = signals(home) / "runs.txt"
    doc = definition(
        [
            processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--runs", str(runs)], inputs=[("data", str(data))], cache=True),
            processing("B", scripts / "copy.py", ["--src", "/opt/ml/processing/src", "--out", "/opt/ml/processing/out"], inputs=[("src", out_uri("A"))], cache=True),
        ]
    )
    first = engine.run(doc, "Cached", {})
    second = engine.run(doc, "Cached", {})
    assert [s.cached for s in first.steps] == [False, False]
    assert [s.cached for s in second.steps] == [True, True]
    assert runs.read_text().count("ran") == 1  # the cached run started no job
    records = Records(home)
    steps = records.list_steps(second.execution_id)
    records.close()
    assert all(s["CacheHitResult"]["SourcePipelineExecutionArn"] == first.arn for s in steps)
    (data / "in.txt").write_text("two")  # same URI, new content
    third = engine.run(doc, "Cached", {})
    assert [s.cached for s in third.steps] == [False, False]
    assert runs.read_text().count("ran") == 2


def test_cache_expires(engine: Engine, scripts: Path) -> None:
    step = processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out"], cache=True)
    step["CacheConfig"]["ExpireAfter"] = "PT0S"
    assert engine.run(definition([step]), "Expired", {}).status == "Succeeded"
    again = engine.run(definition([step]), "Expired", {})
    assert [s.cached for s in again.steps] == [False]


def test_cache_miss_when_outputs_were_deleted(engine: Engine, home: Home, scripts: Path) -> None:
    doc = definition([processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out"], cache=True)])
    first = engine.run(doc, "Gone", {})
    import shutil

    shutil.rmtree(home.store / "bucket" / "p" / first.execution_id)
    assert [s.cached for s in engine.run(doc, "Gone", {}).steps] == [False]


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """Python's own SIGINT handler for the test: a process started in the background by a shell
    inherits SIGINT ignored, and then Ctrl-C (and interrupt_main) would do nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_once(started: Path) -> threading.Thread:
    """Ctrl-C for the main thread as soon as the job has written ``started`` (an event, not a delay)."""
    import _thread

    def watch() -> None:
        while not started.exists():
            time.sleep(0.01)
        _thread.interrupt_main()  # what Ctrl-C does

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_stop_ends_running_jobs_and_publishes_nothing(home: Home, scripts: Path, tmp_path: Path, ctrl_c: None) -> None:
    engine = Engine(home, max_parallel=2)
    started, finished = signals(home) / "started", signals(home) / "finished"
    doc = definition(
        [
            processing("Slow", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--started", str(started), "--sleep", "120", "--stamp", str(finished)]),
            processing("After", scripts / "copy.py", ["--src", "/opt/ml/processing/src", "--out", "/opt/ml/processing/out"], inputs=[("src", out_uri("Slow"))]),
        ]
    )
    watcher = interrupt_once(started)
    result = engine.run(doc, "Stopped", {})
    watcher.join()
    assert not finished.exists()  # the job was ended, not waited out
    assert result.status == "Stopped"
    assert [(s.name, s.status) for s in result.steps] == [("Slow", "Stopped")]
    assert not (home.store / "bucket" / "p" / result.execution_id).exists()
    records = Records(home)
    assert records.describe_execution(result.execution_id)["PipelineExecutionStatus"] == "Stopped"
    records.close()


def test_two_executions_at_once_do_not_corrupt_the_store(home: Home, scripts: Path) -> None:
    doc = definition([processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--text", {"Get": "Parameters.Text"}, "--sleep", "0.3"])], parameters=[{"Name": "Text", "Type": "String", "DefaultValue": "x"}])
    results = {}

    def run(text: str) -> None:
        results[text] = Engine(home).run(doc, "Twins", {"Text": text})

    threads = [threading.Thread(target=run, args=(t,)) for t in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for text, result in results.items():
        assert result.status == "Succeeded"
        assert (home.store / "bucket" / "p" / result.execution_id / "A" / "out" / "value.txt").read_text() == text
    with sqlite3.connect(home.database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM executions").fetchone()[0] == 2


def test_missing_reference_fails_before_anything_runs(engine: Engine, home: Home, scripts: Path, events: list) -> None:
    doc = definition(
        [processing("B", scripts / "copy.py", ["--src", "/opt/ml/processing/src", "--out", "/opt/ml/processing/out"], inputs=[("src", out_uri("Nope"))])]
    )
    with pytest.raises(ValidationError) as exc:
        engine.run(doc, "Missing", {})
    assert "/Steps/0/Arguments/ProcessingInputs/0/S3Input/S3Uri: step B: refers to step 'Nope', which is not defined" in str(exc.value)
    assert events == []
    assert not home.database.exists() or Records(home).list_executions() == []


def test_records_answer_in_sagemaker_shapes(engine: Engine, home: Home, scripts: Path) -> None:
    result = engine.run(definition([processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out"])]), "Shapes", {})
    records = Records(home)
    described = records.describe_execution(result.execution_id)
    (step,) = records.list_steps(result.execution_id)
    summaries = records.list_executions()
    records.close()
    assert described["PipelineExecutionArn"] == result.arn
    assert described["PipelineArn"] == "arn:aws:sagemaker:us-east-1:000000000000:pipeline/shapes"
    assert described["PipelineExecutionStatus"] == "Succeeded"
    assert step["StepName"] == "A" and step["StepStatus"] == "Succeeded"
    assert step["Metadata"]["ProcessingJob"]["Arn"].startswith("arn:aws:sagemaker:us-east-1:000000000000:processing-job/pipelines-")
    assert summaries[0]["PipelineExecutionArn"] == result.arn
    json.dumps(described)


def test_a_request_a_store_refuses_fails_the_step_with_sagemakers_code(home: Home) -> None:
    """Handlers let the stores' refusals rise; the step fails with the code SageMaker answers with."""
    step = {"Name": "Serve", "Type": "Endpoint", "Arguments": {"EndpointName": "e", "EndpointConfigName": "missing-config"}}
    result = Engine(home).run(definition([step]), "Refused", {})
    assert result.status == "Failed"
    assert result.failure_reason == "Step Serve failed: ValidationException: Could not find endpoint configuration 'missing-config'"


def test_nothing_new_starts_once_a_step_has_failed(home: Home, scripts: Path, tmp_path: Path) -> None:
    # Three independent steps, one at a time: A fails first, so B and C (waiting for a free slot,
    # not for A) never start, as on SageMaker, where a failure stops the execution's scheduling.
    runs = signals(home) / "runs.txt"
    doc = definition(
        [
            processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--fail"]),
            processing("B", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--runs", str(runs)]),
            processing("C", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--runs", str(runs)]),
        ]
    )
    result = Engine(home, max_parallel=1).run(doc, "StopOnFailure", {})
    assert result.status == "Failed" and result.failure_reason.startswith("Step A failed:")
    assert [s.name for s in result.steps] == ["A"]
    assert not runs.exists()
    with Records(home) as records:
        assert [s["StepName"] for s in records.list_steps(result.execution_id)] == ["A"]
