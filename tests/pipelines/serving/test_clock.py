"""The capture clock: a driver sets a simulated window, every server process stamps inside it."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest

from pipelines.cli import main as mlops
from pipelines.core.errors import UsageError
from pipelines.local.home import Home
from pipelines.serving.clock import FileClock, read_setting, set_clock
from tests.helpers.load import cpu_load
from tests.helpers.serving_helpers import RunningServer, deployed_home

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
ROW = "0.1,0.2,20000,2,2,1,24,2,2,-1,-1,-2,-2,3913,3102,689,0,0,0,689,0,0,0"


def test_stamps_stay_inside_the_window_however_much_time_passes(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    set_clock(path, T0, T0 + HOUR, speed=1e12)  # a microsecond of real time is years here
    clock = FileClock(path)
    stamps = [clock() for _ in range(1000)]
    assert all(T0.timestamp() <= s < (T0 + HOUR).timestamp() for s in stamps)
    assert stamps == sorted(stamps)
    set_clock(path, T0 + HOUR, T0 + 2 * HOUR, speed=1.0)  # the driver moves to the next hour
    assert (T0 + HOUR).timestamp() <= clock() < (T0 + 2 * HOUR).timestamp()


def test_without_an_end_the_clock_runs_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    set_clock(path, T0, speed=1.0)
    setting = read_setting(path)
    assert setting.end is None and setting.speed == 1.0
    assert setting.at(setting.set_at + 90) == T0.timestamp() + 90
    assert setting.at(setting.set_at - 5) == T0.timestamp()  # never before its start


def test_a_clock_file_written_by_hand_counts_from_when_it_was_saved(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    path.write_text(json.dumps({"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T11:00:00Z", "speed": 60}))
    os.utime(path, (1_000_000.0, 1_000_000.0))
    setting = read_setting(path)
    assert setting.set_at == 1_000_000.0 and setting.at(1_000_010.0) == T0.timestamp() + 600


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not readable JSON"),
        ("[1, 2]", "a JSON object with start, end and speed is expected"),
        ('{"end": "2026-12-01T11:00:00Z"}', "start is required"),
        ('{"start": "yesterday"}', "start must be an ISO-8601 time, got 'yesterday'"),
        ('{"start": "2026-12-01T10:00:00Z", "speed": 0}', "speed must be a positive number, got 0"),
        ('{"start": "2026-12-01T10:00:00Z", "speed": "fast"}', "speed must be a positive number, got 'fast'"),
        ('{"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T09:00:00Z"}', "end must come after start"),
    ],
)
def test_a_wrong_clock_file_is_refused_naming_the_file_and_the_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "clock.json"
    path.write_text(content)
    with pytest.raises(UsageError) as error:
        FileClock(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_a_broken_file_while_serving_keeps_the_last_good_setting(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    set_clock(path, T0, T0 + HOUR)
    clock = FileClock(path)
    path.write_text("{ half a fi")
    assert T0.timestamp() <= clock() < (T0 + HOUR).timestamp()
    path.unlink()
    assert T0.timestamp() <= clock() < (T0 + HOUR).timestamp()


def test_serve_refuses_a_missing_clock_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.json"
    assert mlops.main(["--home", str(tmp_path / "home"), "serve", "--clock-file", str(missing)]) == 1
    assert f"clock file {missing}: does not exist" in capsys.readouterr().err


def hour_counts(home: Home) -> dict[str, list[str]]:
    root = home.store / "sagemaker-us-east-1-mlops" / "credit-default" / "data-capture" / "credit-staging" / "AllTraffic"
    found: dict[str, list[str]] = {}
    for path in root.rglob("*.jsonl"):
        hour = "/".join(path.relative_to(root).parts[:4])
        found.setdefault(hour, []).extend(json.loads(line)["eventMetadata"]["inferenceTime"] for line in path.read_text().splitlines())
    return found


def test_each_hour_of_traffic_lands_in_its_hour_under_cpu_load(tmp_path: Path, model_dir: Path) -> None:
    """The demo's contract: the driver sets an hour, sends, waits for the answers, moves on.
    With two CPU-bound processes beside two server workers, no request leaves its hour."""
    home = deployed_home(tmp_path / "home", model_dir)
    clock = tmp_path / "clock.json"
    set_clock(clock, T0, T0 + HOUR, speed=720)
    with cpu_load(2):
        server = RunningServer(home, workers=2, extra_args=("--clock-file", str(clock)))
        try:
            client = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=server.url)
            for hour in range(3):
                set_clock(clock, T0 + hour * HOUR, T0 + (hour + 1) * HOUR, speed=720)
                for i in range(120):
                    client.invoke_endpoint(EndpointName="credit-staging", ContentType="text/csv", Body=ROW, InferenceId=f"{hour}-{i}")["Body"].read()
        finally:
            assert server.stop() == 0
    found = hour_counts(home)
    assert sorted(found) == [f"{T0 + h * HOUR:%Y/%m/%d/%H}" for h in range(3)]
    for hour in range(3):
        stamps = found[f"{T0 + hour * HOUR:%Y/%m/%d/%H}"]
        assert len(stamps) == 120
        assert all(s.startswith(f"{T0 + hour * HOUR:%Y-%m-%dT%H}:") for s in stamps)


def test_clock_start_replays_from_a_given_time(tmp_path: Path, model_dir: Path) -> None:
    home = deployed_home(tmp_path / "home", model_dir)
    server = RunningServer(home, extra_args=("--clock-start", "2020-01-02T03:00:00Z"))
    try:
        client = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=server.url)
        client.invoke_endpoint(EndpointName="credit-staging", ContentType="text/csv", Body=ROW)["Body"].read()
    finally:
        server.stop()  # one uvicorn process re-raises SIGTERM once it has shut down cleanly
    (stamp,) = [s for stamps in hour_counts(home).values() for s in stamps]
    assert stamp >= "2020-01-02T03:00:00Z" and stamp < "2021"
