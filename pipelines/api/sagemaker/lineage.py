"""SageMaker's lineage API over the local lineage store: QueryLineage, artifacts, actions,
contexts, associations, and the trial components SageMaker records each job as (the lineage
of a job starts from ``ListTrialComponents(SourceArn=<job arn>)``, as the SDKs'
``LineageTableVisualizer`` does)."""

from __future__ import annotations

import json
from typing import Any

from pipelines.api import protocol
from pipelines.api.protocol import ApiError
from pipelines.api.sagemaker.operations import operation, ordered, page
from pipelines.lineage.store import LineageStore
from pipelines.local.home import Home

ACTION_STATUS = {"Succeeded": "Completed", "Completed": "Completed", "Failed": "Failed", "Stopped": "Stopped", "Executing": "InProgress", "InProgress": "InProgress"}
LINEAGE_TYPES = {"artifact": "Artifact", "action": "Action", "context": "Context", "trial-component": "TrialComponent"}
SOURCE_TYPES = {"ProcessingJob": "SageMakerProcessingJob", "TrainingJob": "SageMakerTrainingJob", "TransformJob": "SageMakerTransformJob"}


def _lineage_entity(entity: dict[str, Any]) -> dict[str, Any]:
    """Describe<Kind>'s members for one entity of the store."""
    kind = entity["Kind"].capitalize()
    source = {"SourceUri": entity["SourceUri"]} if entity.get("SourceUri") else None
    if source and entity.get("Digest") and kind == "Artifact":
        source["SourceTypes"] = [{"SourceIdType": "Custom", "Value": str(entity["Digest"])}]
    described = {
        f"{kind}Name": entity["Name"][:120], f"{kind}Arn": entity["Arn"], f"{kind}Type": entity["Type"], "Source": source,
        "Properties": {str(k): v if isinstance(v, str) else json.dumps(v, default=str) for k, v in (entity.get("Properties") or {}).items()},
        "CreationTime": entity["CreationTime"], "LastModifiedTime": entity["CreationTime"],
    }  # fmt: skip
    if kind == "Action":
        described["Status"] = ACTION_STATUS.get(str(entity.get("Status")), "Unknown")
    return described


def _lineage_lookup(home: Home, kind: str, name_or_arn: str) -> dict[str, Any]:

    with LineageStore(home) as store:
        entity = store.entity(name_or_arn) if name_or_arn.startswith("arn:") else next(iter(store.find(kind=kind, name=name_or_arn)), None)
    if entity is None or entity["Kind"] != kind:
        raise ApiError("ResourceNotFound", f"{kind.capitalize()} {name_or_arn} does not exist.")
    return _lineage_entity(entity)


def _lineage_list(home: Home, kind: str, params: dict[str, Any]) -> dict[str, Any]:

    with LineageStore(home) as store:
        found = store.find(kind=kind, type=params.get(f"{kind.capitalize()}Type"), source_uri=params.get("SourceUri"))
    summaries = [protocol.shape_members(f"{kind.capitalize()}Summary", _lineage_entity(e)) for e in ordered(found, params, stored="Ascending")]
    return page(summaries, params, f"{kind.capitalize()}Summaries")


@operation
def describe_artifact(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return protocol.shape_members("DescribeArtifactResponse", _lineage_lookup(home, "artifact", params["ArtifactArn"]))


@operation
def describe_action(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return protocol.shape_members("DescribeActionResponse", _lineage_lookup(home, "action", params["ActionName"]))


@operation
def describe_context(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return protocol.shape_members("DescribeContextResponse", _lineage_lookup(home, "context", params["ContextName"]))


@operation
def list_artifacts(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _lineage_list(home, "artifact", params)


@operation
def list_actions(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _lineage_list(home, "action", params)


@operation
def list_contexts(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    return _lineage_list(home, "context", params)


@operation
def list_associations(home: Home, params: dict[str, Any]) -> dict[str, Any]:

    with LineageStore(home) as store:
        if params.get("SourceArn"):
            edges = store.downstream(params["SourceArn"])
        elif params.get("DestinationArn"):
            edges = store.upstream(params["DestinationArn"])
        else:
            raise ApiError("ValidationException", "the local twin lists associations from a SourceArn or to a DestinationArn; give one")
        edges = [e for e in edges if (not params.get("DestinationArn") or e["destination"] == params["DestinationArn"]) and (not params.get("AssociationType") or e["type"] == params["AssociationType"])]
        summaries = []
        for edge in edges:
            source, destination = store.entity(edge["source"]) or {}, store.entity(edge["destination"]) or {}
            summaries.append({
                "SourceArn": edge["source"], "DestinationArn": edge["destination"], "AssociationType": edge["type"], "CreationTime": edge["created"],
                "SourceType": source.get("Type"), "DestinationType": destination.get("Type"), "SourceName": source.get("Name"), "DestinationName": destination.get("Name"),
            })  # fmt: skip
    return page(summaries, params, "AssociationSummaries")


@operation
def query_lineage(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    """QueryLineage: the entities reachable from StartArns, up (Ascendants), down (Descendants) or
    both, to MaxDepth (10, as SageMaker's default), with the edges between them when asked."""
    direction, depth = params.get("Direction", "Both"), int(params.get("MaxDepth", 10))
    with LineageStore(home) as store:
        reached: dict[str, dict[str, Any]] = {}
        edges: set[tuple[str, str, str]] = set()
        frontier = [arn for arn in params.get("StartArns") or [] if store.entity(arn)]
        seen = set(frontier)
        for _ in range(depth):
            following = []
            for arn in frontier:
                steps = (store.upstream(arn) if direction in ("Ascendants", "Both") else []) + (store.downstream(arn) if direction in ("Descendants", "Both") else [])
                for edge in steps:
                    other = edge["source"] if edge["destination"] == arn else edge["destination"]
                    edges.add((edge["source"], edge["destination"], edge["type"]))
                    if other not in seen:
                        seen.add(other)
                        following.append(other)
            frontier = following
        for arn in seen - set(params.get("StartArns") or []):
            entity = store.entity(arn)
            if entity:
                reached[arn] = {"Arn": arn, "Type": entity["Type"], "LineageType": LINEAGE_TYPES[entity["Kind"]]}
    answer: dict[str, Any] = {"Vertices": sorted(reached.values(), key=lambda v: v["Arn"])}
    if params.get("IncludeEdges"):
        answer["Edges"] = [{"SourceArn": s, "DestinationArn": d, "AssociationType": t} for s, d, t in sorted(edges) if s in seen and d in seen]
    return answer


def _trial_component(entity: dict[str, Any]) -> dict[str, Any]:
    """DescribeTrialComponent's members for one job of the store (TrialComponentSummary's are a subset)."""
    source = {"SourceArn": entity["SourceUri"], "SourceType": SOURCE_TYPES.get(entity["Type"], entity["Type"])}
    metrics = (entity.get("Properties") or {}).get("Metrics") or {}
    return {
        "TrialComponentName": entity["Name"], "TrialComponentArn": entity["Arn"], "DisplayName": entity["Name"],
        "Source": source, "TrialComponentSource": source, "Sources": [source],
        "Status": {"PrimaryStatus": ACTION_STATUS.get(str(entity.get("Status")), "Completed")},
        "CreationTime": entity["CreationTime"], "LastModifiedTime": entity["CreationTime"],
        "Metrics": [{"MetricName": str(name), "Last": float(value)} for name, value in metrics.items() if isinstance(value, (int, float))],
    }  # fmt: skip


@operation
def list_trial_components(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    """ListTrialComponents: the jobs the engine ran, or the one job a SourceArn names (experiments
    and trials are not kept: filtering by them finds nothing)."""
    if params.get("ExperimentName") or params.get("TrialName"):
        return page([], params, "TrialComponentSummaries")
    with LineageStore(home) as store:
        found = store.find(kind="trial-component", source_uri=params.get("SourceArn"))
    summaries = [protocol.shape_members("TrialComponentSummary", _trial_component(e)) for e in ordered(found, params, stored="Ascending")]
    return page(summaries, params, "TrialComponentSummaries")


@operation
def describe_trial_component(home: Home, params: dict[str, Any]) -> dict[str, Any]:
    name = params["TrialComponentName"]
    with LineageStore(home) as store:
        entity = store.entity(name) if name.startswith("arn:") else next(iter(store.find(kind="trial-component", name=name)), None)
    if entity is None or entity["Kind"] != "trial-component":
        raise ApiError("ResourceNotFound", f"Trial component {name} does not exist.")
    return protocol.shape_members("DescribeTrialComponentResponse", _trial_component(entity))
