"""The one error the local platform reports to a person: what went wrong and what to do."""

from __future__ import annotations


class PlatformError(RuntimeError):
    """Printed without a traceback by the CLI; the message says what to do next."""
