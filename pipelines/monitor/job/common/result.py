"""A monitoring job's result: its violations, metrics and counters, its status in SageMaker's
words, and the ExitMessage it leaves. Standard library only, Python 3.8 (every monitoring job
returns one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional


@dataclass
class Result:
    kind: str  # "baseline" or "monitoring"
    output: Path
    violations: List[Dict[str, str]] = field(default_factory=list)
    metrics: Dict[str, float] = field(default_factory=dict)
    counters: Dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """A monitoring execution's status in SageMaker's words."""
        return "CompletedWithViolations" if self.violations else "Completed"

    @property
    def message(self) -> str:
        if self.violations:
            return f"Job completed successfully with {len(self.violations)} violations."
        return "Job completed successfully with no violations." if self.kind == "monitoring" else "Baseline suggested."


def write_message(path: Optional[str], text: str) -> None:
    """The job's ExitMessage (``/opt/ml/output/message``: SageMaker keeps its first 1 KiB)."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text[:1024])
