"""EnableNetworkIsolation for a local job: a network namespace of its own, with nothing in it
(not even loopback up), as SageMaker gives an isolated container no network.

``unshare --net`` (util-linux) makes it; an unprivileged user needs a user namespace too
(``--map-root-user``: the job is root inside it, its files are the user's outside), which
Debian and Ubuntu allow by default. Where neither works (macOS, a container without the
capability), an isolated job fails before it starts, saying so: it is not run with a network
it asked not to have.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess


class Unavailable(Exception):
    """This machine cannot give a job a network namespace of its own."""


@functools.lru_cache(maxsize=1)
def wrapper() -> list[str]:
    """The command prefix that runs a job without network; Unavailable with the reason."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise Unavailable("this machine has no unshare (util-linux, Linux only) to give the job a network namespace of its own; run without network isolation locally")
    prefix = [unshare, "--net"] + ([] if os.geteuid() == 0 else ["--map-root-user"]) + ["--"]
    tried = subprocess.run([*prefix, "true"], capture_output=True, text=True)
    if tried.returncode != 0:
        raise Unavailable(f"{' '.join(prefix[:-1])} failed here ({tried.stderr.strip() or tried.returncode}): user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone)")
    return prefix
