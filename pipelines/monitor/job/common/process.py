"""What a job's own process sets up before it runs (the bundle's ``__main__``, the container's program).

Part of the analyzer bundle (``bundle.py``): standard library only, Python 3.9.
"""

from __future__ import annotations

import sys


def without_pandas() -> None:
    """Make pandas unimportable in this process: pyarrow would import it (0.15 s, a quarter of an
    hourly execution) the first time it converts values, only to ask whether they are pandas
    objects or types, and the jobs never have any. pyarrow goes on without it, as where pandas
    is not installed. A process that has already imported pandas is left as it is."""
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _Unimportable("pandas"))


class _Unimportable:
    """A finder that makes one top-level module unimportable while it is on ``sys.meta_path``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == self.name:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None
