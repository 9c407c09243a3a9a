"""Container logs in the CRI format both podman's k8s-file driver and the kubelet write.

One line per record: `<RFC 3339 nano timestamp> <stream> <P|F> <content>`; `P` marks a partial line
that the next record continues.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

_LEADING_DIGITS = re.compile(r"\d*")


@dataclass(frozen=True)
class LogLine:
    timestamp: datetime
    content: str
    nanoseconds: str = ""  # the record's 9 fraction digits (a datetime keeps only 6)

    def render(self, timestamps: bool) -> str:
        """As the API server sends it: the content, with the RFC 3339 nano timestamp in front if asked."""
        if not timestamps:
            return self.content + "\n"
        fraction = self.nanoseconds or self.timestamp.strftime("%f") + "000"
        stamp = self.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"
        return f"{stamp} {self.content}\n"


def cri_line(stream: str, content: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    return f"{stamp} {stream} F {content}\n"


def _parse_time(text: str) -> tuple[datetime, str]:
    """podman writes `...123456789+00:00`, the kubelet `...123456789Z`; Python keeps microseconds,
    so the nine fraction digits come back apart (an offset of whole minutes leaves them as they are)."""
    text = text.replace("Z", "+00:00")
    head, _, rest = text.partition(".")
    digits = ""
    if rest:
        digits = _LEADING_DIGITS.match(rest).group(0)  # the fraction only, not the offset's digits
        offset = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{offset}"
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), digits[:9].ljust(9, "0")


def parse(raw: str) -> list[LogLine]:
    return _parse(raw, "")[0]


def _parse(raw: str, partial: str) -> tuple[list[LogLine], str]:
    """The complete lines of `raw`, and the start of a line its last `P` records leave unfinished."""
    lines: list[LogLine] = []
    for record in raw.splitlines():
        parts = record.split(" ", 3)
        if len(parts) < 3:
            continue
        stamp, _stream, tag = parts[0], parts[1], parts[2]
        content = parts[3] if len(parts) > 3 else ""
        if tag == "P":
            partial += content
            continue
        timestamp, nanoseconds = _parse_time(stamp)
        lines.append(LogLine(timestamp, partial + content, nanoseconds))
        partial = ""
    return lines, partial


async def stream(
    path: Path,
    *,
    follow: bool,
    timestamps: bool,
    since_seconds: int | None,
    tail_lines: int | None,
    finished: Callable[[], bool],
) -> AsyncIterator[str]:
    """The log as the kubelet serves it; with `follow`, new lines until the container has ended."""
    since = datetime.now(UTC) - timedelta(seconds=since_seconds) if since_seconds else None
    sent_bytes = 0
    partial = ""  # a line whose `P` records were read, its final `F` record not yet

    def read_new() -> list[LogLine]:
        nonlocal sent_bytes, partial
        try:
            with path.open("rb") as log:
                log.seek(sent_bytes)
                data = log.read()
        except FileNotFoundError:
            return []
        complete = data.rfind(b"\n") + 1  # never a record the writer is still writing
        sent_bytes += complete
        lines, partial = _parse(data[:complete].decode(errors="replace"), partial)
        return lines

    first = [line for line in read_new() if since is None or line.timestamp >= since]
    if tail_lines is not None:
        first = first[-tail_lines:] if tail_lines > 0 else []
    for line in first:
        yield line.render(timestamps)
    while follow:
        done = finished()
        for line in read_new():
            if since is None or line.timestamp >= since:
                yield line.render(timestamps)
        if done:
            return
        await asyncio.sleep(0.2)
