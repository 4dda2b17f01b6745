"""Where the local twin keeps its state: ``MLOPS_HOME`` (default ``.mlops/`` in the working
directory). Resolved once, at the top (the CLI), and passed down.

    $MLOPS_HOME/
      s3/<bucket>/<key>            the object store that s3:// URIs map to
      jobs/<job-name>/             one sandbox per processing or training job, while it runs
      executions/<id>/<step>.log   one log file per step
      mlops.db                     executions, steps and the step cache (SQLite)
      images.json                  optional: more container images mapped to local runtimes
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import UsageError

logger = logging.getLogger(__name__)
ENV_VARIABLE = "MLOPS_HOME"
DEFAULT = ".mlops"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, explicit: str | Path | None = None) -> "Home":
        """``explicit``, else ``$MLOPS_HOME``, else ``./.mlops``; owner-only.

        Everything under it (captured rows, copies of the training data, the databases) is
        personal data: an existing folder that others could read or enter is made owner-only
        (0700), with a warning, and refused when that is not possible.
        """
        root = Path(explicit or os.environ.get(ENV_VARIABLE) or DEFAULT).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode = stat.S_IMODE(root.stat().st_mode)
        if mode & 0o077:
            try:
                root.chmod(0o700)
            except OSError as exc:
                raise UsageError(f"MLOPS_HOME {root} is open to others (mode {mode:04o}) and cannot be made owner-only: {exc.strerror}; chmod 700 it or choose another folder") from exc
            logger.warning("MLOPS_HOME %s was open to others (mode %04o); it is now owner-only (0700)", root, mode)
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
