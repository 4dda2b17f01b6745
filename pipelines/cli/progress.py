"""Live progress of a local execution in the terminal, and the summary at its end."""

from __future__ import annotations

import threading
import time
from typing import Any

import click

from pipelines.engine.orchestrator import ExecutionResult
from pipelines.local.home import Home

_MARKS = {"Executing": "[ .. ]", "Succeeded": "[ ok ]", "Failed": "[FAIL]", "Stopped": "[STOP]"}


class Printer:
    """A progress callback for the engine: one line per step event, on stderr."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def __call__(self, name: str, status: str, info: dict[str, Any]) -> None:
        if not name:
            return  # the execution's own end: the summary says it
        clock = f"{time.monotonic() - self._started:6.1f}s"
        detail = ""
        if status == "Succeeded":
            detail = "cache hit" if info.get("cached") else f"{info.get('seconds', 0):.1f} s"
        elif info.get("failure_reason"):
            detail = str(info["failure_reason"]).splitlines()[0]
        mark = "[skip]" if info.get("omitted") else _MARKS.get(status, "[    ]")
        line = f"{clock} {mark} {name:<22} {info.get('type', ''):<15} {status}" + (f"  {detail}" if detail else "")
        with self._lock:
            click.echo(line, err=True)


def summary(result: ExecutionResult, home: Home) -> str:
    lines = [f"\nexecution {result.execution_id}: {result.status} in {result.seconds:.1f} s", f"  arn:  {result.arn}"]
    if result.failure_reason:
        first, *rest = result.failure_reason.splitlines()
        lines.append(f"  why:  {first}")
        lines.extend(f"        {line}" for line in rest)
    lines.append(f"  {'step':<22} {'status':<12} {'time':>8}")
    for step in result.steps:
        omitted = step.status == "Stopped" and step.log_path is None  # left out: never started
        time_text = "cached" if step.cached else ("-" if omitted else f"{step.seconds:.1f} s")
        note = step.detail or (step.failure_reason if omitted else None)
        lines.append(f"  {step.name:<22} {step.status:<12} {time_text:>8}" + (f"  {note}" if note else ""))
    lines.append(f"  logs:    {home.execution_dir(result.execution_id)}")
    lines.append(f"  outputs: {home.store} (s3://bucket/key is {home.store}/bucket/key)")
    return "\n".join(lines)
