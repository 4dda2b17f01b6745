"""Writing captured traffic in SageMaker's data-capture layout, for tests."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from pipelines.monitor import dataset


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
        moment = dataset.parse_time(item["eventMetadata"]["inferenceTime"])
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
