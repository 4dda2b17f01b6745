"""Lineage queries: from an endpoint, a model package, an execution or a commit, up and down.

One row per entity, in the order the story happened: the commit, the pipeline execution, its
jobs and the data they read and wrote, the model, the package and its approval, the
deployment and the endpoint, the monitoring executions and their reports. Each row says which
commit it comes from (author, date), its URI and digest, and its key facts (metrics, status).
As a table, JSON, a pandas DataFrame, or a graph (Graphviz DOT or Mermaid).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.core.errors import NotFound, UsageError
from pipelines.lineage import recorder
from pipelines.lineage.store import LineageStore
from pipelines.local.home import Home

ORDER = [
    "Commit", "Pipeline", "PipelineExecution", "Code", "Image", "ProcessingJob", "TrainingJob", "DataSet", "QualityCheck", "Baseline", "Model",
    "ModelRegistration", "ModelPackageGroup", "ModelPackage", "Approval", "Rejection", "CreateModel", "CreateEndpointConfig", "Deployment", "Endpoint",
    "MonitoringExecution", "Report",
]  # fmt: skip


def open_store(home: Home) -> LineageStore:
    if not home.lineage_db.exists():
        raise NotFound(f"no lineage recorded under {home.root} yet: nothing has run there")
    return LineageStore(home)


def start(store: LineageStore, endpoint: str | None = None, package: str | None = None, execution: str | None = None, commit: str | None = None) -> str:
    """The ARN to walk from, named the way a user names it."""
    if endpoint:
        found = store.find("context", "Endpoint", name=endpoint)
        what = f"endpoint {endpoint!r}"
    elif package:
        found = [e for e in store.find("artifact", "ModelPackage") if e["SourceUri"] == package or e["Name"] == package or e["SourceUri"].lower().endswith("/" + package.lower().replace("/", "/"))]
        what = f"model package {package!r}"
    elif execution:
        found = [e for e in store.find("context", "PipelineExecution") if execution in (e["Name"], e["SourceUri"])]
        what = f"execution {execution!r}"
    elif commit:
        found = [e for e in store.find("artifact", "Commit") if (e["Digest"] or "").startswith(commit.lower())]
        what = f"commit {commit!r}"
    else:
        raise UsageError("say where to start: an endpoint, a model package, an execution or a commit")
    if not found:
        raise NotFound(f"no lineage for {what}")
    return found[-1]["Arn"]


def graph(store: LineageStore, origin: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every entity up and down from ``origin`` (and what feeds those further down), and the edges among them."""
    arns = set(store.walk(origin, "up")) | set(store.walk(origin, "down"))
    for arn in list(arns):
        entity = store.entity(arn)
        if entity and entity["Type"] in ("MonitoringExecution", "Deployment", "PipelineExecution"):
            arns.update(store.walk(arn, "down"))
    entities = [e for e in (store.entity(arn) for arn in arns) if e]
    return entities, store.edges_among(arns)


def rows(store: LineageStore, origin: str) -> list[dict[str, Any]]:
    entities, edges = graph(store, origin)
    by_arn = {e["Arn"]: e for e in entities}
    commits = {e["Digest"]: e for e in entities if e["Type"] == "Commit"}
    execution_commit: dict[str, dict[str, Any]] = {}
    for edge in edges:
        source, destination = by_arn.get(edge["source"]), by_arn.get(edge["destination"])
        if source and destination and source["Type"] == "Commit" and destination["Type"] == "PipelineExecution":
            execution_commit[destination["Name"]] = source
    producers = {edge["destination"]: by_arn[edge["source"]] for edge in edges if edge["type"] == "Produced" and edge["source"] in by_arn}

    def commit_of(entity: dict[str, Any], depth: int = 0) -> dict[str, Any] | None:
        props = entity["Properties"]
        if entity["Type"] == "Commit":
            return entity
        if entity["Type"] == "PipelineExecution":
            return execution_commit.get(entity["Name"])
        if props.get("PipelineExecutionArn"):
            return execution_commit.get(str(props["PipelineExecutionArn"]).rsplit("/", 1)[1])
        if props.get("GitCommit") in commits:
            return commits[props["GitCommit"]]
        if entity["Arn"] in producers and depth < 5:
            return commit_of(producers[entity["Arn"]], depth + 1)
        return None

    served = [commits[e["Properties"]["GitCommit"]] for e in entities if e["Type"] == "ModelPackage" and e["Properties"].get("GitCommit") in commits]
    table = []
    for entity in entities:
        commit = commit_of(entity)
        if commit is None and entity["Type"] in ("Approval", "Rejection", "Deployment", "Endpoint", "MonitoringExecution", "Report") and served:
            commit = served[-1]  # what the endpoint serves came from that commit
        props = entity["Properties"]
        facts = []
        if props.get("Metrics"):
            facts.append(", ".join(f"{k} {v:.4f}" for k, v in props["Metrics"].items()))
        for key in ("ModelApprovalStatus", "Violations", "Reason", "By"):
            if props.get(key) not in (None, ""):
                facts.append(f"{key} {props[key]}")
        if entity["Status"]:
            facts.append(entity["Status"])
        table.append(
            {
                "Type": entity["Type"],
                "Name": entity["Name"],
                "Step": props.get("Step") or props.get("Schedule") or "",
                "Commit": (commit or {}).get("Digest", "")[:12] if commit else "",
                "Author": ((commit or {}).get("Properties") or {}).get("author", "") if commit else "",
                "Date": ((commit or {}).get("Properties") or {}).get("date", "") if commit else "",
                "Uri": entity["SourceUri"] or "",
                "Digest": (entity["Digest"] or "")[:12],
                "Facts": "; ".join(str(f) for f in facts),
                "Created": entity["CreationTime"],
                "Arn": entity["Arn"],
                "ProducedBy": producers[entity["Arn"]]["Arn"] if entity["Arn"] in producers else "",
            }
        )
    table.sort(key=lambda r: (ORDER.index(r["Type"]) if r["Type"] in ORDER else len(ORDER), r["Created"]))
    return table


def frame(home: Home, **where: str | None) -> Any:
    """The lineage table as a pandas DataFrame: ``frame(home, endpoint="credit-default-staging")``."""
    import pandas as pd

    store = open_store(home)
    try:
        return pd.DataFrame(rows(store, start(store, **where)))
    finally:
        store.close()


def as_text(table: list[dict[str, Any]], width: int = 70) -> list[str]:
    lines = [f"{'type':<20} {'name':<34} {'step':<20} {'commit':<12} {'digest':<12} facts"]
    for row in table:
        lines.append(f"{row['Type']:<20} {_cut(row['Name'], 34):<34} {_cut(row['Step'], 20):<20} {row['Commit']:<12} {row['Digest']:<12} {_cut(row['Facts'], width)}")
    return lines


def _cut(text: str, size: int) -> str:
    text = str(text)
    return text if len(text) <= size else text[: size - 1] + "…"


def as_dot(store: LineageStore, origin: str) -> str:
    entities, edges = graph(store, origin)
    shapes = {"artifact": "note", "trial-component": "box", "action": "box", "context": "ellipse"}
    lines = ["digraph lineage {", "  rankdir=LR; node [fontname=Helvetica, fontsize=10];"]
    for entity in entities:
        label = f"{entity['Type']}\\n{_cut(entity['Name'], 40)}".replace('"', "'")
        lines.append(f'  "{entity["Arn"]}" [label="{label}", shape={shapes.get(entity["Kind"], "box")}];')
    for edge in edges:
        lines.append(f'  "{edge["source"]}" -> "{edge["destination"]}" [label="{edge["type"]}", fontsize=8];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def as_mermaid(store: LineageStore, origin: str) -> str:
    entities, edges = graph(store, origin)
    ids = {e["Arn"]: f"n{i}" for i, e in enumerate(entities)}
    lines = ["flowchart LR"]
    for entity in entities:
        label = f"{entity['Type']}: {_cut(entity['Name'], 36)}".replace('"', "'")
        lines.append(f'  {ids[entity["Arn"]]}["{label}"]')
    for edge in edges:
        lines.append(f"  {ids[edge['source']]} -->|{edge['type']}| {ids[edge['destination']]}")
    return "\n".join(lines) + "\n"


def verify(home: Home, endpoint: str) -> list[dict[str, Any]]:
    """Every artifact upstream of what ``endpoint`` serves, its digest recomputed: unchanged, changed or missing."""
    store = open_store(home)
    try:
        origin = start(store, endpoint=endpoint)
        upstream = [store.entity(arn) for arn in store.walk(origin, "up")]
    finally:
        store.close()
    results = []
    for entity in upstream:
        if not entity or entity["Kind"] != "artifact" or not entity["Digest"] or entity["Type"] == "Commit":
            continue
        now = recorder.digest(home, entity["SourceUri"])
        state = "unchanged" if now == entity["Digest"] else ("missing" if now is None else "changed")
        results.append({"Type": entity["Type"], "Name": entity["Name"], "Uri": entity["SourceUri"], "Recorded": entity["Digest"], "Now": now, "State": state})
    return results


def latest_monitoring(table: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """``table`` with, of the monitoring, only each schedule's latest execution and its report;
    and how many rows were left out. An endpoint monitored hourly gathers thousands."""
    executions = [r for r in table if r["Type"] == "MonitoringExecution"]
    latest: dict[str, dict[str, Any]] = {}
    for row in executions:
        if row["Step"] not in latest or (row["Name"], row["Created"]) > (latest[row["Step"]]["Name"], latest[row["Step"]]["Created"]):  # the name ends in the scheduled time
            latest[row["Step"]] = row
    kept = {row["Arn"] for row in latest.values()}
    dropped = {row["Arn"] for row in executions} - kept
    reports_of_dropped = {r["Arn"] for r in table if r["Type"] == "Report" and r.get("ProducedBy") in dropped}
    shown = [r for r in table if r["Arn"] not in dropped and r["Arn"] not in reports_of_dropped]
    return shown, len(table) - len(shown)


def endpoint_table(home: Home, endpoint: str) -> list[str]:
    """The demo's view: the table for an endpoint, with each schedule's latest monitoring."""
    store = open_store(home)
    try:
        table, left_out = latest_monitoring(rows(store, start(store, endpoint=endpoint)))
    finally:
        store.close()
    lines = as_text(table, width=50)
    if left_out:
        lines.append(f"({left_out} rows of earlier monitoring executions and their reports left out: mlops lineage --endpoint {endpoint} lists every one)")
    return lines


def to_json(table: list[dict[str, Any]]) -> str:
    return json.dumps(table, indent=2)


def write(path: Path, text: str) -> None:
    from pipelines.core.fileio import write_text_atomic

    write_text_atomic(path, text)
