"""An execution never stays Executing with nobody running it, and its jobs die with their runner."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from pipelines.engine import runner
from pipelines.engine.records import Records
from pipelines.local.home import Home
from tests.helpers.engine_defs import definition, processing, signals

ROOT = Path(__file__).resolve().parents[3]


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_for(condition, what: str, process: subprocess.Popen | None = None) -> None:  # type: ignore[no-untyped-def]
    """Wait on an event (pytest-timeout bounds the wait, not the machine's speed)."""
    while not condition():
        if process is not None and process.poll() is not None and not condition():
            raise AssertionError(f"the runner ended (code {process.returncode}) before {what}: {process.stderr.read() if process.stderr else ''}")
        threading.Event().wait(0.02)


def slow_run(home: Home, scripts: Path, tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    """``mlops run --file`` of a definition whose one job runs two minutes, in its own process."""
    started, finished = signals(home) / "started", signals(home) / "finished"
    doc = definition([processing("Slow", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--started", str(started), "--sleep", "120", "--stamp", str(finished)])])
    (tmp_path / "slow.json").write_text(json.dumps(doc))
    command = [sys.executable, "-m", "pipelines.cli.main", "--home", str(home.root), "run", "--file", str(tmp_path / "slow.json"), "--json"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(started.exists, "the job started", process)
    return process, started, finished


def test_sigterm_ends_the_execution_stopped_like_ctrl_c(home: Home, scripts: Path, tmp_path: Path) -> None:
    process, started, finished = slow_run(home, scripts, tmp_path)
    job = int(started.read_text())
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate()
    assert process.returncode != 0
    result = json.loads(out)
    assert result["PipelineExecutionStatus"] == "Stopped" and result["FailureReason"] == "Stopped: the runner received SIGTERM"
    assert [(s["StepName"], s["StepStatus"]) for s in result["Steps"]] == [("Slow", "Stopped")]
    assert not running(job) and not finished.exists()


def test_a_killed_runner_takes_its_job_with_it_and_the_execution_is_marked(home: Home, scripts: Path, tmp_path: Path) -> None:
    process, started, finished = slow_run(home, scripts, tmp_path)
    job = int(started.read_text())
    process.kill()  # kill -9: no handler runs
    process.communicate()
    wait_for(lambda: not running(job), "the job ended")  # its guard saw the runner go
    assert not finished.exists()
    records = Records(home)
    try:
        (summary,) = records.list_executions()
        assert summary["PipelineExecutionStatus"] == "Failed"
        assert summary["PipelineExecutionFailureReason"] == f"the process running it (pid {process.pid}) ended before the execution did (killed, or the machine stopped)"
        steps = records.list_steps(summary["PipelineExecutionArn"].rsplit("/", 1)[1])
        assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("Slow", "Failed")]
    finally:
        records.close()


def test_an_execution_still_running_is_left_alone(home: Home, scripts: Path, tmp_path: Path) -> None:
    process, _, _ = slow_run(home, scripts, tmp_path)
    try:
        records = Records(home)
        try:
            assert [s["PipelineExecutionStatus"] for s in records.list_executions()] == ["Executing"]
        finally:
            records.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate()


def test_a_home_from_before_runners_were_recorded_is_settled(tmp_path: Path) -> None:
    path = tmp_path / "mlops.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE executions (id TEXT PRIMARY KEY, arn TEXT NOT NULL, pipeline_name TEXT NOT NULL, display_name TEXT, description TEXT, status TEXT NOT NULL,"
        " failure_reason TEXT, parameters TEXT NOT NULL, definition TEXT NOT NULL, created TEXT NOT NULL, ended TEXT);"
        "INSERT INTO executions VALUES ('old', 'arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/old', 'p', NULL, NULL, 'Executing', NULL, '{}', '{}', '2026-11-01T00:00:00+00:00', NULL);"
    )
    db.close()
    records = Records(Home.resolve(tmp_path))
    try:
        assert records.describe_execution("old")["PipelineExecutionStatus"] == "Failed"
    finally:
        records.close()


def test_runner_identity_tells_a_dead_or_reused_pid_from_the_runner() -> None:
    assert runner.alive(runner.identity())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = runner.identity(child.pid)
    child.wait()
    assert not runner.alive(identity)
    host, pid, boot, start = runner.identity().rsplit(":", 3)
    assert not runner.alive(f"{host}:{pid}:{boot}:{int(start) + 1}")  # same pid, another process
    assert runner.alive(f"another-host:{pid}:{boot}:{start}")  # not this machine's to judge
    assert not runner.alive(None)


def test_a_job_whose_program_cannot_start_fails_as_a_client_error(tmp_path: Path, scripts: Path) -> None:
    from pipelines.engine.orchestrator import Engine
    from tests.helpers.engine_defs import SKLEARN_IMAGE

    home = Home.resolve(tmp_path / "other-home")
    home.images.write_text(json.dumps({SKLEARN_IMAGE: {"python3": "/nonexistent/bin/python3"}}))
    result = Engine(home).run(definition([processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out"])]), "Missing", {})
    assert result.status == "Failed"
    assert result.failure_reason == "Step A failed: ClientError: cannot start /nonexistent/bin/python3: No such file or directory"


def test_a_full_disk_under_the_records_stops_the_jobs_and_ends_the_execution(home: Home, scripts: Path, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The records fail mid-run (SQLite's 'database or disk is full' when step B ends): the running
    job A is stopped rather than waited out, the execution ends Failed, the CLI says so in one line."""
    from pipelines.cli import main as mlops

    started, finished = signals(home) / "started", signals(home) / "finished"
    slow = processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--started", str(started), "--sleep", "120", "--stamp", str(finished)])
    quick = processing("B", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--meet", str(signals(home)), "--name", "B"])
    slow["Arguments"]["AppSpecification"]["ContainerArguments"] += ["--meet", str(signals(home)), "--name", "A"]  # B ends while A runs
    (tmp_path / "full.json").write_text(json.dumps(definition([slow, quick])))
    original = Records.update_step

    def full_disk(self, execution_id, name, **fields):  # type: ignore[no-untyped-def]
        if name == "B" and "status" in fields:
            raise sqlite3.OperationalError("database or disk is full")
        return original(self, execution_id, name, **fields)

    monkeypatch.setattr(Records, "update_step", full_disk)
    assert mlops.main(["--home", str(home.root), "run", "--file", str(tmp_path / "full.json")]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith("disk full: database or disk is full; free some space")
    assert not finished.exists()  # A was stopped, not waited out
    records = Records(home)
    try:
        (summary,) = records.list_executions()
        assert summary["PipelineExecutionStatus"] == "Failed" and summary["PipelineExecutionFailureReason"] == "OperationalError: database or disk is full"
    finally:
        records.close()


def test_a_full_disk_under_a_steps_outputs_is_the_steps_reason_and_leaves_no_partial_object(home: Home, scripts: Path) -> None:
    """The store fills while a job's output is copied in: the step says 'disk full' (as the CLI
    and the README do), not InternalError, and no temporary file is left beside the objects."""
    import pytest

    from pipelines.engine.orchestrator import Engine

    bucket = home.store / "bucket"
    bucket.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(bucket)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (root, as CI runs): {mounted.stderr.strip()}")
    try:
        big = processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out", "--text", "x" * 100_000])
        result = Engine(home).run(definition([big]), "Full", {})
        assert result.status == "Failed"
        assert result.failure_reason.startswith("Step A failed: disk full: [Errno 28] No space left on device") and "InternalError" not in result.failure_reason
        assert result.failure_reason.endswith("free some space where MLOPS_HOME is and run again")
        assert [p.name for p in bucket.rglob("*") if p.is_file()] == []  # nothing half-written, no .value.txt.* left
    finally:
        subprocess.run(["umount", "-l", str(bucket)], check=True)


def test_the_next_run_removes_the_sandboxes_a_killed_runner_left(home: Home, scripts: Path) -> None:
    from pipelines.engine.orchestrator import Engine

    with Records(home) as records:  # an execution whose runner lives (this process): its sandbox stays
        records.create_execution("live00000000", "arn:live", "P", None, None, {}, {"Steps": []})
    stale, live, other = (home.jobs / name for name in ("pipelines-dead00000000-train-abc123", "pipelines-live00000000-train-abc123", "not-a-job"))
    for folder in (stale, live, other):
        (folder / "opt" / "ml").mkdir(parents=True)
    assert Engine(home).run(definition([processing("A", scripts / "write.py", ["--out", "/opt/ml/processing/out"])]), "Tiny", {}).status == "Succeeded"
    assert not stale.exists() and live.is_dir() and other.is_dir()
