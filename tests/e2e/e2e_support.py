"""What the end-to-end tests share: the running platform handle."""

from __future__ import annotations

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
