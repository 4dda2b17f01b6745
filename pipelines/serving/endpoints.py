"""Models, endpoint configs and endpoints, as SageMaker keeps them, under ``MLOPS_HOME``.

``serving.db`` (SQLite) holds what CreateModel, CreateEndpointConfig, CreateEndpoint and
UpdateEndpoint were given, and answers Describe* in SageMaker's shapes. A ``generation``
counter moves on every change, so a running server notices deployments and swaps models.
Activating an endpoint on a new config checks that its model loads first: if it does not, the
endpoint keeps serving its previous config (InService, with the reason), or is Failed when it
had none.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from pipelines.core import shapes
from pipelines.core.errors import AlreadyExists, NotFound, UsageError
from pipelines.local.database import Database, now
from pipelines.local.home import Home

_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (name TEXT PRIMARY KEY, document TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoint_configs (name TEXT PRIMARY KEY, document TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY, config TEXT, status TEXT NOT NULL, failure_reason TEXT,
    created TEXT NOT NULL, modified TEXT NOT NULL, tags TEXT
);
CREATE TABLE IF NOT EXISTS endpoint_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, endpoint TEXT NOT NULL, time TEXT NOT NULL, event TEXT NOT NULL, detail TEXT
);
CREATE TABLE IF NOT EXISTS generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO generation (id, value) VALUES (1, 0);
"""


def check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(f"{kind} name {name!r}: 1-63 letters, digits and hyphens, as SageMaker allows")


class EndpointStore(Database):
    def __init__(self, home: Home) -> None:
        self.home = home
        super().__init__(home.serving_db, SCHEMA)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with super()._write() as db:
            yield db
            db.execute("UPDATE generation SET value = value + 1 WHERE id = 1")

    def generation(self) -> int:
        return int(self._db.execute("SELECT value FROM generation WHERE id = 1").fetchone()["value"])

    def arn(self, kind: str, name: str) -> str:
        return self.home.arn(kind, name.lower())

    # -- models -----------------------------------------------------------------------------
    def create_model(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        check_name("model", name)
        container = request.get("PrimaryContainer") or (request.get("Containers") or [None])[0]
        if not container or not container.get("ModelDataUrl"):
            raise UsageError(f"model {name}: PrimaryContainer.ModelDataUrl is required")
        problem = shapes.uri_problem(container["ModelDataUrl"], "Url")  # ModelDataUrl's shape
        if problem:
            raise UsageError(f"model {name}: PrimaryContainer.ModelDataUrl: {problem}")
        document = {"ModelName": name, "PrimaryContainer": container, "ExecutionRoleArn": request.get("ExecutionRoleArn"), "ModelArn": self.arn("model", name)}
        try:
            with self._write() as db:
                db.execute("INSERT INTO models VALUES (?,?,?)", (name, json.dumps(document), now()))
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"Cannot create already existing model {name!r}", aws_code="ValidationException") from exc
        return self.describe_model(name)

    def describe_model(self, name: str) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM models WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"Could not find model {name!r}", aws_code="ValidationException")  # SageMaker's words and code
        return {**json.loads(row["document"]), "CreationTime": row["created"]}

    def _served_by(self, config: str | None = None, model: str | None = None) -> str | None:
        """The endpoint whose live config is ``config`` or serves ``model``, if any."""
        for row in self._db.execute("SELECT name, config FROM endpoints WHERE config IS NOT NULL").fetchall():
            if row["config"] == config:
                return str(row["name"])
            if model is not None and any(v.get("ModelName") == model for v in self.describe_endpoint_config(row["config"])["ProductionVariants"]):
                return str(row["name"])
        return None

    def delete_model(self, name: str) -> None:
        """DeleteModel; refused while an endpoint serves it (SageMaker lets the endpoint go on
        serving; the local server reads the model from here whenever it starts)."""
        self.describe_model(name)
        endpoint = self._served_by(model=name)
        if endpoint:
            raise UsageError(f"model {name} is served by endpoint {endpoint}; update or delete the endpoint first (the local twin's server reads the model from its record)")
        with self._write() as db:
            db.execute("DELETE FROM models WHERE name=?", (name,))

    # -- endpoint configs -------------------------------------------------------------------
    def delete_endpoint_config(self, name: str) -> None:
        """DeleteEndpointConfig; refused while an endpoint serves it (as for DeleteModel)."""
        self.describe_endpoint_config(name)
        endpoint = self._served_by(config=name)
        if endpoint:
            raise UsageError(f"endpoint config {name} is served by endpoint {endpoint}; update or delete the endpoint first")
        with self._write() as db:
            db.execute("DELETE FROM endpoint_configs WHERE name=?", (name,))

    def create_endpoint_config(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        check_name("endpoint config", name)
        variants = request.get("ProductionVariants") or []
        if not variants:
            raise UsageError(f"endpoint config {name}: at least one ProductionVariant is required")
        for variant in variants:
            self.describe_model(variant.get("ModelName", ""))
        capture = request.get("DataCaptureConfig")
        if capture:
            percentage = capture.get("InitialSamplingPercentage", 100)
            if not isinstance(percentage, int) or not 0 <= percentage <= 100:
                raise UsageError(f"endpoint config {name}: InitialSamplingPercentage must be an integer 0-100, got {percentage!r}")
            if not capture.get("DestinationS3Uri"):
                raise UsageError(f"endpoint config {name}: DataCaptureConfig.DestinationS3Uri is required")
            problem = shapes.uri_problem(capture["DestinationS3Uri"], shapes.capture_destination_shape())
            if problem:
                raise UsageError(f"endpoint config {name}: DataCaptureConfig.DestinationS3Uri: {problem}")
            in_the_way = self.home.objects().object_in_the_way(capture["DestinationS3Uri"])
            if in_the_way:
                raise UsageError(f"endpoint config {name}: DataCaptureConfig.DestinationS3Uri {capture['DestinationS3Uri']}: {in_the_way} is an object, and the local store cannot keep objects under an object's key; choose another destination")
        document = {"EndpointConfigName": name, "EndpointConfigArn": self.arn("endpoint-config", name), "ProductionVariants": variants}
        if capture:
            document["DataCaptureConfig"] = capture
        try:
            with self._write() as db:
                db.execute("INSERT INTO endpoint_configs VALUES (?,?,?)", (name, json.dumps(document), now()))
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"Cannot create already existing endpoint configuration {name!r}", aws_code="ValidationException") from exc
        return self.describe_endpoint_config(name)

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM endpoint_configs WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"Could not find endpoint configuration {name!r}", aws_code="ValidationException")
        return {**json.loads(row["document"]), "CreationTime": row["created"]}

    # -- endpoints --------------------------------------------------------------------------
    def activate(self, name: str, config_name: str, check: Callable[[dict[str, Any]], str | None], tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """CreateEndpoint or UpdateEndpoint: switch ``name`` to ``config_name`` if ``check`` (the
        model loads) returns None; otherwise keep the previous config and record why."""
        check_name("endpoint", name)
        config = self.describe_endpoint_config(config_name)
        existing = self._db.execute("SELECT * FROM endpoints WHERE name=?", (name,)).fetchone()
        stamp = now()
        problem = check(config)
        with self._write() as db:
            if existing is None:
                status = "Failed" if problem else "InService"
                db.execute(
                    "INSERT INTO endpoints VALUES (?,?,?,?,?,?,?)",
                    (name, None if problem else config_name, status, problem, stamp, stamp, json.dumps(tags or [])),
                )
            elif problem:
                status = "InService" if existing["config"] else "Failed"
                db.execute("UPDATE endpoints SET status=?, failure_reason=?, modified=? WHERE name=?", (status, f"Update to {config_name} failed, still serving {existing['config']}: {problem}" if existing["config"] else problem, stamp, name))
            else:
                db.execute("UPDATE endpoints SET config=?, status='InService', failure_reason=NULL, modified=? WHERE name=?", (config_name, stamp, name))
            event = "update failed" if problem else ("created" if existing is None else "updated")
            db.execute("INSERT INTO endpoint_events (endpoint, time, event, detail) VALUES (?,?,?,?)", (name, stamp, event, problem or config_name))
        return self.describe_endpoint(name)

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        """DescribeEndpoint's shape."""
        row = self._db.execute("SELECT * FROM endpoints WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"Could not find endpoint {name!r}", aws_code="ValidationException")
        described: dict[str, Any] = {
            "EndpointName": name,
            "EndpointArn": self.arn("endpoint", name),
            "EndpointConfigName": row["config"],
            "EndpointStatus": row["status"],
            "CreationTime": row["created"],
            "LastModifiedTime": row["modified"],
        }
        if row["failure_reason"]:
            described["FailureReason"] = row["failure_reason"]
        if row["config"]:
            config = self.describe_endpoint_config(row["config"])
            described["ProductionVariants"] = [
                {
                    "VariantName": v.get("VariantName", "AllTraffic"),
                    "DeployedImages": [{"SpecifiedImage": self.describe_model(v["ModelName"])["PrimaryContainer"].get("Image")}],
                    "CurrentWeight": float(v.get("InitialVariantWeight", 1.0)),
                    "DesiredWeight": float(v.get("InitialVariantWeight", 1.0)),
                    "CurrentInstanceCount": v.get("InitialInstanceCount", 1),
                    "DesiredInstanceCount": v.get("InitialInstanceCount", 1),
                }
                for v in config["ProductionVariants"]
            ]
            capture = config.get("DataCaptureConfig")
            if capture:
                described["DataCaptureConfig"] = {
                    "EnableCapture": bool(capture.get("EnableCapture", True)),
                    "CaptureStatus": "Started" if capture.get("EnableCapture", True) else "Stopped",
                    "CurrentSamplingPercentage": capture.get("InitialSamplingPercentage", 100),
                    "DestinationS3Uri": capture.get("DestinationS3Uri"),
                    "KmsKeyId": capture.get("KmsKeyId") or "",  # required in DataCaptureConfigSummary; empty without a key
                }
        return described

    def endpoint_config_of(self, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The live config of an InService endpoint and its variants' models, or None."""
        row = self._db.execute("SELECT * FROM endpoints WHERE name=?", (name,)).fetchone()
        if row is None or not row["config"]:
            return None
        config = self.describe_endpoint_config(row["config"])
        return config, [self.describe_model(v["ModelName"]) for v in config["ProductionVariants"]]

    def list_endpoints(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM endpoints ORDER BY created").fetchall()
        return [
            {"EndpointName": r["name"], "EndpointArn": self.arn("endpoint", r["name"]), "EndpointStatus": r["status"], "CreationTime": r["created"], "LastModifiedTime": r["modified"]}
            for r in rows
        ]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._db.execute("SELECT time, event, detail FROM endpoint_events WHERE endpoint=? ORDER BY id", (name,)).fetchall()]

    def delete_endpoint(self, name: str) -> None:
        self.describe_endpoint(name)
        with self._write() as db:
            db.execute("DELETE FROM endpoints WHERE name=?", (name,))
            db.execute("INSERT INTO endpoint_events (endpoint, time, event, detail) VALUES (?,?,?,?)", (name, now(), "deleted", None))
