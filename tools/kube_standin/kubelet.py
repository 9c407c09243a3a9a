"""One node's kubelet: runs each pod, walks its status and events the way Kubernetes does.

Status: PodScheduled, then Pending with ContainerCreating (or ErrImagePull, CreateContainerConfigError),
Running, then every container terminated with exitCode, reason and message, and the pod Succeeded or
Failed. Events: Scheduled, Pulled, Created, Started, Killing, OOMKilled, Failed. Only
`restartPolicy: Never` pods are run (what the executor and KubernetesPodOperator create); a graceful
delete stops the containers (SIGTERM, then SIGKILL after the grace period) before the pod is gone.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from kube_standin import container_logs, pod_env
from kube_standin.pod_env import NODE_IP
from kube_standin.runtime import ContainerRun, Exit, PodmanRuntime, ProcessRuntime, RuntimeError_
from kube_standin.store import Obj, Store, now

log = logging.getLogger("kube_standin.kubelet")
RETRY_SECONDS = 2.0


# Every container carries its stand-in's state folder, so `make stop` can remove what a killed stand-in left.
STATE_LABEL = "io.airkube.standin.state"


class Waiting(Exception):
    """The container cannot start yet: a waiting reason and message, retried like the kubelet does."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass
class PodRun:
    pod: Obj
    runs: dict[str, ContainerRun] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    deleting: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


@dataclass
class KubeletConfig:
    state_dir: Path
    node_name: str = "standin-node"
    process_images: tuple[str, ...] = ()
    """Image repositories (no tag) run as local processes: the Airflow image."""
    process_env: dict[str, str] = field(default_factory=dict)
    """The environment those processes start from (the dev venv's PATH, AIRFLOW_HOME, KUBECONFIG)."""
    node_mounts: tuple[tuple[str, str], ...] = ()
    """host path -> container path bound into every container: stands in for object storage."""


class Kubelet:
    def __init__(self, store: Store, config: KubeletConfig) -> None:
        self.store = store
        self.config = config
        self.podman = PodmanRuntime()
        self.processes = ProcessRuntime(config.process_env, config.state_dir / "pids")
        self.pods: dict[str, PodRun] = {}  # by uid
        self.node_label = f"io.airkube.standin.node={config.node_name}"

    # --- called by the API server -------------------------------------------------------------
    def pod_created(self, pod: Obj) -> None:
        run = PodRun(pod)
        self.pods[pod["metadata"]["uid"]] = run
        run.task = asyncio.create_task(self._run_pod(run))

    async def pod_deleting(self, pod: Obj) -> bool:
        """Start a graceful stop; False when nothing runs any more and the pod can go at once."""
        run = self.pods.get(pod["metadata"]["uid"])
        if run is None or (run.task is not None and run.task.done()):
            if run is not None:
                await self._cleanup(run)
            return False
        run.pod = pod
        run.deleting.set()
        return True

    async def read_log(self, pod: Obj, container: str, **options: Any) -> AsyncIterator[str] | None:
        run = self.pods.get(pod["metadata"]["uid"])
        if run is None or container not in run.started:
            return None
        return container_logs.stream(
            run.runs[container].log_path, finished=lambda: container in run.finished, **options
        )

    async def shutdown(self) -> None:
        """Stop every container this node started, all at once (make stop)."""

        async def stop(container: ContainerRun, running: bool) -> None:
            runtime = self._runtime(container.image)
            with contextlib.suppress(Exception):
                if running:
                    await runtime.stop(container, 5)
                await runtime.remove(container)

        await asyncio.gather(
            *(
                stop(container, name in run.started and name not in run.finished)
                for run in list(self.pods.values())
                for name, container in run.runs.items()
            )
        )

    # --- the pod's life -------------------------------------------------------------------------
    def _runtime(self, image: str) -> PodmanRuntime | ProcessRuntime:
        image = image.split("@", 1)[0]  # by digest: the repository is what precedes it
        repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        return self.processes if repository in self.config.process_images else self.podman

    def _event(self, pod: Obj, reason: str, message: str, kind: str = "Normal", field_path: str = "") -> None:
        meta = pod["metadata"]
        stamp = now()
        self.store.create(
            "events",
            meta["namespace"],
            {
                "metadata": {"name": f"{meta['name']}.{self.store.revision + 1:016x}"},
                "involvedObject": {
                    "kind": "Pod",
                    "namespace": meta["namespace"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "apiVersion": "v1",
                    "fieldPath": field_path,
                },
                "reason": reason,
                "message": message,
                "type": kind,
                "source": {
                    "component": "kubelet" if reason != "Scheduled" else "default-scheduler",
                    "host": self.config.node_name,
                },
                "firstTimestamp": stamp,
                "lastTimestamp": stamp,
                "count": 1,
                "reportingComponent": "kubelet" if reason != "Scheduled" else "default-scheduler",
                "reportingInstance": self.config.node_name,
            },
        )

    def _status(self, run: PodRun, change: Any) -> None:
        meta = run.pod["metadata"]
        updated = self.store.update("pods", meta["namespace"], meta["name"], change)
        if updated is not None:
            run.pod = updated

    async def _run_pod(self, run: PodRun) -> None:
        pod = run.pod
        meta, spec = pod["metadata"], pod["spec"]
        try:
            if spec.get("restartPolicy") != "Never":
                self._event(
                    pod, "FailedCreate", "the stand-in kubelet runs only restartPolicy: Never pods", "Warning"
                )
                await run.deleting.wait()
                return
            self._schedule(run)
            containers = spec.get("containers", [])
            runs = {
                c["name"]: self._container_run(pod, c) for c in [*spec.get("initContainers", []), *containers]
            }
            run.runs = runs
            for init in spec.get("initContainers", []):
                result = await self._start_and_wait(run, init, runs[init["name"]], init=True)
                if result is None or result.exit_code != 0:
                    self._finish(run)
                    return
            await asyncio.gather(*(self._start_and_wait(run, c, runs[c["name"]]) for c in containers))
            self._finish(run)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod %s/%s", meta["namespace"], meta["name"])
            self._event(pod, "Failed", "the stand-in kubelet failed to run this pod; see its log", "Warning")
        finally:
            if run.deleting.is_set():
                await self._cleanup(run)
                self.store.delete("pods", meta["namespace"], meta["name"])

    def _schedule(self, run: PodRun) -> None:
        meta = run.pod["metadata"]
        self._event(
            run.pod,
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {self.config.node_name}",
        )

        def scheduled(pod: Obj) -> None:
            pod["spec"]["nodeName"] = self.config.node_name
            stamp = now()
            pod["status"].update(
                {
                    "phase": "Pending",
                    "hostIP": NODE_IP,
                    "podIP": NODE_IP,
                    "podIPs": [{"ip": NODE_IP}],
                    "startTime": stamp,
                    "conditions": [
                        _condition("PodScheduled", True, stamp),
                        _condition("Initialized", True, stamp),
                        _condition("Ready", False, stamp, "ContainersNotReady"),
                        _condition("ContainersReady", False, stamp, "ContainersNotReady"),
                    ],
                    "containerStatuses": [
                        _container_status(c, {"waiting": {"reason": "ContainerCreating"}})
                        for c in pod["spec"]["containers"]
                    ],
                }
            )

        self._status(run, scheduled)

    def _set_container_state(self, run: PodRun, name: str, state: dict[str, Any], init: bool = False) -> None:
        key = "initContainerStatuses" if init else "containerStatuses"

        def change(pod: Obj) -> None:
            statuses = pod["status"].setdefault(key, [])
            spec = next(
                c
                for c in pod["spec"].get("initContainers" if init else "containers", [])
                if c["name"] == name
            )
            for index, existing in enumerate(statuses):
                if existing["name"] == name:
                    statuses[index] = _container_status(spec, state, existing.get("containerID"))
                    break
            else:
                statuses.append(_container_status(spec, state))
            if not init:
                all_running = all("running" in s["state"] for s in pod["status"]["containerStatuses"])
                stamp = now()
                if all_running:
                    pod["status"]["phase"] = "Running"
                ready = _condition("Ready", all_running, stamp, None if all_running else "ContainersNotReady")
                conditions = [
                    c
                    for c in pod["status"].get("conditions", [])
                    if c["type"] not in ("Ready", "ContainersReady")
                ]
                pod["status"]["conditions"] = [*conditions, ready, {**ready, "type": "ContainersReady"}]

        self._status(run, change)

    async def _start_and_wait(
        self, run: PodRun, spec: Obj, container: ContainerRun, init: bool = False
    ) -> Exit | None:
        runtime = self._runtime(container.image)
        field_path = f"spec.{'initContainers' if init else 'containers'}{{{spec['name']}}}"
        last_reason = None
        while True:  # the kubelet retries a container that cannot start yet until the pod is deleted
            if run.deleting.is_set():
                return None
            try:
                await self._prepare(run.pod, spec, container, runtime)
                break
            except Waiting as waiting:
                if waiting.reason != last_reason:
                    self._event(run.pod, "Failed", waiting.message, "Warning", field_path)
                    if waiting.reason == "ErrImagePull":
                        self._event(
                            run.pod,
                            "BackOff",
                            f'Back-off pulling image "{container.image}"',
                            "Normal",
                            field_path,
                        )
                    last_reason = waiting.reason
                self._set_container_state(
                    run,
                    spec["name"],
                    {"waiting": {"reason": waiting.reason, "message": waiting.message}},
                    init,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(run.deleting.wait(), RETRY_SECONDS)
        self._event(
            run.pod,
            "Pulled",
            f'Container image "{container.image}" already present on machine',
            field_path=field_path,
        )
        try:
            await runtime.start(container)
        except RuntimeError_ as err:
            self._event(run.pod, "Failed", f"Error: {err}", "Warning", field_path)
            stamp = now()
            self._set_container_state(
                run,
                spec["name"],
                {
                    "terminated": {
                        "exitCode": 128,
                        "reason": "StartError",
                        "message": str(err),
                        "startedAt": stamp,
                        "finishedAt": stamp,
                    }
                },
                init,
            )
            run.finished.add(spec["name"])
            return Exit(128, "StartError", stamp, stamp)
        run.started.add(spec["name"])
        self._event(run.pod, "Created", f"Created container {spec['name']}", field_path=field_path)
        self._event(run.pod, "Started", f"Started container {spec['name']}", field_path=field_path)
        self._set_container_state(run, spec["name"], {"running": {"startedAt": now()}}, init)
        waiter = asyncio.create_task(runtime.wait(container))
        deleting = asyncio.create_task(run.deleting.wait())
        done, _ = await asyncio.wait({waiter, deleting}, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            grace = int(run.pod["metadata"].get("deletionGracePeriodSeconds", 30))
            self._event(run.pod, "Killing", f"Stopping container {spec['name']}", field_path=field_path)
            await runtime.stop(container, grace)
        else:
            deleting.cancel()
        result = await waiter
        run.finished.add(spec["name"])
        message = _termination_message(spec, container, result)
        if result.reason == "OOMKilled":
            limit = (spec.get("resources") or {}).get("limits", {}).get("memory", "?")
            self._event(
                run.pod,
                "OOMKilled",
                f"Container {spec['name']} was OOM-killed: it exceeded its memory limit of {limit}",
                "Warning",
                field_path,
            )
        terminated = {
            "exitCode": result.exit_code,
            "reason": result.reason,
            "startedAt": result.started_at,
            "finishedAt": result.finished_at,
        }
        if message:
            terminated["message"] = message
        self._set_container_state(run, spec["name"], {"terminated": terminated}, init)
        return result

    def _finish(self, run: PodRun) -> None:
        def change(pod: Obj) -> None:
            statuses = [
                *pod["status"].get("initContainerStatuses", []),
                *pod["status"].get("containerStatuses", []),
            ]
            codes = [s["state"].get("terminated", {}).get("exitCode", 1) for s in statuses]
            pod["status"]["phase"] = "Succeeded" if all(code == 0 for code in codes) else "Failed"
            stamp = now()
            conditions = [
                c
                for c in pod["status"].get("conditions", [])
                if c["type"] not in ("Ready", "ContainersReady")
            ]
            ready = _condition("Ready", False, stamp, "PodCompleted")
            pod["status"]["conditions"] = [*conditions, ready, {**ready, "type": "ContainersReady"}]

        self._status(run, change)

    async def _cleanup(self, run: PodRun) -> None:
        for container in run.runs.values():
            runtime = self._runtime(container.image)
            with contextlib.suppress(Exception):
                await runtime.remove(container)
        self.pods.pop(run.pod["metadata"]["uid"], None)
        pod_dir = self._pod_dir(run.pod)
        shutil.rmtree(pod_dir, ignore_errors=True)

    # --- turning a container spec into a run --------------------------------------------------
    def _pod_dir(self, pod: Obj) -> Path:
        meta = pod["metadata"]
        return self.config.state_dir / "pods" / f"{meta['namespace']}_{meta['name']}_{meta['uid']}"

    def _container_run(self, pod: Obj, spec: Obj) -> ContainerRun:
        meta, pod_spec = pod["metadata"], pod["spec"]
        pod_dir = self._pod_dir(pod)
        pod_dir.mkdir(parents=True, exist_ok=True)
        termination_log = pod_dir / f"{spec['name']}.termination-log"
        termination_log.touch()
        termination_log.chmod(0o666)
        pod_sc, sc = pod_spec.get("securityContext") or {}, spec.get("securityContext") or {}
        uid, gid = (
            sc.get("runAsUser", pod_sc.get("runAsUser")),
            sc.get("runAsGroup", pod_sc.get("runAsGroup")),
        )
        limits = (spec.get("resources") or {}).get("limits") or {}
        caps = sc.get("capabilities") or {}
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        run = ContainerRun(
            name=f"k8s_{spec['name']}_{meta['name']}_{meta['namespace']}_{meta['uid'][:8]}",
            image=spec["image"],
            command=list(spec.get("command") or []),
            args=list(spec.get("args") or []),
            env={},
            log_path=pod_dir / f"{spec['name']}.log",
            termination_log=termination_log,
            termination_path=spec.get("terminationMessagePath", "/dev/termination-log"),
            workdir=spec.get("workingDir"),
            user=None if uid is None else f"{uid}:{gid if gid is not None else uid}",
            groups=[pod_sc["fsGroup"]] if pod_sc.get("fsGroup") is not None else [],
            read_only=bool(sc.get("readOnlyRootFilesystem")),
            cap_drop=list(caps.get("drop") or []),
            cap_add=list(caps.get("add") or []),
            no_new_privileges=sc.get("allowPrivilegeEscalation") is False,
            seccomp_unconfined=seccomp == "Unconfined",
            memory_bytes=int(parse_quantity(limits["memory"])) if "memory" in limits else None,
            cpus=float(parse_quantity(limits["cpu"])) if "cpu" in limits else None,
            labels={
                STATE_LABEL: str(self.config.state_dir),
                "io.kubernetes.pod.uid": meta["uid"],
                "io.kubernetes.pod.name": meta["name"],
                "io.kubernetes.pod.namespace": meta["namespace"],
            },
        )
        run.binds = [(host, container, False) for host, container in self.config.node_mounts]
        return run

    async def _prepare(
        self, pod: Obj, spec: Obj, run: ContainerRun, runtime: PodmanRuntime | ProcessRuntime
    ) -> None:
        """Everything that can keep a container waiting: its image, its env, its volumes, runAsNonRoot."""
        user = await runtime.image_user(run.image)
        if user is None:
            raise Waiting(
                "ErrImagePull",
                (
                    f'Failed to pull image "{run.image}": the image is not on this node and the '
                    "stand-in never pulls (make images-local builds it)"
                ),
            )
        run.env = self._environment(pod, spec)
        self._volumes(pod, spec, run)
        pod_sc, sc = pod["spec"].get("securityContext") or {}, spec.get("securityContext") or {}
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
            uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
            image_uid = user.split(":")[0]
            if uid is None and not image_uid.isdigit():
                raise Waiting(
                    "CreateContainerConfigError",
                    f"Error: container has runAsNonRoot and image has non-numeric user "
                    f"({image_uid or 'root'}), cannot verify user is non-root "
                    f'(pod: "{pod["metadata"]["name"]}", container: {spec["name"]})',
                )
            if (uid if uid is not None else int(image_uid)) == 0:
                raise Waiting(
                    "CreateContainerConfigError",
                    "Error: container has runAsNonRoot and image will run as root",
                )

    def _lookup(
        self, namespace: str, kind: str, name: str, key: str | None, optional: bool
    ) -> dict[str, str] | str | None:
        obj = self.store.get(kind, namespace, name)
        if obj is None:
            if optional:
                return None
            raise Waiting("CreateContainerConfigError", f'Error: {kind[:-1]} "{name}" not found')
        data = (
            {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
            if kind == "secrets"
            else dict(obj.get("data") or {})
        )
        if kind == "secrets":
            data.update(obj.get("stringData") or {})
        if key is None:
            return data
        if key not in data:
            if optional:
                return None
            raise Waiting(
                "CreateContainerConfigError",
                f"Error: couldn't find key {key} in "
                f"{'Secret' if kind == 'secrets' else 'ConfigMap'} {namespace}/{name}",
            )
        return data[key]

    def _environment(self, pod: Obj, spec: Obj) -> dict[str, str]:
        namespace = pod["metadata"]["namespace"]
        return pod_env.resolve(
            pod,
            spec,
            lambda kind, name, key, optional: self._lookup(namespace, kind, name, key, optional),
            self.config.node_name,
        )

    def _volumes(self, pod: Obj, spec: Obj, run: ContainerRun) -> None:
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        pod_dir = self._pod_dir(pod)
        for mount in spec.get("volumeMounts") or []:
            volume = volumes.get(mount["name"])
            if volume is None:
                raise Waiting(
                    "CreateContainerConfigError", f'Error: volume "{mount["name"]}" not found in the pod'
                )
            path = mount["mountPath"]
            if "emptyDir" in volume:  # tmpfs in place of node disk; its size limit is enforced
                size = volume["emptyDir"].get("sizeLimit")
                run.tmpfs[path] = int(parse_quantity(size)) if size else None
            elif "secret" in volume or "configMap" in volume:
                kind, ref = (
                    ("secrets", volume["secret"]["secretName"])
                    if "secret" in volume
                    else ("configmaps", volume["configMap"]["name"])
                )
                data = self._lookup(pod["metadata"]["namespace"], kind, ref, None, False) or {}
                folder = pod_dir / "volumes" / mount["name"]
                folder.mkdir(parents=True, exist_ok=True)
                for key, value in data.items():  # type: ignore[union-attr]
                    (folder / key).write_text(value)
                source = folder / mount["subPath"] if mount.get("subPath") else folder
                run.binds.append((str(source), path, True))
            elif isinstance(self._runtime(run.image), ProcessRuntime):
                continue  # a local process sees the machine's own folders (ProcessRuntime says why)
            else:
                raise Waiting(
                    "ContainerCreating",
                    (
                        f'MountVolume.SetUp failed for volume "{mount["name"]}": the stand-in mounts only '
                        "emptyDir, secret and configMap volumes into containers"
                    ),
                )


def _condition(kind: str, ok: bool, stamp: str, reason: str | None = None) -> dict[str, Any]:
    condition = {
        "type": kind,
        "status": "True" if ok else "False",
        "lastProbeTime": None,
        "lastTransitionTime": stamp,
    }
    if reason:
        condition["reason"] = reason
    return condition


def _container_status(spec: Obj, state: dict[str, Any], container_id: str | None = None) -> dict[str, Any]:
    status = {
        "name": spec["name"],
        "image": spec["image"],
        "imageID": "",
        "ready": "running" in state,
        "restartCount": 0,
        "started": "running" in state,
        "state": state,
        "lastState": {},
    }
    if container_id:
        status["containerID"] = container_id
    return status


def _termination_message(spec: Obj, run: ContainerRun, result: Exit) -> str:
    """What the container wrote to terminationMessagePath, else its log's tail when the policy says so."""
    with contextlib.suppress(OSError):
        written = run.termination_log.read_text()[:4096].strip()
        if written:
            return written
    if spec.get("terminationMessagePolicy") == "FallbackToLogsOnError" and result.exit_code != 0:
        with contextlib.suppress(OSError):
            lines = container_logs.parse(run.log_path.read_text(errors="replace"))
            return "\n".join(line.content for line in lines[-80:])[-2048:]
    return ""
