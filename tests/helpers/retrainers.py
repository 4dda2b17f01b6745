"""A fake at the monitor's retraining seam: records what it is asked, answers what it is told."""

from __future__ import annotations


class FakeRetrainer:
    def __init__(self, handle: str = "arn:retrain", running: bool = False) -> None:
        self.handle = handle
        self.calls: list[tuple[str, str]] = []
        self.is_running = running
        self.resolved: dict[str, str] = {}  # handle -> what it became, as the test says

    def start(self, alarm: str, reason: str, window: object = None) -> str:
        self.calls.append((alarm, reason))
        return f"{self.handle}:{len(self.calls)}" if self.handle == "arn:retrain" else self.handle

    def running(self, handle: str) -> bool:
        return self.is_running

    def resolve(self, handle: str) -> str:
        return self.resolved.get(handle, handle)
