"""Where captured data lives and when it was captured: SageMaker's capture layout.

Capture files are JSON Lines under ``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/`` (UTC hours);
each record's ``eventMetadata.inferenceTime`` is an ISO-8601 time. Standard library only,
Python 3.8: the analyzer reads it on the scikit-learn image, the attribution job on the
XGBoost image.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, List, Optional, Tuple

# The longest capture line an endpoint can write: InvokeEndpoint carries at most 6 MiB each way
# (botocore's Body shape), captured as BASE64 (4/3) or as JSON-escaped text (up to twice as long).
# A longer line did not come from an endpoint: the readers count it malformed and read on.
MAX_LINE_BYTES = 2 * 2 * 6 * 1024 * 1024 + 64 * 1024
HOUR_FOLDER = re.compile(r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})$")


def data_files(root: Path, suffixes: Tuple[str, ...]) -> List[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith("."))


def capture_files(root: Path, start: Optional[datetime], end: Optional[datetime]) -> List[Path]:
    """Capture files whose hour folder (``yyyy/mm/dd/hh``, UTC) overlaps [start, end)."""
    files = data_files(root, (".jsonl", ".json"))
    if start is None and end is None:
        return files
    chosen = []
    for file in files:
        match = HOUR_FOLDER.search(file.parent.as_posix())
        if not match:
            chosen.append(file)  # not in SageMaker's layout: filtered on inferenceTime alone
            continue
        hour = datetime(int(match["y"]), int(match["m"]), int(match["d"]), int(match["h"]), tzinfo=timezone.utc)
        if (end is None or hour < end) and (start is None or hour + timedelta(hours=1) > start):
            chosen.append(file)
    return chosen


def in_window(value: Any, start: Optional[datetime], end: Optional[datetime]) -> bool:
    if start is None and end is None:
        return True
    moment = parse_time(value)
    if moment is None:
        return False
    return (start is None or moment >= start) and (end is None or moment < end)


def parse_time(value: Any) -> Optional[datetime]:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def naive_utc(moment: datetime) -> datetime:
    """``moment`` in UTC without its zone, as pyarrow's timestamps compare."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
