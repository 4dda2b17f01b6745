"""What a monitoring job leaves: the files it writes (their names, written whole, in the JSON
layout SageMaker's files have), its result (violations, metrics and counters, its status in
SageMaker's words), the ExitMessage, and the one failure every job raises. Standard library
only, Python 3.8: every monitoring job, on either image, uses it.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from pipelines.core.fileio import write_text_atomic

STATISTICS = "statistics.json"
CONSTRAINTS = "constraints.json"
VIOLATIONS = "constraint_violations.json"
METRICS = "cloudwatch_metrics.json"
REPORT = "analysis_report.json"


class JobFailed(Exception):
    """The job cannot produce a result (no data, an unreadable baseline, a wrong argument); the
    message is the reason, as the job's ExitMessage and the execution's FailureReason."""


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


def read_object(path: Path, what: str) -> Dict[str, Any]:
    """A JSON object the job was given (a baseline file); JobFailed naming ``what`` and the path otherwise."""
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise JobFailed(f"{what}: {path} does not exist") from exc
    except json.JSONDecodeError as exc:
        raise JobFailed(f"{what}: {path} is not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(document, dict):
        raise JobFailed(f"{what}: {path} is not a JSON object")
    return document


def write_files(output: Path, files: Dict[str, Any]) -> None:
    """Each ``{name: document}`` as ``output/name``, written whole (``dumps``' layout)."""
    output.mkdir(parents=True, exist_ok=True)
    for name, document in files.items():
        write_text_atomic(output / name, dumps(document) + "\n")


def dumps(document: Any) -> str:
    """Indented JSON with arrays of numbers on one line, as SageMaker's (Jackson's) files have
    them. The sketches' thousands of values go through the C encoder rather than one line each
    through the indenting (pure Python) one: a 3.4 MB statistics.json took 0.35 s, now 0.03 s."""
    inlined: List[str] = []
    token = secrets.token_hex(8)  # no value of the document can be mistaken for a placeholder

    def mark(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: mark(value) for key, value in node.items()}
        if isinstance(node, list):
            if node and not any(isinstance(item, dict) for item in node):
                inlined.append(json.dumps(node))
                return f"{token}-{len(inlined) - 1}"
            return [mark(item) for item in node]
        return node

    text = json.dumps(mark(document), indent=2)
    return re.sub(f'"{token}-(\\d+)"', lambda match: inlined[int(match.group(1))], text)
