"""The local model registry: model package groups and versioned model packages.

Stored in SQLite under ``MLOPS_HOME`` (``registry.db``); every package is described in
SageMaker's DescribeModelPackage shape (ModelPackageArn, ModelPackageVersion,
ModelApprovalStatus, InferenceSpecification, ModelMetrics, DriftCheckBaselines,
CustomerMetadataProperties, MetadataProperties, CreationTime ...), so code written against
the API reads local packages unchanged.

Approval transitions follow SageMaker: a package is registered PendingManualApproval,
Approved or Rejected; it can be approved or rejected later, and moved between the two, but
never back to PendingManualApproval. Each transition is recorded with who, when and why.
Listeners registered with :meth:`ModelRegistry.on_approval` hear of approvals (only of
approvals: the AWS template's rule fires on any state change, a known bug).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
import sqlite3
from typing import Any, Callable

from pipelines.core import model_archive, shapes
from pipelines.core.errors import Conflict, NotFound, UsageError
from pipelines.lineage import recorder as lineage
from pipelines.local.database import Database, now
from pipelines.local.home import Home

STATUSES = ("PendingManualApproval", "Approved", "Rejected")
_GROUP_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (
    name TEXT PRIMARY KEY, description TEXT, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS packages (
    group_name TEXT NOT NULL REFERENCES groups(name), version INTEGER NOT NULL,
    status TEXT NOT NULL, description TEXT, approval_description TEXT,
    created TEXT NOT NULL, modified TEXT NOT NULL, created_by TEXT,
    document TEXT NOT NULL, model_digest TEXT,
    PRIMARY KEY (group_name, version)
);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, group_name TEXT NOT NULL, version INTEGER NOT NULL,
    from_status TEXT, to_status TEXT NOT NULL, by TEXT NOT NULL, time TEXT NOT NULL, reason TEXT
);
"""


ApprovalListener = Callable[[dict[str, Any]], None]


class ModelRegistry(Database):
    """``store`` holds the archives packages point at: registration checks each one is there and
    is a model archive within limits (``model_archive.py``), as CreateModelPackage refuses a
    ModelDataUrl it cannot use."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.store = home.objects()
        self._listeners: list[ApprovalListener] = []
        super().__init__(home.registry_db, SCHEMA)
        if "model_digest" not in {row["name"] for row in self._db.execute("PRAGMA table_info(packages)")}:  # a home from before it
            try:
                with self._write() as db:
                    db.execute("ALTER TABLE packages ADD COLUMN model_digest TEXT")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):  # another process added it meanwhile
                    raise

    def on_approval(self, listener: ApprovalListener) -> None:
        self._listeners.append(listener)

    # -- names ------------------------------------------------------------------------------
    def package_arn(self, group: str, version: int) -> str:
        return self.home.arn("model-package", f"{group.lower()}/{version}")

    def _resolve(self, arn_or_name: str) -> tuple[str, int]:
        """``(group, version)`` of a package ARN, or of ``group/version``."""
        match = re.fullmatch(r"(?:arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:\d{12}:model-package/)?([^/]+)/(\d+)", arn_or_name)
        if not match:
            raise UsageError(f"{arn_or_name!r} is not a model package ARN (arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION) or GROUP/VERSION")
        row = self._db.execute("SELECT name FROM groups WHERE lower(name)=lower(?)", (match[1],)).fetchone()
        if row is None:
            raise NotFound(f"no model package group {match[1]!r}")
        return row["name"], int(match[2])

    # -- groups and packages ----------------------------------------------------------------
    def ensure_group(self, group: str, description: str | None = None) -> None:
        if not _GROUP_NAME.match(group):
            raise UsageError(f"model package group name {group!r}: 1-63 letters, digits and hyphens")
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO groups (name, description, created) VALUES (?,?,?)", (group, description, now()))

    def describe_group(self, group: str) -> dict[str, Any]:
        """DescribeModelPackageGroup's shape."""
        row = self._db.execute("SELECT * FROM groups WHERE lower(name)=lower(?)", (group.rsplit("/", 1)[-1],)).fetchone()
        if row is None:
            raise NotFound(f"ModelPackageGroup {group} does not exist.")
        return {
            "ModelPackageGroupName": row["name"], "ModelPackageGroupArn": self.home.arn("model-package-group", row["name"].lower()),
            "ModelPackageGroupDescription": row["description"], "CreationTime": row["created"], "CreatedBy": {}, "ModelPackageGroupStatus": "Completed",
        }  # fmt: skip

    def list_groups(self) -> list[dict[str, Any]]:
        """ListModelPackageGroups' summaries, oldest first."""
        names = [r["name"] for r in self._db.execute("SELECT name FROM groups ORDER BY created").fetchall()]
        return [{k: v for k, v in self.describe_group(name).items() if k != "CreatedBy"} for name in names]

    def register(self, group: str, request: dict[str, Any], created_by: str | None = None) -> dict[str, Any]:
        """CreateModelPackage: a new version in ``group``; returns its DescribeModelPackage."""
        status = request.get("ModelApprovalStatus") or "PendingManualApproval"
        if status not in STATUSES:
            raise UsageError(f"ModelApprovalStatus must be one of {', '.join(STATUSES)}, got {status!r}")
        digest = self.model_digest(request)
        self.ensure_group(group)
        document = {
            key: request[key]
            for key in ("InferenceSpecification", "ModelMetrics", "DriftCheckBaselines", "CustomerMetadataProperties", "MetadataProperties", "Domain", "Task", "SamplePayloadUrl")
            if request.get(key) not in (None, {}, [])
        }
        who = created_by or _user()
        with self._write() as db:
            row = db.execute("SELECT COALESCE(MAX(version), 0) AS v FROM packages WHERE group_name=?", (group,)).fetchone()
            version = int(row["v"]) + 1
            stamp = now()
            db.execute(
                "INSERT INTO packages (group_name, version, status, description, created, modified, created_by, document, model_digest) VALUES (?,?,?,?,?,?,?,?,?)",
                (group, version, status, request.get("ModelPackageDescription"), stamp, stamp, who, json.dumps(document), digest),
            )
            db.execute("INSERT INTO transitions (group_name, version, from_status, to_status, by, time, reason) VALUES (?,?,?,?,?,?,?)", (group, version, None, status, who, stamp, "registered"))
        described = self.describe(self.package_arn(group, version))
        lineage.package_registered(self.home, described)
        return described

    def model_digest(self, request: dict[str, Any]) -> str:
        """sha256 of the model files a CreateModelPackage request's containers point at, each
        checked as registration checks it: two packages with the same digest serve the same model."""
        containers = (request.get("InferenceSpecification") or {}).get("Containers") or []
        if not containers:
            raise UsageError("InferenceSpecification.Containers is required")
        digest = hashlib.sha256()
        for index, container in enumerate(containers):
            digest.update(self._check_model(f"InferenceSpecification.Containers[{index}].ModelDataUrl", container.get("ModelDataUrl")))
        return digest.hexdigest()

    def identical(self, group: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """The newest package of ``group`` whose model is byte for byte the one ``request`` points at."""
        digest = self.model_digest(request)
        rows = self._db.execute("SELECT * FROM packages WHERE lower(group_name)=lower(?) ORDER BY version DESC", (group,)).fetchall()
        for row in rows:
            known = row["model_digest"]
            if known is None:  # registered before digests were kept: worked out once, kept
                try:
                    known = self.model_digest(json.loads(row["document"]))
                except UsageError:
                    continue
                with self._write() as db:
                    db.execute("UPDATE packages SET model_digest=? WHERE group_name=? AND version=?", (known, row["group_name"], row["version"]))
            if known == digest:
                return self._describe(row)
        return None

    def _check_model(self, field: str, url: object) -> bytes:
        problem = shapes.uri_problem(url, "Url")  # ModelDataUrl's shape
        if problem:
            raise UsageError(f"{field}: {problem}")
        try:
            return model_archive.read_model(self.store.path(str(url)))
        except model_archive.ArchiveError as exc:
            raise UsageError(f"{field}: {exc}") from exc

    def describe(self, arn_or_name: str) -> dict[str, Any]:
        group, version = self._resolve(arn_or_name)
        row = self._db.execute("SELECT * FROM packages WHERE group_name=? AND version=?", (group, version)).fetchone()
        if row is None:
            raise NotFound(f"model package group {group} has no version {version}")
        return self._describe(row)

    def _describe(self, row: sqlite3.Row) -> dict[str, Any]:
        described: dict[str, Any] = {
            "ModelPackageName": row["group_name"],  # a versioned package is named by its group
            "ModelPackageGroupName": row["group_name"],
            "ModelPackageVersion": row["version"],
            "ModelPackageArn": self.package_arn(row["group_name"], row["version"]),
            "ModelPackageDescription": row["description"],
            "CreationTime": row["created"],
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "CertifyForMarketplace": False,
            "ModelApprovalStatus": row["status"],
            "CreatedBy": {"UserProfileName": row["created_by"]},
            "LastModifiedTime": row["modified"],
            "ApprovalDescription": row["approval_description"],
            **json.loads(row["document"]),
        }
        return {k: v for k, v in described.items() if v is not None}

    def list_packages(self, group: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """ListModelPackages' ModelPackageSummaryList, newest first."""
        rows = self._db.execute(
            "SELECT * FROM packages WHERE (? IS NULL OR group_name=?) AND (? IS NULL OR status=?) ORDER BY created DESC, version DESC",
            (group, group, status, status),
        ).fetchall()
        return [
            {
                "ModelPackageGroupName": r["group_name"],
                "ModelPackageVersion": r["version"],
                "ModelPackageArn": self.package_arn(r["group_name"], r["version"]),
                "ModelPackageDescription": r["description"],
                "CreationTime": r["created"],
                "ModelPackageStatus": "Completed",
                "ModelApprovalStatus": r["status"],
            }
            for r in rows
        ]

    def latest_approved(self, group: str) -> dict[str, Any] | None:
        approved = self.list_packages(group, "Approved")
        return self.describe(approved[0]["ModelPackageArn"]) if approved else None

    # -- approvals --------------------------------------------------------------------------
    def update_status(self, arn_or_name: str, status: str, reason: str, by: str | None = None) -> dict[str, Any]:
        """UpdateModelPackage's ModelApprovalStatus, with who and why; approvals are announced."""
        if status not in ("Approved", "Rejected"):
            raise UsageError(f"a package can be Approved or Rejected, not set to {status!r} (SageMaker never moves one back to PendingManualApproval)")
        if not reason or not reason.strip():
            raise UsageError("a reason is required: it is recorded with the transition")
        group, version = self._resolve(arn_or_name)
        current = self.describe(arn_or_name)["ModelApprovalStatus"]
        if current == status:
            raise Conflict(f"{group}/{version} is already {status}")
        who = by or _user()
        stamp = now()
        with self._write() as db:
            db.execute("UPDATE packages SET status=?, approval_description=?, modified=? WHERE group_name=? AND version=?", (status, reason, stamp, group, version))
            db.execute("INSERT INTO transitions (group_name, version, from_status, to_status, by, time, reason) VALUES (?,?,?,?,?,?,?)", (group, version, current, status, who, stamp, reason))
        described = self.describe(arn_or_name)
        lineage.package_status_changed(self.home, described, who, reason)
        if status == "Approved":
            for listener in self._listeners:
                listener(described)
        return described

    def transitions(self, arn_or_name: str) -> list[dict[str, Any]]:
        group, version = self._resolve(arn_or_name)
        rows = self._db.execute("SELECT * FROM transitions WHERE group_name=? AND version=? ORDER BY id", (group, version)).fetchall()
        return [{"From": r["from_status"], "To": r["to_status"], "By": r["by"], "Time": r["time"], "Reason": r["reason"]} for r in rows]


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "unknown"
