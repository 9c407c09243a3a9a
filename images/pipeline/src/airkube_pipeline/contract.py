"""Reading the env-var contract the platform library sets on every task.

Flags given on the command line win over the environment so a step can be run by hand against
any partition without exporting variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from airkube_pipeline.errors import UsageError

ENV_OUTPUT_URL = "AIRKUBE_OUTPUT_URL"
ENV_INPUT_URLS = "AIRKUBE_INPUT_URLS"
ENV_INTERVAL_START = "AIRKUBE_DATA_INTERVAL_START"
ENV_INTERVAL_END = "AIRKUBE_DATA_INTERVAL_END"
ENV_DAG_ID = "AIRKUBE_DAG_ID"
ENV_TASK_ID = "AIRKUBE_TASK_ID"
ENV_RUN_ID = "AIRKUBE_RUN_ID"
ENV_DATA_URL = "AIRKUBE_DATA_URL"
ENV_MAP_LENGTH = "AIRKUBE_MAP_LENGTH"
ENV_RESULT_URL = "AIRKUBE_RESULT_URL"


def parse_timestamp(value: str, name: str) -> datetime:
    """Parse an ISO 8601 timestamp as UTC; a naive value is taken to be UTC, as the contract says."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{name} is not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def split_urls(value: str | None) -> list[str]:
    """Split the newline-separated input list, ignoring blank lines and surrounding spaces."""
    if not value:
        return []
    return [line.strip() for line in value.splitlines() if line.strip()]


@dataclass(frozen=True)
class Contract:
    """The values a step may need; each ``require_*`` raises a UsageError naming what is missing."""

    output_url: str | None = None
    input_urls: tuple[str, ...] = ()
    interval_start: str | None = None
    interval_end: str | None = None
    map_length_value: str | None = None
    """How many instances the mapped task has in this run; unset for a task that is not mapped."""
    result_url: str | None = None
    """Where a step that has a result writes it (small JSON the operator turns into XCom); optional."""
    data_url: str | None = None
    """The data root; steps that read shared state under it (the source registry) need it."""
    info: dict[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        output: str | None = None,
        inputs: Sequence[str] | None = None,
        interval_start: str | None = None,
        map_length: str | None = None,
        result: str | None = None,
        data_url: str | None = None,
    ) -> Contract:
        """Merge flags over the environment (``os.environ`` unless one is given)."""
        env = os.environ if environ is None else environ
        informational = (ENV_DAG_ID, ENV_TASK_ID, ENV_RUN_ID, ENV_DATA_URL)
        return cls(
            output_url=(output or env.get(ENV_OUTPUT_URL) or "").strip() or None,
            input_urls=tuple(
                split_urls("\n".join(inputs)) if inputs else split_urls(env.get(ENV_INPUT_URLS))
            ),
            interval_start=(interval_start or env.get(ENV_INTERVAL_START) or "").strip() or None,
            interval_end=(env.get(ENV_INTERVAL_END) or "").strip() or None,
            map_length_value=(map_length or env.get(ENV_MAP_LENGTH) or "").strip() or None,
            result_url=(result or env.get(ENV_RESULT_URL) or "").strip() or None,
            data_url=(data_url or env.get(ENV_DATA_URL) or "").strip() or None,
            info={name: env[name] for name in informational if env.get(name)},
        )

    def require_output(self) -> str:
        """The output partition URL (checked with the map length); every step writes exactly one
        object there."""
        if not self.output_url:
            raise UsageError(f"{ENV_OUTPUT_URL} is not set (or pass --output URL)")
        self.map_length()
        return self.output_url

    def require_inputs(self) -> list[str]:
        """The declared input partitions; steps that transform data need at least one."""
        if not self.input_urls:
            raise UsageError(f"{ENV_INPUT_URLS} is empty or not set (or pass --input URL, repeatable)")
        return list(self.input_urls)

    def require_interval_start(self) -> datetime:
        """The data interval start in UTC; the only time a step may depend on (never 'now')."""
        if not self.interval_start:
            raise UsageError(f"{ENV_INTERVAL_START} is not set (or pass --interval-start ISO)")
        return parse_timestamp(self.interval_start, ENV_INTERVAL_START)

    def require_data_url(self) -> str:
        """The data root (e.g. ``s3://bucket/data``), for steps that read the source registry."""
        if not self.data_url:
            raise UsageError(f"{ENV_DATA_URL} is not set (or pass --data-url URL)")
        return self.data_url

    def map_length(self) -> int | None:
        """The number of instances of this run of a mapped task (the output is one of them, and the
        whole mapped partition becomes this run's), or None for a task that is not mapped."""
        if self.map_length_value is None:
            return None
        if not self.map_length_value.isdigit() or int(self.map_length_value) < 1:
            raise UsageError(f"{ENV_MAP_LENGTH} is not a positive integer: {self.map_length_value!r}")
        return int(self.map_length_value)

    def describe(self) -> str:
        """One log line identifying the run; informational only, never part of the output bytes."""
        parts = [
            f"{key.removeprefix('AIRKUBE_').lower()}={value}" for key, value in sorted(self.info.items())
        ]
        if self.interval_start:
            parts.append(f"interval_start={self.interval_start}")
        if self.interval_end:
            parts.append(f"interval_end={self.interval_end}")
        if self.map_length_value:
            parts.append(f"map_length={self.map_length_value}")
        return " ".join(parts) if parts else "no run context in environment"
