"""Executions and their steps, recorded durably in SQLite under ``MLOPS_HOME``.

Answers in SageMaker's shapes: DescribePipelineExecution, ListPipelineExecutions summaries and
ListPipelineExecutionSteps, so scripts written against the API read local records unchanged.
Several processes may record at once (WAL mode, a busy timeout); each write is one short
transaction.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from pipelines.core.errors import NotFound
from pipelines.engine import runner
from pipelines.local.database import Database, now
from pipelines.local.home import Home

SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    pipeline_name TEXT NOT NULL,
    display_name TEXT,
    description TEXT,
    status TEXT NOT NULL,
    failure_reason TEXT,
    parameters TEXT NOT NULL,
    definition TEXT NOT NULL,
    created TEXT NOT NULL,
    ended TEXT,
    runner TEXT,
    selective TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    execution_id TEXT NOT NULL REFERENCES executions(id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    started TEXT,
    ended TEXT,
    failure_reason TEXT,
    arguments TEXT,
    properties TEXT,
    job_name TEXT,
    log_path TEXT,
    cache_key TEXT,
    cache_source_arn TEXT,
    metadata TEXT,
    attempts INTEGER,
    selective_source_arn TEXT,
    PRIMARY KEY (execution_id, name)
);
CREATE INDEX IF NOT EXISTS steps_cache ON steps(cache_key, status);
"""


ABANDONED = "the process running it (pid {pid}) ended before the execution did (killed, or the machine stopped)"


class Records(Database):
    """Executions and steps. Reading them first settles executions whose runner died: an
    execution is never left ``Executing`` with nobody running it (see ``runner.py``)."""

    def __init__(self, home: Home) -> None:
        super().__init__(home.database, SCHEMA)
        added = (("executions", "runner"), ("steps", "metadata"), ("steps", "attempts"), ("executions", "selective"), ("steps", "selective_source_arn"))
        for table, column in added:  # a home from before they were recorded
            if column not in {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}:
                try:
                    with self._write() as db:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):  # another process added it meanwhile
                        raise

    def settle_abandoned(self) -> list[str]:
        """Mark Failed every Executing execution whose runner is gone, and its unfinished steps."""
        settled = []
        for row in self._db.execute("SELECT id, runner FROM executions WHERE status='Executing'").fetchall():
            if runner.alive(row["runner"]):
                continue
            pid = (row["runner"] or "?:?").split(":")[1]
            reason = ABANDONED.format(pid=pid)
            with self._write() as db:
                changed = db.execute("UPDATE executions SET status='Failed', failure_reason=?, ended=? WHERE id=? AND status='Executing'", (reason, now(), row["id"])).rowcount
                db.execute("UPDATE steps SET status='Failed', failure_reason=?, ended=? WHERE execution_id=? AND status IN ('Executing', 'Starting')", (reason, now(), row["id"]))
            if changed:
                settled.append(row["id"])
        return settled

    # -- executions -------------------------------------------------------------------------
    def create_execution(
        self, execution_id: str, arn: str, pipeline_name: str, display_name: str | None, description: str | None, parameters: dict[str, Any], definition: dict[str, Any],
        selective: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """A new Executing execution, run by this process (``selective``: its SelectiveExecutionConfig)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO executions (id, arn, pipeline_name, display_name, description, status, parameters, definition, created, runner, selective) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (execution_id, arn, pipeline_name, display_name, description, "Executing", json.dumps(parameters), json.dumps(definition), now(), runner.identity(),
                 json.dumps(selective) if selective else None),
            )  # fmt: skip

    def adopt_execution(self, execution_id: str) -> None:
        """This process runs an execution recorded by another (the local AWS endpoint's
        StartPipelineExecution, which records it before it starts the runner)."""
        with self._write() as db:
            db.execute("UPDATE executions SET runner=? WHERE id=?", (runner.identity(), execution_id))

    def runner_of(self, execution_id: str) -> str | None:
        """The identity of the process that runs the execution (``runner.identity``)."""
        row = self._db.execute("SELECT runner FROM executions WHERE id=?", (execution_id,)).fetchone()
        return str(row["runner"]) if row and row["runner"] else None

    def status_of(self, execution_id: str) -> str | None:
        """The execution's status, or None for one not recorded here."""
        row = self._db.execute("SELECT status FROM executions WHERE id=?", (execution_id,)).fetchone()
        return str(row["status"]) if row else None

    def pipeline_of(self, execution_id: str) -> str:
        row = self._db.execute("SELECT pipeline_name FROM executions WHERE id=? OR arn=?", (execution_id, execution_id)).fetchone()
        if row is None:
            raise NotFound(f"no execution {execution_id!r} under {self.path.parent}")
        return str(row["pipeline_name"])

    def step_rows(self, execution_id: str) -> dict[str, dict[str, Any]]:
        """Each step of an execution: its status, properties and metadata, by name."""
        rows = self._db.execute("SELECT name, type, status, properties, metadata FROM steps WHERE execution_id=?", (execution_id,)).fetchall()
        return {r["name"]: {"status": r["status"], "type": r["type"], "properties": json.loads(r["properties"]) if r["properties"] else {}, "metadata": json.loads(r["metadata"]) if r["metadata"] else {}} for r in rows}

    def end_execution(self, execution_id: str, status: str, failure_reason: str | None) -> None:
        with self._write() as db:
            db.execute("UPDATE executions SET status=?, failure_reason=?, ended=? WHERE id=?", (status, failure_reason, now(), execution_id))
            if status != "Succeeded":  # nothing is left Executing under an execution that ended
                db.execute("UPDATE steps SET status=?, failure_reason=COALESCE(failure_reason, ?), ended=? WHERE execution_id=? AND status='Executing'", (status, failure_reason, now(), execution_id))

    def describe_execution(self, execution_id: str) -> dict[str, Any]:
        """DescribePipelineExecution's shape (plus the parameters)."""
        self.settle_abandoned()
        row = self._db.execute("SELECT * FROM executions WHERE id=? OR arn=?", (execution_id, execution_id)).fetchone()
        if row is None:
            raise NotFound(f"no execution {execution_id!r} under {self.path.parent}")
        return _execution(row)

    def list_executions(self, limit: int = 20, pipeline: str | None = None) -> list[dict[str, Any]]:
        """ListPipelineExecutions summaries, newest first (of ``pipeline`` only, when given)."""
        self.settle_abandoned()
        rows = self._db.execute("SELECT * FROM executions WHERE ? IS NULL OR pipeline_name=? ORDER BY created DESC LIMIT ?", (pipeline, pipeline, limit)).fetchall()
        summaries = [
            {
                "PipelineExecutionArn": row["arn"],
                "PipelineExecutionDisplayName": row["display_name"],
                "PipelineExecutionDescription": row["description"],
                "PipelineExecutionStatus": row["status"],
                "StartTime": row["created"],
                "PipelineExecutionFailureReason": row["failure_reason"],
            }
            for row in rows
        ]
        return [{key: value for key, value in summary.items() if value is not None} for summary in summaries]  # absent, not null

    def definition_of(self, execution_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT definition FROM executions WHERE id=?", (execution_id,)).fetchone()
        return json.loads(row["definition"])

    # -- steps ------------------------------------------------------------------------------
    def start_step(self, execution_id: str, name: str, step_type: str, status: str, job_name: str | None = None, log_path: Path | None = None) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO steps (execution_id, name, type, status, started, job_name, log_path) VALUES (?,?,?,?,?,?,?)",
                (execution_id, name, step_type, status, now(), job_name, str(log_path) if log_path else None),
            )

    def update_step(self, execution_id: str, name: str, **fields: Any) -> None:
        allowed = {"status", "failure_reason", "arguments", "properties", "cache_key", "cache_source_arn", "ended", "metadata", "attempts", "selective_source_arn"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown step fields {unknown}")
        values = {k: json.dumps(v) if k in ("arguments", "properties", "metadata") else v for k, v in fields.items()}
        assignments = ", ".join(f"{k}=?" for k in values)
        with self._write() as db:
            db.execute(f"UPDATE steps SET {assignments} WHERE execution_id=? AND name=?", (*values.values(), execution_id, name))

    def list_steps(self, execution_id: str) -> list[dict[str, Any]]:
        """ListPipelineExecutionSteps' shape, newest first as the API lists them."""
        rows = self._db.execute("SELECT * FROM steps WHERE execution_id=? ORDER BY started DESC, rowid DESC", (execution_id,)).fetchall()
        return [_step(row) for row in rows]

    def step_arguments(self, execution_id: str, name: str) -> dict[str, Any] | None:
        """The step's Arguments as they were resolved for this execution (what its job or call was given)."""
        row = self._db.execute("SELECT arguments FROM steps WHERE execution_id=? AND name=?", (execution_id, name)).fetchone()
        return json.loads(row["arguments"]) if row and row["arguments"] else None

    def step_properties(self, execution_id: str, name: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT properties FROM steps WHERE execution_id=? AND name=?", (execution_id, name)).fetchone()
        return json.loads(row["properties"]) if row and row["properties"] else None

    def jobs(self, step_types: tuple[str, ...], name: str | None = None) -> list[dict[str, Any]]:
        """The jobs steps of ``step_types`` ran (each run's job name, status, times, resolved
        arguments and properties), newest first; only the one named ``name`` when given."""
        marks = ",".join("?" for _ in step_types)
        rows = self._db.execute(
            f"SELECT * FROM steps WHERE job_name IS NOT NULL AND type IN ({marks}) AND (? IS NULL OR job_name=?) ORDER BY started DESC, rowid DESC",
            (*step_types, name, name),
        ).fetchall()
        return [
            {
                "name": row["job_name"], "step": row["name"], "type": row["type"], "status": row["status"], "started": row["started"], "ended": row["ended"],
                "failure_reason": row["failure_reason"], "arguments": json.loads(row["arguments"]) if row["arguments"] else {},
                "properties": json.loads(row["properties"]) if row["properties"] else {}, "cached": bool(row["cache_source_arn"]),
            }
            for row in rows
        ]  # fmt: skip

    def cached(self, cache_key: str, not_before: str) -> tuple[str, dict[str, Any]] | None:
        """The newest Succeeded step run with ``cache_key`` that started at or after ``not_before``."""
        row = self._db.execute(
            "SELECT s.properties, e.arn FROM steps s JOIN executions e ON e.id = s.execution_id "
            "WHERE s.cache_key=? AND s.status='Succeeded' AND s.started>=? ORDER BY s.started DESC LIMIT 1",
            (cache_key, not_before),
        ).fetchone()
        return (row["arn"], json.loads(row["properties"])) if row else None


def _execution(row: sqlite3.Row) -> dict[str, Any]:
    described = {
        "PipelineArn": row["arn"].rsplit("/execution/", 1)[0],
        "PipelineExecutionArn": row["arn"],
        "PipelineExecutionDisplayName": row["display_name"],
        "PipelineExecutionStatus": row["status"],
        "PipelineExecutionDescription": row["description"],
        "CreationTime": row["created"],
        "LastModifiedTime": row["ended"] or row["created"],
        "PipelineParameters": [{"Name": k, "Value": str(v)} for k, v in json.loads(row["parameters"]).items()],
    }
    if row["failure_reason"]:
        described["FailureReason"] = row["failure_reason"]
    if row["selective"]:
        described["SelectiveExecutionConfig"] = json.loads(row["selective"])
    return {k: v for k, v in described.items() if v is not None}


def _step(row: sqlite3.Row) -> dict[str, Any]:
    step: dict[str, Any] = {
        "StepName": row["name"],
        "StepType": row["type"],
        "StepStatus": row["status"],
        "StartTime": row["started"],
        "EndTime": row["ended"],
        "FailureReason": row["failure_reason"],
        "LogPath": row["log_path"],
        "AttemptCount": row["attempts"],
    }
    metadata = json.loads(row["metadata"]) if row["metadata"] else {}
    if metadata:
        step["Metadata"] = metadata  # what the step's handler said (botocore's PipelineExecutionStepMetadata)
    if row["cache_source_arn"]:
        step["CacheHitResult"] = {"SourcePipelineExecutionArn": row["cache_source_arn"]}
    if row["selective_source_arn"]:
        step["SelectiveExecutionResult"] = {"SourcePipelineExecutionArn": row["selective_source_arn"]}
    return {k: v for k, v in step.items() if v is not None}
