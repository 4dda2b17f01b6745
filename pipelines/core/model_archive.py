"""``model.tar.gz``: where a model comes from, and reading one without trusting it.

``check_url`` is SageMaker's rule for ``ModelDataUrl`` (the ``Url`` shape of botocore's service
model), with what the local store adds (``shapes.py``).

``read_model`` reads the archive in memory, never extracting it, and refuses it before
unpacking anything dangerous: an entry whose name is absolute or climbs out with ``..``, a
link or a device, more than ``MAX_ENTRIES`` entries, more than ``MAX_UNPACKED_BYTES`` in all as
the entries' headers declare, or, past ``RATIO_FLOOR``, more than ``MAX_RATIO`` times the
archive's own size (a gzip bomb is refused at its first header, not after gigabytes: 900 MB of
zeros packs into under 1 MB, while a real model, floats in JSON or UBJSON, packs a few times at
most). The bytes of the model file are then read with the same limit.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from pipelines.core import shapes

MODEL_FILE = "xgboost-model"  # what the built-in XGBoost container loads
MAX_UNPACKED_BYTES = 1 << 30  # 1 GiB: far above any model this container serves well
MAX_ENTRIES = 10_000
MAX_RATIO = 100  # unpacked bytes per byte of archive
RATIO_FLOOR = 64 << 20  # below this, any ratio: small archives of repetitive files are harmless


class ArchiveError(Exception):
    """The archive cannot be used; the message names it and says why."""


def check_url(url: object) -> str | None:
    """None when ``url`` is a ModelDataUrl SageMaker accepts and the local twin can serve; else why not."""
    return shapes.uri_problem(url, "Url")


def read_model(archive: Path, limit: int = MAX_UNPACKED_BYTES) -> bytes:
    """The bytes of ``xgboost-model`` in ``archive``, after checking every entry is harmless."""
    try:
        packed = Path(archive).stat().st_size
        with tarfile.open(archive, "r:*") as tar:
            total, count, model = 0, 0, None
            for member in tar:  # headers one at a time: refused at the first one over the limits
                count += 1
                total += max(member.size, 0)
                if count > MAX_ENTRIES:
                    raise ArchiveError(f"{archive}: more than {MAX_ENTRIES:,} entries; refused")
                if total > limit:
                    raise ArchiveError(f"{archive}: unpacks to more than {_size(limit)} (entry {member.name!r} declares {_size(member.size)}); refused")
                if total > RATIO_FLOOR and total > MAX_RATIO * packed:
                    raise ArchiveError(f"{archive}: declares {_size(total)} unpacked from {_size(packed)} (entry {member.name!r}), more than {MAX_RATIO} times its size, which no model packs to; refused")
                if member.name.startswith("/") or ".." in Path(member.name).parts:
                    raise ArchiveError(f"{archive}: entry {member.name!r} would leave the model directory; refused")
                if not (member.isfile() or member.isdir()):
                    raise ArchiveError(f"{archive}: entry {member.name!r} is a link or special file; refused")
                if model is None and member.isfile() and Path(member.name).name == MODEL_FILE:
                    model = member
            if model is None:
                names = ", ".join(m.name for m in tar.getmembers()[:20]) or "nothing"
                raise ArchiveError(f"{archive} holds no {MODEL_FILE} (it holds: {names})")
            handle = tar.extractfile(model)
            assert handle is not None
            data = handle.read(limit + 1)
    except FileNotFoundError as exc:
        raise ArchiveError(f"{archive} does not exist") from exc
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"{archive}: not a readable tar archive ({exc})") from exc
    if len(data) > limit:
        raise ArchiveError(f"{archive}: {MODEL_FILE} is larger than {_size(limit)}; refused")
    return data


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)
