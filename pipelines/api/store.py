"""What the local AWS endpoint keeps beside the other stores (``api.db``): pipelines as
CreatePipeline makes them, tags on any ARN, and the ClientRequestTokens of started executions
(StartPipelineExecution with a token already used answers the same execution, as SageMaker does).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pipelines.core.errors import NotFound, UsageError
from pipelines.local.database import Database, now
from pipelines.local.home import Home

SCHEMA = """
CREATE TABLE IF NOT EXISTS pipelines (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, display_name TEXT, description TEXT, definition TEXT NOT NULL,
    role TEXT, parallelism TEXT, created TEXT NOT NULL, modified TEXT NOT NULL, last_run TEXT
);
CREATE TABLE IF NOT EXISTS tags (arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (arn, key));
CREATE TABLE IF NOT EXISTS tokens (pipeline TEXT NOT NULL, token TEXT NOT NULL, execution_arn TEXT NOT NULL, PRIMARY KEY (pipeline, token));
"""
ALREADY_EXISTS = "Pipeline names must be unique within an AWS account and region. Pipeline with name ({name}) already exists."


class ApiStore(Database):
    def __init__(self, home: Home) -> None:
        self.home = home
        super().__init__(home.api_db, SCHEMA)

    # -- pipelines --------------------------------------------------------------------------
    def create_pipeline(self, name: str, definition: str, role: str | None, display_name: str | None, description: str | None, parallelism: dict[str, Any] | None) -> str:
        arn = self.home.arn("pipeline", name.lower())
        stamp = now()
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO pipelines (name, arn, display_name, description, definition, role, parallelism, created, modified) VALUES (?,?,?,?,?,?,?,?,?)",
                    (name, arn, display_name or name, description, definition, role, json.dumps(parallelism) if parallelism else None, stamp, stamp),
                )
        except sqlite3.IntegrityError:
            # The SDKs' upsert recognises SageMaker's own words for it, then updates.
            raise UsageError(ALREADY_EXISTS.format(name=name), aws_code="ValidationException") from None
        return arn

    def update_pipeline(self, name: str, **fields: Any) -> str:
        row = self._row(name)
        columns = {"definition": "definition", "role": "role", "display_name": "display_name", "description": "description", "parallelism": "parallelism"}
        changes = {columns[k]: (json.dumps(v) if k == "parallelism" else v) for k, v in fields.items() if v is not None}
        if changes:
            assignments = ", ".join(f"{column}=?" for column in changes)
            with self._write() as db:
                db.execute(f"UPDATE pipelines SET {assignments}, modified=? WHERE name=?", (*changes.values(), now(), row["name"]))
        return str(row["arn"])

    def pipeline(self, name_or_arn: str) -> dict[str, Any]:
        row = dict(self._row(name_or_arn))
        row["parallelism"] = json.loads(row["parallelism"]) if row["parallelism"] else None
        return row

    def _row(self, name_or_arn: str) -> sqlite3.Row:
        name = name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        row = self._db.execute("SELECT * FROM pipelines WHERE name=? OR lower(name)=lower(?)", (name, name)).fetchone()
        if row is None:
            raise NotFound(f"Pipeline '{self.home.arn('pipeline', name.lower())}' does not exist.")
        return row

    def pipelines(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self._db.execute("SELECT * FROM pipelines ORDER BY created").fetchall()]

    def delete_pipeline(self, name: str) -> str:
        row = self._row(name)
        with self._write() as db:
            db.execute("DELETE FROM pipelines WHERE name=?", (row["name"],))
            db.execute("DELETE FROM tags WHERE arn=?", (row["arn"],))
        return str(row["arn"])

    def ran(self, name: str) -> None:
        with self._write() as db:
            db.execute("UPDATE pipelines SET last_run=? WHERE name=?", (now(), name))

    # -- request tokens ---------------------------------------------------------------------
    def execution_for_token(self, pipeline: str, token: str) -> str | None:
        row = self._db.execute("SELECT execution_arn FROM tokens WHERE pipeline=? AND token=?", (pipeline, token)).fetchone()
        return str(row["execution_arn"]) if row else None

    def remember_token(self, pipeline: str, token: str, execution_arn: str) -> None:
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO tokens (pipeline, token, execution_arn) VALUES (?,?,?)", (pipeline, token, execution_arn))

    # -- tags -------------------------------------------------------------------------------
    def add_tags(self, arn: str, tags: list[dict[str, str]]) -> None:
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO tags (arn, key, value) VALUES (?,?,?)", [(arn, t["Key"], t["Value"]) for t in tags])

    def tags(self, arn: str) -> list[dict[str, str]]:
        return [{"Key": r["key"], "Value": r["value"]} for r in self._db.execute("SELECT key, value FROM tags WHERE arn=? ORDER BY key", (arn,)).fetchall()]

    def delete_tags(self, arn: str, keys: list[str]) -> None:
        with self._write() as db:
            db.executemany("DELETE FROM tags WHERE arn=? AND key=?", [(arn, k) for k in keys])
