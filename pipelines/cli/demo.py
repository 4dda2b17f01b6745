"""``mlops demo``: the command; the story is ``pipelines/demo/``."""

from __future__ import annotations

import click

from pipelines.cli.context import Settings


@click.command(
    "demo",
    help="Run the whole story: pipeline, approval, endpoint, traffic with drift, monitoring, model quality with late labels, fairness and explanations, alarm, retraining, lineage.",
    epilog="Example:\n\n  mlops demo\n\n  mlops demo --keep-serving   (the endpoint keeps answering afterwards)",
)
@click.option("--keep-serving", is_flag=True, help="leave the endpoint server running at the end")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="port for the endpoint server (default: a free one)")
@click.pass_obj
def command(obj: Settings, keep_serving: bool, port: int | None) -> int:
    from pipelines.demo.main import run

    return run(obj.home, keep_serving=keep_serving, port=port)
