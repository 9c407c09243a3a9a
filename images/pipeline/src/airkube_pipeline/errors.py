"""Errors that end a step with a specific exit code.

The exit code is part of the contract: Airflow marks the task failed on any non-zero code, and
the code tells an operator at a glance whether the call was wrong (2), the data was bad (1) or the
output could not be stored (3).
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class: a failure the CLI reports as one line on stderr instead of a traceback."""

    exit_code = 1


class UsageError(PipelineError):
    """A required contract value (env var or flag) is missing or malformed."""

    exit_code = 2


class InputMissingError(PipelineError):
    """A declared input partition has no data: the upstream task did not run or wrote elsewhere."""

    exit_code = 2


class DataQualityError(PipelineError):
    """The data itself fails a check; retrying without fixing the data will fail again."""

    exit_code = 1


class StorageError(PipelineError):
    """The output could not be stored (a full or read-only volume, a refused upload). Nothing was
    replaced: the partition keeps its previous content, and a retry succeeds once storage is fixed."""

    exit_code = 3
