"""The hours a monitoring run reads: its window's offsets, the hour folders in it, fetching them.

A run scheduled at ``t`` analyses ``[t + start, t + end)``; it fetches only the capture hours
(``yyyy/mm/dd/hh`` under each variant) and ground-truth hours that overlap it, never an
endpoint's whole history. Standard library and ``objects`` only, Python 3.8: every monitoring
job uses it, on the scikit-learn image and on the XGBoost image.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import List, Tuple

from pipelines.monitor.job.common.objects import Objects
from pipelines.monitor.job.common.result import JobFailed

_OFFSET = re.compile(r"^(?P<sign>[-+]?)P(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)$")


def offset(text: str, what: str) -> timedelta:
    """``-PT1H``, ``-PT30M``, ``PT0H``: DataAnalysisStartTime/EndTime as Model Monitor takes them
    (the one parser: schedules check theirs with it too)."""
    match = _OFFSET.match((text or "").strip())
    if not match or not (match["hours"] or match["minutes"]):
        raise JobFailed(f"{what} {text!r} must be an ISO-8601 offset such as -PT1H or -PT30M")
    delta = timedelta(hours=int(match["hours"] or 0), minutes=int(match["minutes"] or 0))
    return -delta if match["sign"] == "-" else delta


def format_offset(delta: timedelta) -> str:
    """``offset``'s inverse, in whole minutes: -PT1H, -PT90M (``-PT0H`` for none)."""
    minutes, rest = divmod(abs(delta), timedelta(minutes=1))
    if rest:
        raise ValueError(f"{delta} is not a whole number of minutes")
    hours, minutes = divmod(int(minutes), 60)
    return f"{'-' if delta < timedelta(0) or not delta else ''}PT{hours}H" + (f"{minutes}M" if minutes else "")


def bounds(scheduled: datetime, start_offset: str, end_offset: str) -> Tuple[datetime, datetime]:
    """[start, end) of the run scheduled at ``scheduled``."""
    start, end = scheduled + offset(start_offset, "--start-offset"), scheduled + offset(end_offset, "--end-offset")
    if start >= end:
        raise JobFailed(f"the window {start.isoformat()} - {end.isoformat()} is empty: the start offset must come before the end offset")
    return start, end


def hours(start: datetime, end: datetime) -> List[str]:
    """``yyyy/mm/dd/hh`` of every hour that overlaps [start, end)."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    found = []
    while hour < end:
        found.append(f"{hour:%Y/%m/%d/%H}")
        hour += timedelta(hours=1)
    return found


def fetch_capture(objects: Objects, capture: str, start: datetime, end: datetime, target: Path) -> int:
    """Copy the capture files of every variant's hours overlapping the window into ``target``:
    one listing per variant and hour, never the endpoint's whole history."""
    count = 0
    root = capture.rstrip("/")
    for variant in objects.folders(root):
        for hour in hours(start, end):
            for uri in objects.list(f"{root}/{variant}/{hour}"):
                objects.download(uri, target / uri[len(root) + 1 :])
                count += 1
    return count


def fetch_hours(objects: Objects, root: str, start: datetime, until: datetime, target: Path) -> int:
    """Copy the files of ``root``'s hour folders (no variants: a ground-truth prefix) that
    overlap [start, until) into ``target``."""
    count = 0
    root = root.rstrip("/")
    for hour in hours(start, until):
        for uri in objects.list(f"{root}/{hour}"):
            objects.download(uri, target / uri[len(root) + 1 :])
            count += 1
    return count


def glued(argv: List[str]) -> List[str]:
    """``--start-offset -PT1H`` as ``--start-offset=-PT1H``: argparse takes a value that starts with
    '-' for an option, and a pipeline passes the offset as a separate argument."""
    glued: List[str] = []
    for item in argv:
        if glued and glued[-1] in ("--start-offset", "--end-offset") and item.startswith("-"):
            glued[-1] = f"{glued[-1]}={item}"
        else:
            glued.append(item)
    return glued
