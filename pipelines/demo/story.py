"""How the demo tells its story: the parts, their timings and facts, and the names it uses."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import click

from pipelines.engine.records import Records
from pipelines.local.home import Home

SCHEDULE = "credit-default-hourly"
QUALITY_SCHEDULE = "credit-default-quality"
BIAS_SCHEDULE = "credit-default-bias"
ATTRIBUTION_SCHEDULE = "credit-default-attribution"
ALARM = "credit-default-drift"
PARTS = 9
CLOCK_SPEED = 720.0  # simulated seconds per real second: spreads an hour's capture stamps
CLIENTS = 8
HOURS = (("clean", 500), ("clean", 500), ("drifted", 500), ("drifted", 500))



@dataclass
class Story:
    home: Home
    echo: Callable[[str], None] = click.echo
    timings: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def part(self, number: int, title: str) -> float:
        self.echo(click.style(f"\n[{number}/{PARTS}] {title}", bold=True))
        return time.perf_counter()

    def done(self, name: str, started: float) -> None:
        self.timings[name] = time.perf_counter() - started


def step_property(home: Home, execution_id: str, step: str, key: str) -> Any:
    records = Records(home)
    try:
        return (records.step_properties(execution_id, step) or {}).get(key)
    finally:
        records.close()


def output_uri(home: Home, execution_id: str, step: str, output: str) -> str:
    records = Records(home)
    try:
        properties = records.step_properties(execution_id, step) or {}
    finally:
        records.close()
    return next(o["S3Output"]["S3Uri"] for o in properties["ProcessingOutputConfig"]["Outputs"] if o["OutputName"] == output)
