"""``model.tar.gz``: reading one without trusting it, and the rounds its model is served with.

The one reader of model archives: the registry, the endpoint and the monitoring jobs (the
analyzer bundle ships this module) all use it. Only ``steps/evaluate.py`` has its own, because a
job script runs alone (SageMaker hands the processing job that one file);
``tests/steps/test_evaluate.py`` holds the two to the same refusals and the same rounds.

``read_model`` reads the archive in memory, never extracting it, and refuses it before
unpacking anything dangerous: an entry whose name is absolute or climbs out with ``..``, a
link or a device, more than ``MAX_ENTRIES`` entries, more than ``MAX_UNPACKED_BYTES`` in all as
the entries' headers declare, or, past ``RATIO_FLOOR``, more than ``MAX_RATIO`` times the
archive's own size (a gzip bomb is refused at its first header, not after gigabytes: 900 MB of
zeros packs into under 1 MB, while a real model, floats in JSON or UBJSON, packs a few times at
most). The bytes of the model file are then read with the same limit.
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from pathlib import Path
from typing import Any

from pipelines.core import xgb

ARCHIVE_FILE = "model.tar.gz"  # what a training job writes and a model points at
MODEL_FILE = "xgboost-model"  # what the built-in XGBoost container loads
MAX_UNPACKED_BYTES = 1 << 30  # 1 GiB: far above any model this container serves well
MAX_ENTRIES = 10_000
MAX_RATIO = 100  # unpacked bytes per byte of archive
RATIO_FLOOR = 64 << 20  # below this, any ratio: small archives of repetitive files are harmless


class ArchiveError(Exception):
    """The archive cannot be used; the message names it and says why."""


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


class _BoosterOnly(pickle.Unpickler):
    """Unpickles an XGBoost Booster and nothing else: the only globals a pickled Booster names
    are its class and ``bytearray`` (its model bytes); any other is refused before it is looked
    up, so a crafted pickle cannot run code."""

    ALLOWED = {("xgboost.core", "Booster"), ("builtins", "bytearray")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a pickled XGBoost Booster")
        return super().find_class(module, name)


def load_booster(raw: bytes, where: str) -> Any:
    """The Booster in ``xgboost-model``'s bytes: XGBoost's own formats (JSON, UBJSON, legacy
    binary), or a pickled Booster, as the 0.90-x, 1.0-1 and 1.2-x containers write it (and their
    serving loads it: pickle first, then ``load_model``)."""
    xgboost = xgb.module()
    if raw[:1] == b"\x80":  # a pickle (protocol 2 or later)
        try:
            booster = _BoosterOnly(io.BytesIO(raw)).load()
        except Exception as exc:  # noqa: BLE001 - whatever a damaged or hostile pickle raises
            raise ArchiveError(f"{where}: {MODEL_FILE} is a pickle but not of an XGBoost Booster ({exc}); refused") from None
        if not isinstance(booster, xgboost.Booster):
            raise ArchiveError(f"{where}: {MODEL_FILE} is a pickle of {type(booster).__name__}, not of an XGBoost Booster; refused")
        return booster
    booster = xgboost.Booster()
    try:
        booster.load_model(bytearray(raw))
    except xgboost.core.XGBoostError as exc:
        raise ArchiveError(f"{where}: {MODEL_FILE} is not an XGBoost model: {str(exc).splitlines()[0]}") from exc
    return booster


def served_iterations(booster: Any) -> tuple:
    """The boosting rounds SageMaker's XGBoost container scores with, as ``iteration_range``.

    The 1.7-1 container predicts with ``ntree_limit=getattr(booster, "best_ntree_limit", 0)``
    (``serve_utils.py``); XGBoost 1.7 sets that from the model's ``best_ntree_limit`` attribute
    when it loads a model, and its training writes the attribute on every model:
    ``(best_iteration + 1) * num_parallel_tree``, so an early-stopped model is served with the
    rounds up to its best one, not with all it trained. ``(0, 0)`` (every round) without it.
    """
    limit = booster.attr("best_ntree_limit")
    if not limit:
        return (0, 0)
    try:
        parameters = json.loads(booster.save_config())["learner"]["gradient_booster"]
        parallel = int((parameters.get("gbtree") or parameters).get("gbtree_model_param", {}).get("num_parallel_tree", 1))
    except (ValueError, KeyError, TypeError):
        parallel = 1
    return (0, max(1, int(limit) // max(1, parallel)))


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)
