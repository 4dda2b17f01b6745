"""Writing captured traffic in SageMaker's data-capture layout, for tests."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from pipelines.monitor.job.common import layout


def record(input_data: str, output_data: str, moment: datetime, content_type: str = "text/csv", encoding: str = "CSV") -> dict:
    return {
        "captureData": {
            "endpointInput": {"observedContentType": content_type, "mode": "INPUT", "data": input_data, "encoding": encoding},
            "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": output_data, "encoding": "CSV"},
        },
        "eventMetadata": {"eventId": str(uuid.uuid4()), "inferenceTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "eventVersion": "0",
    }


def write_capture(root: Path, records: list[dict], endpoint: str = "ep", variant: str = "AllTraffic") -> None:
    """{root}/{endpoint}/{variant}/yyyy/mm/dd/hh/<file>.jsonl, by each record's inferenceTime hour."""
    by_hour: dict[Path, list[str]] = {}
    for item in records:
        moment = layout.parse_time(item["eventMetadata"]["inferenceTime"])
        folder = root / endpoint / variant / moment.strftime("%Y/%m/%d/%H")
        by_hour.setdefault(folder, []).append(json.dumps(item))
    for folder, lines in by_hour.items():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"00-00-000-{uuid.uuid4()}.jsonl").write_text("\n".join(lines) + "\n")


def capture_frame(frame: pd.DataFrame, root: Path, start: datetime, spread: timedelta, endpoint: str = "ep") -> int:
    """Each row of ``frame`` (output first, then the features, as text) as one request spread over ``spread``."""
    text = frame.astype(str)
    step = spread / max(1, len(text))
    records = [record(",".join(row[1:]), row[0], start + step * i) for i, row in enumerate(text.itertuples(index=False))]
    write_capture(root, records, endpoint=endpoint)
    return len(records)


# -- model quality: predictions with ids, and ground truth ------------------------------
def hour_file(root: Path, moment: datetime, lines: list[str], name: str = "part.jsonl") -> None:
    folder = root / f"{moment:%Y/%m/%d/%H}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n")


def captured(event_id: str, score: str, moment: datetime, inference_id: str | None = None, encoding: str = "CSV", content: str = "text/csv") -> str:
    metadata = {"eventId": event_id, "inferenceTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    return json.dumps({
        "captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,2", "encoding": "CSV"},
                        "endpointOutput": {"observedContentType": content, "mode": "OUTPUT", "data": score, "encoding": encoding}},
        "eventMetadata": metadata, "eventVersion": "0",
    })  # fmt: skip


def label(event_id: str, value: str) -> str:
    return json.dumps({"groundTruthData": {"data": value, "encoding": "CSV"}, "eventMetadata": {"eventId": event_id}, "eventVersion": "0"})
