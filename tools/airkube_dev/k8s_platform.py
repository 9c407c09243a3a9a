"""`make dev-k8s`: the local platform with KubernetesExecutor, against the Kubernetes stand-in.

The same PostgreSQL, PgBouncer and four Airflow components as `make dev`, configured from the official
chart rendered with helm/values.yaml plus helm/values-local.yaml plus this machine's paths and ports
(`machine_values`): airflow.cfg and the worker pod template are the chart's, not a copy. Each
component gets the environment of its own rendered Deployment, with the chart's Secrets made here.
Task pods run the task image built by `make images-local` as podman containers; worker pods (the
Airflow image, which cannot be built here) run as processes of this venv (tools/kube_standin).
Production runs on EKS: the stand-in replaces only its API server and kubelet.
"""

from __future__ import annotations

import base64
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from airkube import __version__
from airkube_dev import chart, components, processes
from airkube_dev.database import PgBouncer, ServiceUser
from airkube_dev.errors import PlatformError
from airkube_dev.layout import Ports, State
from airkube_dev.platform import REPO, Platform
from kube_standin import pod_env, server

LOCAL_VALUES = REPO / "helm" / "values-local.yaml"
NAMESPACE = "airflow"
STANDIN_NODE = "standin-node"
# The Deployment (or StatefulSet) each component's environment is read from, by component name.
WORKLOADS = {
    "api-server": "api-server",
    "scheduler": "scheduler",
    "dag-processor": "dag-processor",
    "triggerer": "triggerer",
}
DEFAULT_K8S_PORTS = Ports(postgres=15433, pgbouncer=16433, api=8081, kube=16443)


@dataclass
class KubernetesPlatform(Platform):
    """The local platform with KubernetesExecutor; `layout` is its own state folder."""

    def machine_values(self, state: State) -> dict[str, Any]:
        """What only this machine can say: its paths and ports (the test on the overlay lists them)."""
        api = f"http://127.0.0.1:{state.ports.api}"
        return {
            "airflowHome": str(self.layout.airflow_home),  # no image filesystem: the state folder's home
            "defaultAirflowTag": __version__,  # the library version, as `make images-local` tags images
            "dags": {"mountPath": str(self.dags_folder)},  # the working tree's DAGs, not git-sync's clone
            "env": [  # the library's settings (plugins/airkube/settings.py) for this machine
                {"name": "AIRKUBE_ENV", "value": "dev"},
                {"name": "AIRKUBE_IMAGE_REGISTRY", "value": "localhost:5000/airkube"},
                {"name": "AIRKUBE_IMAGE_TAG", "value": __version__},
                {"name": "AIRKUBE_DATA_URL", "value": f"file://{self.layout.data_dir}"},
            ],
            "config": {
                "core": {"execution_api_server_url": f"{api}/execution/"},  # no Service DNS name here
                "api": {"host": "127.0.0.1", "port": str(state.ports.api), "base_url": api},
            },
        }

    @property
    def machine_values_file(self) -> Path:
        return self.layout.root / "values-machine.yaml"

    @property
    def standin_dir(self) -> Path:
        return self.layout.root / "kube"

    @property
    def kubeconfig(self) -> Path:
        return self.standin_dir / "kubeconfig"

    def rendered(self, state: State) -> list[dict[str, Any]]:
        self.machine_values_file.write_text(yaml.safe_dump(self.machine_values(state), sort_keys=False))
        values = [REPO / "helm" / "values.yaml", LOCAL_VALUES, self.machine_values_file]
        return chart.render(values, namespace=NAMESPACE)

    def chart_secrets(self, state: State) -> dict[str, dict[str, str]]:
        """The Secrets the chart expects (helm/README.md), with this platform's values."""
        pgbouncer = PgBouncer(self.layout, state, ServiceUser.for_current_process())
        return {
            "airflow-metadata": {"connection": pgbouncer.url()},
            "airflow-fernet-key": {"fernet-key": state.secrets.fernet_key},
            "airflow-api-secret-key": {"api-secret-key": state.secrets.api_secret_key},
            "airflow-jwt-secret": {"jwt-secret": state.secrets.jwt_secret},
        }

    def _base_env(self) -> dict[str, str]:
        """What a process on this machine needs beyond its pod's env: the venv first on PATH, and the
        kubeconfig (KPO and the executor read KUBECONFIG when not in a cluster)."""
        keep = {
            k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
        }
        return {
            **keep,
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), keep.get("PATH", "/usr/bin:/bin")]),
            "KUBECONFIG": str(self.kubeconfig),
        }

    def component_names(self, state: State) -> list[str]:
        """As many schedulers as the rendered chart's scheduler Deployment has replicas."""
        name = f"{chart.helm_mk_variable('HELM_RELEASE')}-{WORKLOADS['scheduler']}"
        workload = next(
            m for m in self.rendered(state) if m["kind"] == "Deployment" and m["metadata"]["name"] == name
        )
        return components.names(workload["spec"].get("replicas", 1))

    def component_env(self, component: str, state: State) -> dict[str, str]:
        """The container env of the component's rendered workload, Secrets and downward API resolved."""
        manifests = self.rendered(state)
        name = f"{chart.helm_mk_variable('HELM_RELEASE')}-{WORKLOADS[component]}"
        workload = next(
            (
                m
                for m in manifests
                if m["kind"] in ("Deployment", "StatefulSet") and m["metadata"]["name"] == name
            ),
            None,
        )
        if workload is None:
            raise PlatformError(f"the rendered chart has no workload {name}")
        pod = {
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": workload["spec"]["template"]["spec"],
        }
        container = next(c for c in pod["spec"]["containers"] if c["name"] == WORKLOADS[component])
        secrets = self.chart_secrets(state)

        def lookup(kind: str, ref: str, key: str | None, optional: bool) -> Any:
            data = secrets.get(ref) if kind == "secrets" else None
            if data is None or (key is not None and key not in data):
                if optional:
                    return None
                raise PlatformError(f"{name} needs {kind[:-1]} {ref} key {key}, which dev-k8s does not make")
            return data if key is None else data[key]

        return {**self._base_env(), **pod_env.resolve(pod, container, lookup, STANDIN_NODE), **self.extra_env}

    def env(self, state: State | None = None) -> dict[str, str]:
        """For `airflow db migrate`, the CLI and the admin: the scheduler's environment."""
        return self.component_env("scheduler", state or self.state())

    def kube_running(self) -> bool:
        return processes.read_pid(self.layout.pids / "kube-standin.pid") is not None

    def prepare(self, state: State) -> None:
        """The chart's airflow.cfg and pod template in AIRFLOW_HOME, the stand-in, its Secrets and
        ConfigMap, as `helm install` would leave them in the namespace."""
        manifests = self.rendered(state)
        home = self.layout.airflow_home
        (home / "airflow.cfg").write_text(chart.airflow_cfg(manifests))
        config_map = chart.config_map(manifests)
        (home / "config").mkdir(exist_ok=True)
        (home / "config" / "airflow_local_settings.py").write_text(
            config_map["data"].get("airflow_local_settings.py", "")
        )
        template = chart.pod_template(manifests)
        (home / "pod_templates").mkdir(exist_ok=True)
        (home / "pod_templates" / "pod_template_file.yaml").write_text(
            yaml.safe_dump(template, sort_keys=False)
        )
        self.layout.data_dir.chmod(0o777)  # task containers write as uid 10001
        if not self.kube_running():
            image = template["spec"]["containers"][0]["image"].rsplit(":", 1)[0]
            standin = server.start(
                self.standin_dir,
                port=state.ports.kube,
                log_file=self.layout.logs / "kube-standin.log",
                process_images=[image],
                process_env={**self._base_env(), **self.extra_env},
                mounts=[(str(self.layout.data_dir), str(self.layout.data_dir))],
            )
            processes.write_pid_file(self.layout.pids / "kube-standin.pid", standin.pid)
        self._apply(config_map, state)

    def _apply(self, config_map: dict[str, Any], state: State) -> None:
        from kubernetes import client, config

        api = client.CoreV1Api(config.new_client_from_config(str(self.kubeconfig)))
        objects = [
            ("configmaps", {"metadata": {"name": config_map["metadata"]["name"]}, "data": config_map["data"]})
        ]
        for name, data in self.chart_secrets(state).items():
            encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
            objects.append(("secrets", {"metadata": {"name": name}, "type": "Opaque", "data": encoded}))
        for kind, body in objects:
            try:
                getattr(api, f"create_namespaced_{'config_map' if kind == 'configmaps' else 'secret'}")(
                    NAMESPACE, body
                )
            except client.ApiException as err:
                if err.status != 409:  # already there from an earlier `make dev-k8s`
                    raise

    def down(self) -> list[str]:
        stopped = super().down()
        pid = processes.read_pid(self.layout.pids / "kube-standin.pid")
        if pid is not None:
            server.stop_pid(pid)
            stopped.insert(0, "kube-standin (and its pods)")
        if self.standin_dir.exists() and server.remove_containers(self.standin_dir):
            stopped.append("task containers a stopped stand-in left behind")
        return stopped
