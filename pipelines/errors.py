"""Errors a user can cause, and what the CLI prints for them.

    MlopsError                 a user mistake or an environment problem: one line, exit 1
    +-- UsageError             bad command-line input (--kwargs, --parameters, --tags ...)
    +-- DefinitionError        a pipeline definition that cannot be built or run
    +-- DataError              input data that does not fit (job scripts raise their own)
    +-- AwsError               an AWS call refused: the code and AWS's message, on one line

Anything else that escapes a command is a bug and is shown with its traceback.
"""

from __future__ import annotations


class MlopsError(Exception):
    """Base class: ``headline`` names the kind of problem, the message says what and where."""

    headline = "error"

    def __str__(self) -> str:
        return self.args[0] if self.args else self.headline


class UsageError(MlopsError):
    headline = "usage error"


class DefinitionError(MlopsError):
    headline = "definition error"


class DataError(MlopsError):
    headline = "data error"


class AwsError(MlopsError):
    headline = "AWS error"
