"""Errors a user can cause, and what the CLI prints for them.

    MlopsError                 a user mistake or an environment problem: one line, exit 1
    +-- UsageError             bad input: options, arguments, a request a store refuses
    |   +-- NotFound           the thing named does not exist
    |   +-- AlreadyExists      a thing by that name exists already
    |   +-- Conflict           the request does not fit the thing's state (already Approved ...)
    +-- DefinitionError        a pipeline definition that cannot be built or run
    +-- StateError             local state that cannot be used as asked: a read-only MLOPS_HOME
    |                          asked to record something, a damaged database (names the file)
    +-- AwsError               an AWS call refused: the code and AWS's message, on one line

Two environment problems are told apart from bugs wherever they surface (``disk_full``,
``not_writable``): the CLI prints them in one line, the engine makes them a step's reason.

Stores raise the kinds; the engine's handlers turn them into a step's failure reason
(``<aws_code>: message``) in one place, and the CLI prints ``headline: message``. Anything
else that escapes a command is a bug and is shown with its traceback.
"""

from __future__ import annotations

import errno


class MlopsError(Exception):
    """Base class: ``headline`` names the kind of problem, the message says what and where;
    ``aws_code`` is the error code SageMaker's API answers the same mistake with."""

    headline = "error"
    aws_code = "ValidationException"

    def __init__(self, message: str = "", aws_code: str | None = None) -> None:
        super().__init__(message) if message else super().__init__()
        if aws_code:
            self.aws_code = aws_code

    def __str__(self) -> str:
        return self.args[0] if self.args else self.headline


class UsageError(MlopsError):
    headline = "usage error"


class NotFound(UsageError):
    headline = "not found"
    aws_code = "ResourceNotFound"


class AlreadyExists(UsageError):
    headline = "already exists"
    aws_code = "ResourceInUse"


class Conflict(UsageError):
    headline = "conflict"
    aws_code = "ConflictException"


class DefinitionError(MlopsError):
    headline = "definition error"


class StateError(MlopsError):
    headline = "local state"
    aws_code = "InternalFailure"


class AwsError(MlopsError):
    headline = "AWS error"


def disk_full(exc: BaseException) -> bool:
    """A full disk or quota, as the OS or SQLite reports it: the environment, not a bug."""
    return getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in str(exc)


def not_writable(exc: BaseException) -> bool:
    """A file the OS will not let us write (a read-only mount, no permission): the environment."""
    return isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and exc.filename is not None
