"""What the end-to-end tests share: the running platform handle and output snapshots."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from airkube_dev.api import AirflowApi
from airkube_dev.platform import Platform
from receivers import HttpReceiver, StatsdReceiver


@dataclass
class RunningPlatform:
    platform: Platform
    api: AirflowApi
    slack: HttpReceiver
    datadog: HttpReceiver
    statsd: StatsdReceiver
    flag: Path
    """The exit code e2e_flaky's task exits with."""

    @property
    def data_dir(self) -> Path:
        return self.platform.layout.data_dir


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder`: relative path -> sha256. Equal snapshots mean byte-identical
    outputs and no extra objects."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
