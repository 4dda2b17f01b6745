"""The user's cache folder for this tool: ``$XDG_CACHE_HOME/mlops`` (``~/.cache/mlops`` by default).

What is kept there is derived, keyed by what it was derived from, and safe to delete: rendered
definitions (``build/render_cache.py``) and the few botocore shapes the twin checks values
against (``core/shapes.py``).
"""

from __future__ import annotations

import os
from pathlib import Path


def folder(*parts: str) -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "mlops", *parts)
