"""The one place where errors become what the user reads and the exit code.

Our errors (``pipelines.core.errors.MlopsError``) print ``headline: message`` and exit 1; click's
usage errors print its usage text and exit 2; Ctrl-C exits 130; a full disk, and a file the OS
will not let us write, are one line and exit 1. Anything else is a bug and is shown with its traceback.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from typing import Sequence

import click

from pipelines.core import threads
from pipelines.core.errors import MlopsError, disk_full, not_writable


def configure_logging() -> None:
    """Configure the root logger before the SDK is imported (its modules call basicConfig).

    ``MLOPS_LOG_LEVEL`` (default WARNING) sets the level; the SDK's own chatter is held to
    errors unless the level is DEBUG.
    """
    level = os.environ.get("MLOPS_LOG_LEVEL", "WARNING").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if level != "DEBUG":
        # SDK loggers set their own levels, so filter at the handler rather than the logger.
        handler.addFilter(_hold_sdk_chatter)
        logging.captureWarnings(True)
    logging.basicConfig(level=level, handlers=[handler])


def _hold_sdk_chatter(record: logging.LogRecord) -> bool:
    noisy = record.name.startswith(("sagemaker", "botocore", "py.warnings"))
    return not noisy or record.levelno >= logging.ERROR


def run(command: click.Command, argv: Sequence[str] | None = None, prog_name: str | None = None) -> int:
    configure_logging()
    threads.prefer_passive_waits()  # before any command imports XGBoost
    try:
        result = command.main(args=list(argv) if argv is not None else None, prog_name=prog_name, standalone_mode=False)
    except MlopsError as exc:
        click.echo(f"{exc.headline}: {exc}", err=True)
        return 1
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except (OSError, sqlite3.OperationalError) as exc:
        if disk_full(exc):
            click.echo(f"disk full: {exc}; free some space where MLOPS_HOME is and run again (an execution this left unfinished is marked Failed)", err=True)
            return 1
        if not_writable(exc):
            click.echo(f"cannot write {exc.filename}: {exc.strerror}; run with a home you can write (mlops --home or MLOPS_HOME)", err=True)  # type: ignore[union-attr]
            return 1
        raise
    return result if isinstance(result, int) else 0


def exit_now(code: int) -> None:
    """End a console script: flush what it wrote, then leave without interpreter teardown.

    Tearing down the SDK's modules (tens of thousands of objects) takes about a second after
    the work is done; nothing of ours needs it, since files are closed where they are written.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
