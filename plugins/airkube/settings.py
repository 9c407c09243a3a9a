"""Platform settings, read once from the environment.

Staging and prod differ in these values (set by the Helm chart's env, or by `make dev` locally),
never in DAG code. Each setting has exactly one environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from airkube import __version__

RUNNERS = ("kubernetes", "local")


@dataclass(frozen=True)
class PlatformSettings:
    """Where images come from, where data goes, and how tasks run."""

    image_registry: str
    """Registry and path prefix every task image lives under (e.g. an ECR registry)."""
    image_tag: str
    """Tag of the task images a DAG run uses; one tag per platform release."""
    data_url: str
    """Object-storage root for every task's output: s3://... in production, file://... locally."""
    runner: str
    """`kubernetes` (a pod per task) or `local` (the same command as a local process)."""
    namespace: str
    """Kubernetes namespace the task pods run in."""
    service_account: str
    """Service account of task pods; carries the IAM role (IRSA) that reaches the data bucket."""
    environment: str
    """Environment name (dev, staging, prod); becomes the `env` tag in Datadog."""


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip()
    if not value:
        raise ValueError(f"environment variable {name} is set but empty")
    return value


@cache
def platform_settings() -> PlatformSettings:
    """The settings of this process, validated once (cached: DAG files build hundreds of tasks)."""
    runner = _env("AIRKUBE_RUNNER", "kubernetes")
    if runner not in RUNNERS:
        raise ValueError(f"AIRKUBE_RUNNER={runner!r} is not one of {', '.join(RUNNERS)}")
    data_url = _env("AIRKUBE_DATA_URL", "file:///tmp/airkube-data").rstrip("/")
    if "://" not in data_url:
        raise ValueError(
            f"AIRKUBE_DATA_URL={data_url!r} must be a URL such as s3://bucket/root or file:///path"
        )
    return PlatformSettings(
        image_registry=_env("AIRKUBE_IMAGE_REGISTRY", "localhost:5000/airkube").rstrip("/"),
        image_tag=_env("AIRKUBE_IMAGE_TAG", __version__),
        data_url=data_url,
        runner=runner,
        namespace=_env("AIRKUBE_NAMESPACE", "airflow"),
        service_account=_env("AIRKUBE_TASK_SERVICE_ACCOUNT", "airkube-task"),
        environment=_env("AIRKUBE_ENV", "dev"),
    )
