"""The demo's traffic: fresh simulated hours, the workshop's drift, the requests through the real
endpoint server with signed boto3 clients, the capture checked, the labels an hour late."""

from __future__ import annotations

import json
import random
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pipelines.core.errors import MlopsError
from pipelines.core.fileio import write_text_atomic
from pipelines.demo.story import CLIENTS, CLOCK_SPEED, HOURS, Story
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from pipelines.serving import auth, deploy
from pipelines.serving.clock import set_clock


def next_window(home: Home) -> datetime:
    """Fresh simulated hours for this run: after the previous run's, else from the next hour."""
    state_file = home.demo / "state.json"
    previous = json.loads(state_file.read_text())["next"] if state_file.is_file() else None
    now_hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = max(now_hour, datetime.fromisoformat(previous)) if previous else now_hour
    write_text_atomic(state_file, json.dumps({"next": (start + timedelta(hours=len(HOURS) + 2)).isoformat()}))
    return start


def drift(rows: list[list[str]], columns: list[str], seed: int) -> list[list[str]]:
    """The workshop's drift: LIMIT_BAL / 1000 on half the rows, EDUCATION negated on 75%, MARRIAGE on half."""
    rng = random.Random(seed)
    limit, education, marriage = columns.index("LIMIT_BAL"), columns.index("EDUCATION"), columns.index("MARRIAGE")
    changed = []
    for row in rows:
        row = list(row)
        if rng.random() < 0.5:
            row[limit] = str(int(float(row[limit])) // 1000)
        if rng.random() < 0.75:
            row[education] = str(-int(float(row[education])))
        if rng.random() < 0.5:
            row[marriage] = str(-int(float(row[marriage])))
        changed.append(row)
    return changed


def send_traffic(story: Story, url: str, endpoint: str, test_csv: Path, clock_file: Path, start_hour: datetime) -> tuple[dict[str, int], list[list[tuple[str, str]]]]:
    """Each simulated hour: set the server's capture clock to that hour, send its requests, wait
    for every answer. A request is stamped before it is answered, so no hour can spill into the
    next, whatever the machine's load; a slow machine only takes longer. Each request carries an
    InferenceId; what comes back is, per hour, each id with the row's real label (not sent)."""
    import boto3
    from botocore.config import Config

    lines = test_csv.read_text().splitlines()
    columns = lines[0].split(",")[1:]  # the label is not sent: clients send the 23 features
    rows = [line.split(",") for line in lines[1:]]
    random.Random(7).shuffle(rows)
    # The clients sign every request (SigV4) with the endpoint's own credentials, as they would on AWS.
    credentials = auth.load_or_create(story.home)
    session = boto3.Session(aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key, region_name=story.home.region)
    config = Config(read_timeout=600, connect_timeout=60)  # a busy machine answers late, not never
    clients = [session.client("sagemaker-runtime", endpoint_url=url, config=config) for _ in range(CLIENTS)]
    counts: dict[str, int] = {}
    labels: list[list[tuple[str, str]]] = []
    offset = 0
    for hour, (kind, size) in enumerate(HOURS):
        batch = [row[1:] for row in rows[offset : offset + size]]
        begins = start_hour + timedelta(hours=hour)
        ids = [f"{begins:%Y%m%d%H}-{index:04d}" for index in range(len(batch))]
        labels.append([(identifier, row[0]) for identifier, row in zip(ids, rows[offset : offset + size], strict=True)])
        offset += size
        if kind == "drifted":
            batch = drift(batch, columns, hour)
        set_clock(clock_file, begins, begins + timedelta(hours=1), speed=CLOCK_SPEED)

        def send(item: tuple[int, str, list[str]]) -> None:
            index, identifier, row = item
            client = clients[index % len(clients)]
            client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=",".join(row), InferenceId=identifier)["Body"].read()

        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            list(pool.map(send, [(index, identifier, row) for index, (identifier, row) in enumerate(zip(ids, batch, strict=True))]))
        counts[f"{begins:%H}:00 {kind}"] = len(batch)
        story.echo(f"    {begins:%Y-%m-%d %H}:00-{(begins + timedelta(hours=1)):%H}:00  {len(batch)} requests ({kind})")
    return counts, labels


def check_capture(home: Home, endpoint: dict[str, Any], start_hour: datetime, counts: dict[str, int]) -> None:
    """Every request of every hour is in that hour's capture folder, or the story stops here."""
    capture = endpoint["DataCaptureConfig"]["DestinationS3Uri"]
    variant = endpoint["ProductionVariants"][0].get("VariantName", "AllTraffic")
    root = ObjectStore(home.store).path(capture) / endpoint["EndpointName"] / variant
    for hour, (label, sent) in enumerate(counts.items()):
        folder = root / f"{start_hour + timedelta(hours=hour):%Y/%m/%d/%H}"
        found = sum(path.read_bytes().count(b"\n") for path in folder.glob("*.jsonl")) if folder.is_dir() else 0
        if found != sent:
            raise MlopsError(f"the capture of {label} holds {found} records for {sent} requests sent ({folder}); see {home.demo / 'server.log'}")


def upload_labels(story: Story, endpoint: dict[str, Any], start_hour: datetime, labels: list[list[tuple[str, str]]]) -> None:
    """The served rows' labels, as ground truth collected an hour after their hour: what the
    model-quality and bias schedules merge with the capture, and what a retraining learns from."""
    from pipelines.monitor import ground_truth

    prefix = deploy.ground_truth_destination(endpoint["DataCaptureConfig"]["DestinationS3Uri"])
    store = story.home.objects()
    for hour, rows in enumerate(labels):
        collected = start_hour + timedelta(hours=hour + 1, minutes=5)
        uri = ground_truth.key(prefix, endpoint["EndpointName"], collected)
        with tempfile.TemporaryDirectory(prefix="labels-") as scratch:
            file = Path(scratch) / "labels.jsonl"
            file.write_bytes(ground_truth.body([ground_truth.Label(identifier, label) for identifier, label in rows]))
            store.put_file(file, uri)
    story.echo(f"    {sum(len(rows) for rows in labels)} labels (the held-out rows' real outcomes) uploaded an hour after their predictions, under {prefix}/")
