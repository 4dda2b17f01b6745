"""Where the local twin keeps its state, and in which account and region it pretends to be.

``MLOPS_HOME`` (default ``.mlops/`` in the working directory) is resolved once, at the top (the
CLI), and passed down. ``Home`` is the only map of it: every file name below is spelled here
and nowhere else.

    $MLOPS_HOME/
      s3/<bucket>/<key>              the object store that s3:// URIs map to
      jobs/<job-name>/               one sandbox per processing or training job, while it runs
      executions/<id>/<step>.log     one log file per step
      mlops.db                       executions, steps and the step cache
      registry.db                    model package groups, packages, approvals
      serving.db                     models, endpoint configs, endpoints
      monitoring.db                  monitoring schedules, executions, alarms
      lineage.db                     SageMaker's lineage model
      api.db                         what the local AWS endpoint keeps: pipelines, tags, request tokens
      mlflow.db                      MLflow's tracking store (experiments)
      experiments.log                what experiment logging said
      serving/credentials            the endpoint's SigV4 key (0600)
      serving/proxy-ca.pem, .key     the certificate authority of mlops serve's AWS proxy (key 0600)
      serving/stats/                 capture counts per server process
      serving/workers/               what each server process serves
      demo/, retraining/             the demo's state and logs; retraining runs' logs
      images.json, stages.json       optional settings: more images; stage endpoints and sampling

The account (``000000000000``, as moto uses) and the region (``AWS_DEFAULT_REGION``, else
``AWS_REGION``, else us-east-1) are the home's too: every ARN the twin makes comes from here.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import UsageError
from pipelines.local.store import ObjectStore

logger = logging.getLogger(__name__)
ENV_VARIABLE = "MLOPS_HOME"
DEFAULT = ".mlops"
ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"


def default_region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION


@dataclass(frozen=True)
class Home:
    root: Path
    region: str = DEFAULT_REGION
    account: str = ACCOUNT

    @classmethod
    def resolve(cls, explicit: str | Path | None = None, region: str | None = None) -> "Home":
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
        return cls(root, region or default_region())

    def arn(self, resource: str, name: str) -> str:
        """``arn:aws:sagemaker:{region}:{account}:{resource}/{name}``, as SageMaker spells them."""
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{resource}/{name}"

    # -- the object store and job sandboxes -------------------------------------------------
    @property
    def store(self) -> Path:
        return self.root / "s3"

    def objects(self) -> ObjectStore:
        return ObjectStore(self.store)

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def executions(self) -> Path:
        return self.root / "executions"

    def execution_dir(self, execution_id: str) -> Path:
        return self.executions / execution_id

    # -- the stores -------------------------------------------------------------------------
    @property
    def database(self) -> Path:
        """The engine's records: executions, steps, the step cache."""
        return self.root / "mlops.db"

    @property
    def registry_db(self) -> Path:
        return self.root / "registry.db"

    @property
    def serving_db(self) -> Path:
        return self.root / "serving.db"

    @property
    def monitoring_db(self) -> Path:
        return self.root / "monitoring.db"

    @property
    def lineage_db(self) -> Path:
        return self.root / "lineage.db"

    @property
    def api_db(self) -> Path:
        return self.root / "api.db"

    @property
    def mlflow_db(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def experiments_log(self) -> Path:
        return self.root / "experiments.log"

    # -- serving ----------------------------------------------------------------------------
    @property
    def serving(self) -> Path:
        return self.root / "serving"

    @property
    def credentials(self) -> Path:
        return self.serving / "credentials"

    @property
    def proxy_ca(self) -> Path:
        return self.serving / "proxy-ca.pem"

    @property
    def proxy_ca_key(self) -> Path:
        return self.serving / "proxy-ca.key"

    @property
    def capture_stats(self) -> Path:
        return self.serving / "stats"

    @property
    def workers(self) -> Path:
        return self.serving / "workers"

    # -- settings and logs ------------------------------------------------------------------
    @property
    def images(self) -> Path:
        return self.root / "images.json"

    @property
    def stages(self) -> Path:
        return self.root / "stages.json"

    @property
    def demo(self) -> Path:
        return self.root / "demo"

    @property
    def retraining(self) -> Path:
        return self.root / "retraining"
