"""A kubeconfig for the stand-in, so the real kubectl and the Kubernetes Python clients reach it."""

from __future__ import annotations

from pathlib import Path

import yaml

CONTEXT = "airkube-standin"


def write(path: Path, server: str, namespace: str = "airflow") -> Path:
    """Plain HTTP on 127.0.0.1, a token the stand-in does not check (it has no authentication)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server}}],
        "users": [{"name": CONTEXT, "user": {"token": "standin"}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}
        ],
        "current-context": CONTEXT,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path
