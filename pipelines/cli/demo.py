"""``mlops demo``: the whole lifecycle on this machine, step by step."""

from __future__ import annotations

import click

from pipelines import demo as story
from pipelines.local.home import Home


@click.command(
    "demo",
    help="Run the whole story: pipeline, approval, endpoint, traffic with drift, monitoring, alarm, retraining, lineage.",
    epilog="Example:\n\n  mlops demo\n\n  mlops demo --keep-serving   (the endpoint keeps answering afterwards)",
)
@click.option("--keep-serving", is_flag=True, help="leave the endpoint server running at the end")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="port for the endpoint server (default: a free one)")
@click.pass_obj
def command(obj: dict, keep_serving: bool, port: int | None) -> int:
    return story.run(Home.resolve(obj.get("home")), keep_serving=keep_serving, port=port)
