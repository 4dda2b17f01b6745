"""Jobs at the real paths, writing nowhere but their sandbox and the store.

SageMaker's containers find their inputs and put their outputs under ``/opt/ml``, and nearly
every example script hard-codes those paths (``/opt/ml/processing/train``). On Linux with
bubblewrap (Debian's ``bubblewrap``), each job runs in a mount namespace of its own:

- ``/opt/ml`` is the job's sandbox (``$MLOPS_HOME/jobs/<job>/opt/ml``), so a script that writes
  ``/opt/ml/processing/train/train.csv`` writes its sandbox, never the host's, even as root;
- the rest of the host is there read-only: ``/`` is a tmpfs into which the host's top-level
  folders (``/opt``'s entries too, but ``/opt/ml``) are bound read-only; ``/dev`` is the
  host's, ``/proc`` the namespace's own;
- writable, at their own paths: the job's directory (its sandbox) and the object store
  (``s3://`` URIs a job opens itself, ``MLOPS_S3_ROOT``); ``/tmp`` is the job's own tmpfs,
  gone when it ends, as a container's is, in which the host's ``/tmp`` folders that hold what
  the job needs (its interpreter, this project, any path its command or environment names) are
  there read-only;
- with network isolation, a network namespace of its own with nothing in it.

Without bubblewrap (macOS, a container that cannot make namespaces), jobs run as before, seeing
the sandbox only through the paths the definition names and writing wherever their user may, and
each job's log says so; network isolation then uses ``isolation.py``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

OPT_ML = "/opt/ml"
_SKIPPED = {"dev", "proc", "opt", "tmp"}


@functools.lru_cache(maxsize=1)
def problem() -> str | None:
    """None when jobs can be confined here; else why not, in one line."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed: jobs see their sandbox only through the paths the definition names, and a script that hard-codes /opt/ml writes to the host's (apt-get install bubblewrap)"
    tried = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"], capture_output=True, text=True)
    if tried.returncode != 0:
        return f"bubblewrap cannot make namespaces here ({tried.stderr.strip() or tried.returncode}): jobs run unconfined"
    return None


def command(job_command: list[str], sandbox: Path, writable: list[Path], job_environment: dict[str, str], network: bool = True) -> list[str]:
    """``job_command`` in a mount namespace whose ``/opt/ml`` is ``sandbox/opt/ml``, where only
    ``writable`` (and the sandbox) can be written."""
    bwrap = shutil.which("bwrap")
    assert bwrap is not None and problem() is None
    args = [bwrap, "--die-with-parent", "--tmpfs", "/"]
    for entry in sorted(Path("/").iterdir()):
        if entry.name in _SKIPPED:
            continue
        if entry.is_symlink():  # /bin -> usr/bin on a merged /usr
            args += ["--symlink", os.readlink(entry), str(entry)]
        elif entry.is_dir():
            args += ["--ro-bind", str(entry), str(entry)]
    args += ["--dev-bind", "/dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", "/opt"]
    # Of the host's /tmp, what the job is known to need stays readable: the folders there that
    # hold its interpreter, this project, its working directory, and any path its command or
    # environment names (a checkout or a virtualenv can live in /tmp). The rest is not there.
    for entry in _tmp_entries(job_command, job_environment):
        args += ["--ro-bind-try", str(entry), str(entry)]  # -try: it may be gone meanwhile
    for entry in sorted(Path("/opt").iterdir()) if Path("/opt").is_dir() else []:
        if entry.name != "ml":
            args += ["--symlink", os.readlink(entry), str(entry)] if entry.is_symlink() else ["--ro-bind-try", str(entry), str(entry)]  # -try: it may go meanwhile
    for path in [sandbox, *writable]:
        path.mkdir(parents=True, exist_ok=True)
        args += ["--bind", str(path), str(path)]
    (sandbox / "opt" / "ml").mkdir(parents=True, exist_ok=True)
    args += ["--bind", str(sandbox / "opt" / "ml"), OPT_ML]
    if not network:
        args += ["--unshare-net"]
    return [*args, "--", *job_command]


def _tmp_entries(job_command: list[str], job_environment: dict[str, str]) -> list[Path]:
    """The top-level entries of /tmp that hold a path the job needs."""
    import sys

    named = [sys.prefix, sys.base_prefix, sys.executable, str(Path(__file__).resolve().parents[2]), os.getcwd()]
    named += [part for value in [*job_command, *job_environment.values()] for part in str(value).split(os.pathsep)]
    own = set(environment().values())  # the job's own /tmp paths
    found = set()
    for value in named:
        if value.startswith("/tmp/") and value not in own:
            found.add(Path("/tmp") / Path(value).parts[2])
    return sorted(found)


def environment() -> dict[str, str]:
    """What a confined job's environment gets: temporary files and caches in its own /tmp."""
    return {"TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "XDG_CACHE_HOME": "/tmp/cache"}
