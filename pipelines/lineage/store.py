"""The lineage store: SageMaker's ML lineage model, in SQLite under ``MLOPS_HOME``.

    artifacts     data sets, code, images, models, model packages, baselines, reports, commits:
                  each with its source URI and the sha256 of its content (when it has one)
    trial components  processing, training and transform jobs (quality checks are processing
                  jobs), as SageMaker records every job: ``experiment-trial-component/<job>-aws-processing-job``
    actions       registration, approval, deployment, tuning, monitoring executions
    contexts      pipelines, pipeline executions, endpoints, model package groups
    associations  typed edges: ContributedTo, AssociatedWith, DerivedFrom, Produced

Entities are found again by what identifies them (an artifact by its URI and digest, an
action or a context by its name), so recording twice records once. ARNs follow SageMaker's
(``arn:aws:sagemaker:REGION:ACCOUNT:artifact/…``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from pipelines.local.database import Database, now
from pipelines.local.home import Home

ASSOCIATION_TYPES = ("ContributedTo", "AssociatedWith", "DerivedFrom", "Produced")
GROUPING_CONTEXTS = ("Pipeline", "ModelPackageGroup")
JOB_SUFFIXES = {"ProcessingJob": "processing-job", "TrainingJob": "training-job", "TransformJob": "transform-job"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    arn TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
    source_uri TEXT, digest TEXT, status TEXT, properties TEXT NOT NULL, created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_identity ON entities(kind, type, source_uri, digest);
CREATE INDEX IF NOT EXISTS entities_name ON entities(kind, name);
CREATE TABLE IF NOT EXISTS associations (
    source TEXT NOT NULL, destination TEXT NOT NULL, type TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (source, destination, type)
);
CREATE INDEX IF NOT EXISTS associations_destination ON associations(destination);
"""


class LineageStore(Database):
    def __init__(self, home: Home) -> None:
        self.home = home
        super().__init__(home.lineage_db, SCHEMA)

    def _arn(self, kind: str, *identity: Any) -> str:
        key = hashlib.sha256(json.dumps([kind, *identity], default=str).encode()).hexdigest()[:32]
        return self.home.arn(kind, key)

    # -- recording --------------------------------------------------------------------------
    def artifact(self, type: str, source_uri: str, digest: str | None = None, name: str | None = None, properties: dict[str, Any] | None = None) -> str:
        """An artifact, found by its URI and digest (a new digest is a new artifact); its type and
        name are those it was first recorded with (a job's output keeps its producer's name)."""
        arn = self._arn("artifact", source_uri, digest or "")
        self._upsert(arn, "artifact", name or source_uri.rstrip("/").rsplit("/", 1)[-1], type, source_uri, digest, None, properties)
        return arn

    def action(self, type: str, name: str, status: str | None = None, source_uri: str | None = None, properties: dict[str, Any] | None = None) -> str:
        arn = self._arn("action", type, name)
        self._upsert(arn, "action", name, type, source_uri, None, status, properties)
        return arn

    def trial_component(self, type: str, job: str, status: str | None = None, source_uri: str | None = None, properties: dict[str, Any] | None = None) -> str:
        """A job of ``type`` (ProcessingJob, TrainingJob, TransformJob), named as SageMaker names
        its trial component: the job's name and ``-aws-processing-job`` (and so on)."""
        name = f"{job}-aws-{JOB_SUFFIXES[type]}"
        arn = self.home.arn("experiment-trial-component", name.lower())
        self._upsert(arn, "trial-component", name, type, source_uri, None, status, properties)
        return arn

    def context(self, type: str, name: str, source_uri: str | None = None, properties: dict[str, Any] | None = None, status: str | None = None) -> str:
        arn = self._arn("context", type, name)
        self._upsert(arn, "context", name, type, source_uri, None, status, properties)
        return arn

    def _upsert(self, arn: str, kind: str, name: str, type: str, source_uri: str | None, digest: str | None, status: str | None, properties: dict[str, Any] | None) -> None:
        with self._write() as db:
            row = db.execute("SELECT properties FROM entities WHERE arn=?", (arn,)).fetchone()
            if row is None:
                db.execute("INSERT INTO entities VALUES (?,?,?,?,?,?,?,?,?)", (arn, kind, name, type, source_uri, digest, status, json.dumps(properties or {}, default=str), now()))
            else:
                merged = {**json.loads(row["properties"]), **(properties or {})}
                db.execute("UPDATE entities SET status=COALESCE(?, status), properties=? WHERE arn=?", (status, json.dumps(merged, default=str), arn))

    def associate(self, source: str, destination: str, type: str) -> None:
        if type not in ASSOCIATION_TYPES:
            raise ValueError(f"association type {type!r}; known: {', '.join(ASSOCIATION_TYPES)}")
        if source == destination:
            return
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO associations VALUES (?,?,?,?)", (source, destination, type, now()))

    # -- reading ----------------------------------------------------------------------------
    def entity(self, arn: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM entities WHERE arn=?", (arn,)).fetchone()
        return _entity(row) if row else None

    def find(self, kind: str | None = None, type: str | None = None, name: str | None = None, source_uri: str | None = None) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM entities WHERE (? IS NULL OR kind=?) AND (? IS NULL OR type=?) AND (? IS NULL OR name=?) AND (? IS NULL OR source_uri=?) ORDER BY created",
            (kind, kind, type, type, name, name, source_uri, source_uri),
        ).fetchall()
        return [_entity(r) for r in rows]

    def upstream(self, arn: str) -> list[dict[str, Any]]:
        """Associations pointing at ``arn`` (its inputs and what it is derived from)."""
        return [dict(r) for r in self._db.execute("SELECT * FROM associations WHERE destination=?", (arn,)).fetchall()]

    def downstream(self, arn: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._db.execute("SELECT * FROM associations WHERE source=?", (arn,)).fetchall()]

    def walk(self, start: str, direction: str, limit: int = 2000) -> list[str]:
        """Every entity reachable from ``start`` going ``up`` (towards what it came from) or
        ``down`` (towards what came of it), nearest first.

        Going up, a job (or an action) also leads to the pipeline execution it is AssociatedWith (and so to
        the commit that started it); grouping contexts (a pipeline, a package group) are reached
        but not walked through, or every execution of the pipeline would join in.
        """
        seen, queue, order = {start}, [start], [start]
        while queue and len(order) < limit:
            current = queue.pop(0)
            entity = self.entity(current)
            if entity and entity["Kind"] == "context" and entity["Type"] in GROUPING_CONTEXTS and current != start:
                continue
            if direction == "up":
                neighbours = [e["source"] for e in self.upstream(current)]
                neighbours += [e["destination"] for e in self.downstream(current) if e["type"] == "AssociatedWith"]
            else:
                neighbours = [e["destination"] for e in self.downstream(current) if e["type"] != "AssociatedWith"]
                if entity and entity["Type"] == "PipelineExecution":
                    neighbours += [e["source"] for e in self.upstream(current) if e["type"] == "AssociatedWith"]  # its jobs
            for other in neighbours:
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
                    order.append(other)
        return order

    def edges_among(self, arns: set[str]) -> list[dict[str, Any]]:
        if not arns:
            return []
        marks = ",".join("?" * len(arns))
        rows = self._db.execute(f"SELECT * FROM associations WHERE source IN ({marks}) AND destination IN ({marks})", (*arns, *arns)).fetchall()
        return [dict(r) for r in rows]


def _entity(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "Arn": row["arn"],
        "Kind": row["kind"],
        "Name": row["name"],
        "Type": row["type"],
        "SourceUri": row["source_uri"],
        "Digest": row["digest"],
        "Status": row["status"],
        "Properties": json.loads(row["properties"]),
        "CreationTime": row["created"],
    }
