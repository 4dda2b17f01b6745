"""FrameworkProcessor jobs: what the SDK's ``runproc.sh`` does, without bash and without pip.

A FrameworkProcessor (``source_dir`` and ``code``) runs ``/bin/bash .../runproc.sh ARGS``: it
``cd``s to the code input, unpacks ``sourcedir.tar.gz``, installs ``requirements.txt`` with pip
if there is one, then runs the last line, ``python3 <script> "$@"``. Locally the same steps run
in the image's python3 (``RUNNER``), reading that very script: the archive is unpacked with
its entries checked (nothing outside the folder, no links), and the requirements are *checked*
instead of installed (the workshop's jobs have no internet): a requirement this interpreter
lacks fails the job with its name.
"""

from __future__ import annotations

RUNPROC = "runproc.sh"

RUNNER = r'''
import os, re, subprocess, sys, tarfile
from importlib import metadata
runproc, code = sys.argv[1:3]
args = sys.argv[3:]
lines = [l.strip() for l in open(runproc).read().splitlines() if l.strip() and not l.strip().startswith("#")]
run = re.match(r'^(python3?)\s+(\S+)\s+"\$@"$', lines[-1]) if lines else None
if run is None:
    sys.exit(f"runproc.sh: its last line {lines[-1] if lines else ''!r} is not the 'python3 <script> \"$@\"' the SDK writes")
os.chdir(code)
archive = os.path.join(code, "sourcedir.tar.gz")
if not os.path.isfile(archive):
    sys.exit(f"ERROR: sourcedir.tar.gz not found in the code input ({code})")
with tarfile.open(archive) as tar:
    root = os.path.realpath(code)
    for member in tar.getmembers():
        target = os.path.realpath(os.path.join(code, member.name))
        if member.issym() or member.islnk() or not (target == root or target.startswith(root + os.sep)):
            sys.exit(f"sourcedir.tar.gz: {member.name} would land outside the code folder, or is a link: refused")
    tar.extractall(code)
if os.path.isfile("requirements.txt"):
    from packaging.requirements import InvalidRequirement, Requirement
    missing = []
    for line in open("requirements.txt").read().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        try:
            requirement = Requirement(text)
            version = metadata.version(requirement.name)
            if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
                missing.append(f"{text} (installed: {version})")
        except InvalidRequirement:
            missing.append(f"{text} (not a requirement this reads)")
        except metadata.PackageNotFoundError:
            missing.append(f"{text} (not installed)")
    if missing:
        sys.exit("requirements.txt needs what this machine lacks, and nothing is installed from the network: " + "; ".join(missing))
    print("requirements.txt: every requirement is installed here (nothing installed)", flush=True)
print(f"running: python3 {run.group(2)} " + " ".join(args), flush=True)
sys.exit(subprocess.call([sys.executable, run.group(2), *args]))
'''


def is_framework(entrypoint: list[object]) -> bool:
    """``["/bin/bash", ".../runproc.sh"]``: the entrypoint the SDK's FrameworkProcessor sets."""
    return len(entrypoint) == 2 and entrypoint[0] in ("/bin/bash", "bash") and isinstance(entrypoint[1], str) and entrypoint[1].endswith(f"/{RUNPROC}")
