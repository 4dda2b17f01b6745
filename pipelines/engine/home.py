"""Where the local twin keeps its state: ``MLOPS_HOME`` (default ``.mlops/`` in the working
directory). Resolved once, at the top (the CLI), and passed down.

    $MLOPS_HOME/
      s3/<bucket>/<key>            the object store that s3:// URIs map to
      jobs/<job-name>/             one sandbox per processing or training job
      executions/<id>/<step>.log   one log file per step
      mlops.db                     executions, steps and the step cache (SQLite)
      images.json                  optional: more container images mapped to local runtimes
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_VARIABLE = "MLOPS_HOME"
DEFAULT = ".mlops"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, explicit: str | Path | None = None) -> "Home":
        """``explicit``, else ``$MLOPS_HOME``, else ``./.mlops``; created owner-only."""
        root = Path(explicit or os.environ.get(ENV_VARIABLE) or DEFAULT).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(root)

    @property
    def store(self) -> Path:
        return self.root / "s3"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def database(self) -> Path:
        return self.root / "mlops.db"

    @property
    def images(self) -> Path:
        return self.root / "images.json"

    def execution_dir(self, execution_id: str) -> Path:
        return self.root / "executions" / execution_id
