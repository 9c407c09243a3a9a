"""The HTTP API: what KubernetesPodOperator, its trigger, the KubernetesExecutor and kubectl call.

Every request is recorded (method, route, query parameters, the `as=` of its Accept header) in a JSON
lines file, so a test can tell which calls the provider makes and fail on one this server does not
serve. Anything else is answered 404 with a Kubernetes Status, never with a pretend success.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from kubernetes.utils.quantity import parse_quantity

from kube_standin import admission, discovery, tables
from kube_standin.selectors import SelectorError, field_matcher, label_matcher
from kube_standin.store import Conflict, Gone, Obj, Store, WatchEvent, now

KINDS = {"pods": "Pod", "events": "Event", "secrets": "Secret", "configmaps": "ConfigMap"}
FIELDS = {
    "pods": frozenset(
        {
            "metadata.name",
            "metadata.namespace",
            "status.phase",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.podIP",
            "status.nominatedNodeName",
        }
    ),
    "events": frozenset(
        {
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "secrets": frozenset({"metadata.name", "metadata.namespace", "type"}),
    "configmaps": frozenset({"metadata.name", "metadata.namespace"}),
}
_AS = re.compile(r"as=([A-Za-z]+)")
log = logging.getLogger("kube_standin.api")


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Kubernetes Status object, the body of every error the real API server returns (and of a watch's
    ERROR event)."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> web.Response:
    return web.json_response(status_body(code, reason, message, details), status=code)


def not_found(resource: str, name: str) -> web.Response:
    return status(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource})


def accepted_as(request: web.Request) -> str | None:
    """`Table` or `PartialObjectMetadataList`/`PartialObjectMetadata` when the client asks for one."""
    match = _AS.search(request.headers.get("Accept", ""))
    return match.group(1) if match else None


def partial_metadata(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; for labels and annotations a strategic merge patch is the same."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Obj, operations: list[dict[str, Any]]) -> Obj:
    """RFC 6902 add, replace, remove and test (what the Python client sends for a list body)."""
    result = copy.deepcopy(target)
    for operation in operations:
        op, path = operation["op"], operation["path"]
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
        parent = result
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if isinstance(parent, list):
            index = len(parent) if last == "-" and op == "add" else int(last)
            if op == "add":
                parent.insert(index, operation["value"])
            elif op == "replace":
                parent[index] = operation["value"]
            elif op == "remove":
                del parent[index]
            elif op == "test":
                if parent[index] != operation["value"]:
                    raise ValueError(f"test failed at {path}")
            else:
                raise ValueError(f"unsupported JSON patch operation {op!r}")
        elif op == "add":
            parent[last] = operation["value"]
        elif op == "replace":
            if last not in parent:
                raise KeyError(f"{path}: the path does not exist")
            parent[last] = operation["value"]
        elif op == "remove":
            del parent[last]
        elif op == "test":
            if parent.get(last) != operation["value"]:
                raise ValueError(f"test failed at {path}")
        else:
            raise ValueError(f"unsupported JSON patch operation {op!r}")
    return result


class ApiServer:
    """Routes over one Store; the kubelet is told about pod creation and deletion."""

    def __init__(
        self,
        store: Store,
        *,
        on_pod_created: Callable[[Obj], None],
        on_pod_deleting: Callable[[Obj], Awaitable[bool]],
        read_log: Callable[..., Awaitable[Any]],
        record_file: Path,
        enforce_restricted: bool = True,
    ) -> None:
        self.store = store
        self.on_pod_created = on_pod_created
        self.on_pod_deleting = on_pod_deleting
        self.read_log = read_log
        self.record_file = record_file
        self.enforce_restricted = enforce_restricted

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record], client_max_size=16 * 1024 * 1024)
        get = app.router.add_get
        # The Python client asks for the discovery documents with a trailing slash, kubectl without.
        for path, document in (
            ("/version", discovery.version),
            ("/api", discovery.api_versions),
            ("/apis", discovery.api_groups),
            ("/api/v1", discovery.core_v1_resources),
        ):
            handler = _document(document)
            get(path, handler)
            get(path + "/", handler)
        get("/api/v1/{resource}", self.list_all_namespaces)
        get("/api/v1/namespaces/{namespace}", self.namespace)
        get("/api/v1/namespaces/{namespace}/{resource}", self.list_or_watch)
        app.router.add_post("/api/v1/namespaces/{namespace}/{resource}", self.create)
        get("/api/v1/namespaces/{namespace}/pods/{name}/log", self.log)
        get("/api/v1/namespaces/{namespace}/{resource}/{name}", self.read)
        app.router.add_patch("/api/v1/namespaces/{namespace}/{resource}/{name}", self.patch)
        app.router.add_delete("/api/v1/namespaces/{namespace}/{resource}/{name}", self.delete)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else None
        entry = {
            "method": request.method,
            "route": route,
            "path": request.path,
            "query": sorted(request.query.keys()),
            "as": accepted_as(request),
        }
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            entry["route"] = None
            response = status(
                404, "NotFound", f"the server could not find the requested resource ({request.path})"
            )
        except web.HTTPMethodNotAllowed:
            entry["route"] = None
            response = status(405, "MethodNotAllowed", f"{request.method} is not served for {request.path}")
        except web.HTTPException as err:  # e.g. a body over client_max_size
            response = status(err.status, err.reason.replace(" ", ""), err.text or err.reason)
        except Exception as err:  # a bug of the stand-in: recorded and answered as the API server would
            log.exception("%s %s", request.method, request.path_qs)
            response = status(
                500, "InternalError", f"an error on the server ({err!r}) has prevented the request"
            )
        entry["status"] = response.status
        with self.record_file.open("a") as records:
            records.write(json.dumps(entry) + "\n")
        return response

    def _resource(self, request: web.Request) -> str:
        resource = request.match_info["resource"]
        if resource not in KINDS:
            raise web.HTTPNotFound()
        return resource

    def _matchers(self, request: web.Request, resource: str) -> Callable[[Obj], bool]:
        labels = label_matcher(request.query.get("labelSelector"))
        fields = field_matcher(request.query.get("fieldSelector"), FIELDS[resource])
        return lambda obj: labels(obj["metadata"].get("labels") or {}) and fields(obj)

    async def namespace(self, request: web.Request) -> web.Response:
        """Every namespace exists (objects are created in any): kubectl reads one after a 404 to tell
        a missing object from a missing namespace."""
        name = request.match_info["namespace"]
        return web.json_response(
            {
                "kind": "Namespace",
                "apiVersion": "v1",
                "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        )

    async def list_all_namespaces(self, request: web.Request) -> web.StreamResponse:
        return await self._list_or_watch(request, self._resource(request), None)

    async def list_or_watch(self, request: web.Request) -> web.StreamResponse:
        return await self._list_or_watch(request, self._resource(request), request.match_info["namespace"])

    async def _list_or_watch(
        self, request: web.Request, resource: str, namespace: str | None
    ) -> web.StreamResponse:
        try:
            match = self._matchers(request, resource)
        except SelectorError as err:
            return status(400, "BadRequest", str(err))
        if request.query.get("watch") in ("true", "True", "1"):
            return await self._watch(request, resource, namespace, match)
        items = self.store.list(resource, namespace, match)
        as_ = accepted_as(request)
        if as_ == "Table":
            return web.json_response(tables.table(resource, items, str(self.store.revision)))
        if as_ == "PartialObjectMetadataList":
            return web.json_response(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": str(self.store.revision)},
                    "items": [partial_metadata(item) for item in items],
                }
            )
        return web.json_response(
            {
                "kind": f"{KINDS[resource]}List",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": str(self.store.revision)},
                "items": [{"kind": KINDS[resource], "apiVersion": "v1", **item} for item in items],
            }
        )

    async def _watch(
        self, request: web.Request, resource: str, namespace: str | None, match: Callable[[Obj], bool]
    ) -> web.StreamResponse:
        raw_version = request.query.get("resourceVersion")
        try:
            since = int(raw_version) if raw_version not in (None, "", "0") else None
            timeout = float(request.query.get("timeoutSeconds", 1800))
        except ValueError as err:
            return status(400, "BadRequest", f"invalid resourceVersion or timeoutSeconds: {err}")
        as_ = accepted_as(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            subscription, backlog = self.store.subscribe(resource, since)
        except Gone:
            gone = status_body(410, "Expired", f"too old resource version: {since} ({self.store.revision})")
            await response.write(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
            return response
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            pending = list(backlog)
            while True:
                for event in pending:
                    seen = _as_watched(event, namespace, match)
                    if seen is None:
                        continue
                    kind, obj = seen
                    body = (
                        partial_metadata(obj)
                        if as_ and as_.startswith("PartialObjectMetadata")
                        else {"kind": KINDS[resource], "apiVersion": "v1", **obj}
                    )
                    await response.write(json.dumps({"type": kind, "object": body}).encode() + b"\n")
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    first = await asyncio.wait_for(subscription.queue.get(), remaining)
                except TimeoutError:
                    break
                pending = [first]
                while not subscription.queue.empty():
                    pending.append(subscription.queue.get_nowait())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.unsubscribe(subscription)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def create(self, request: web.Request) -> web.Response:
        resource = self._resource(request)
        namespace = request.match_info["namespace"]
        try:
            obj = await request.json()
        except json.JSONDecodeError as err:
            return status(400, "BadRequest", f"the body is not JSON: {err}")
        obj.setdefault("apiVersion", "v1")
        obj.setdefault("kind", KINDS[resource])
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and not meta.get("generateName"):
            return status(
                422,
                "Invalid",
                f"{KINDS[resource]} is invalid: metadata.name: Required value: "
                "name or generateName is required",
            )
        if meta.get("namespace") not in (None, namespace):
            return status(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        if resource == "pods":
            try:
                admission.admit_pod(
                    {**obj, "metadata": {**meta, "namespace": namespace}},
                    enforce_restricted=self.enforce_restricted,
                )
            except admission.Refused as refused:
                return status(
                    refused.code,
                    refused.reason,
                    refused.message,
                    {"name": meta.get("name", ""), "kind": "pods"},
                )
            _default_pod(obj)
        if resource == "secrets" and "stringData" in obj:  # stored as data, as the API server does
            data = obj.setdefault("data", {})
            for key, value in (obj.pop("stringData") or {}).items():
                data[key] = base64.b64encode(str(value).encode()).decode()
        obj.pop("apiVersion")
        obj.pop("kind")
        try:
            created = self.store.create(resource, namespace, obj)
        except Conflict as err:
            return status(
                409,
                "AlreadyExists",
                f'{resource} "{err}" already exists',
                {"name": str(err), "kind": resource},
            )
        if resource == "pods":
            self.on_pod_created(created)
        return web.json_response({"kind": KINDS[resource], "apiVersion": "v1", **created}, status=201)

    async def read(self, request: web.Request) -> web.Response:
        resource = self._resource(request)
        name = request.match_info["name"]
        obj = self.store.get(resource, request.match_info["namespace"], name)
        if obj is None:
            return not_found(resource, name)
        if accepted_as(request) == "Table":
            return web.json_response(tables.table(resource, [obj], str(self.store.revision)))
        return web.json_response({"kind": KINDS[resource], "apiVersion": "v1", **obj})

    async def patch(self, request: web.Request) -> web.Response:
        resource = self._resource(request)
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        try:
            body = await request.json()
        except json.JSONDecodeError as err:
            return status(400, "BadRequest", f"the body of the request is not JSON: {err}")
        content_type = request.headers.get("Content-Type", "")
        current = self.store.get(resource, namespace, name)
        if current is None:
            return not_found(resource, name)
        try:
            if content_type.startswith("application/json-patch+json"):
                patched = json_patch(current, body)
            elif content_type.startswith(
                ("application/merge-patch+json", "application/strategic-merge-patch+json")
            ):
                patched = merge_patch(current, body)
            else:
                return status(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format: {content_type}",
                )
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as err:
            return status(422, "Invalid", f"the patch cannot be applied: {err}")
        if not isinstance(patched.get("metadata"), dict):
            return status(422, "Invalid", "the patch cannot be applied: it removes metadata")
        for immutable in ("name", "namespace", "uid", "creationTimestamp"):
            patched["metadata"][immutable] = current["metadata"][immutable]
        if resource == "pods" and patched.get("spec") != current.get("spec"):
            return status(
                422,
                "Invalid",
                (
                    f'Pod "{name}" is invalid: spec: Forbidden: pod updates may not change fields '
                    "other than labels, annotations and a few image fields"
                ),
            )
        if patched["metadata"].get("resourceVersion") not in (None, current["metadata"]["resourceVersion"]):
            return status(  # a patch may carry the resourceVersion it was made from: a precondition
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                {"name": name, "kind": resource},
            )
        patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if resource == "pods":  # the status is the kubelet's: a patch of the pod leaves it alone
            patched["status"] = current.get("status")
        if patched == current:  # a no-op: nothing is written, no resourceVersion, no watch event
            return web.json_response({"kind": KINDS[resource], "apiVersion": "v1", **current})
        stored = self.store.replace(resource, patched)
        return web.json_response({"kind": KINDS[resource], "apiVersion": "v1", **stored})

    async def delete(self, request: web.Request) -> web.Response:
        resource = self._resource(request)
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        options: dict[str, Any] = {}
        if request.can_read_body:
            with contextlib.suppress(json.JSONDecodeError):
                options = await request.json() or {}
        grace = options.get("gracePeriodSeconds", request.query.get("gracePeriodSeconds"))
        current = self.store.get(resource, namespace, name)
        if current is None:
            return not_found(resource, name)
        if resource != "pods":
            self.store.delete(resource, namespace, name)
            return web.json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Success",
                    "details": {"name": name, "kind": resource, "uid": current["metadata"]["uid"]},
                }
            )
        if current["metadata"].get("deletionTimestamp"):
            return web.json_response({"kind": "Pod", "apiVersion": "v1", **current})
        seconds = (
            int(grace) if grace is not None else int(current["spec"].get("terminationGracePeriodSeconds", 30))
        )

        def mark(pod: Obj) -> None:
            pod["metadata"]["deletionTimestamp"] = now()
            pod["metadata"]["deletionGracePeriodSeconds"] = seconds

        marked = self.store.update("pods", namespace, name, mark)
        if marked is None:
            return not_found(resource, name)
        running = await self.on_pod_deleting(marked)
        if not running:  # nothing to stop: gone at once, as for a pod whose containers all ended
            self.store.delete("pods", namespace, name)
        return web.json_response({"kind": "Pod", "apiVersion": "v1", **marked})

    async def log(self, request: web.Request) -> web.StreamResponse:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        pod = self.store.get("pods", namespace, name)
        if pod is None:
            return not_found("pods", name)
        containers = [c["name"] for c in pod["spec"]["containers"]]
        container = request.query.get("container")
        if container is None:
            if len(containers) > 1:
                return status(
                    400,
                    "BadRequest",
                    f"a container name must be specified for pod {name}, choose one of: {containers}",
                )
            container = containers[0]
        if container not in containers:
            return status(400, "BadRequest", f"container {container} is not valid for pod {name}")
        lines = await self.read_log(
            pod,
            container,
            follow=request.query.get("follow") in ("true", "True", "1"),
            timestamps=request.query.get("timestamps") in ("true", "True", "1"),
            since_seconds=int(request.query["sinceSeconds"]) if "sinceSeconds" in request.query else None,
            tail_lines=int(request.query["tailLines"]) if "tailLines" in request.query else None,
        )
        if lines is None:
            return status(
                400,
                "BadRequest",
                f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating',
            )
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            async for line in lines:
                await response.write(line.encode())
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response


def _as_watched(
    event: WatchEvent, namespace: str | None, match: Callable[[Obj], bool]
) -> tuple[str, Obj] | None:
    """The event as a watch with this namespace and these selectors sees it, or None.

    As the API server's watch cache does: a change that makes an object match is ADDED, one that makes
    it stop matching is DELETED (the object as it was, with the new resourceVersion).
    """

    def visible(obj: Obj | None) -> bool:
        return obj is not None and namespace in (None, obj["metadata"]["namespace"]) and match(obj)

    now_visible = visible(event.obj)
    if event.type != "MODIFIED" or event.previous is None:
        return (event.type, event.obj) if now_visible else None
    was_visible = visible(event.previous)
    if now_visible:
        return ("MODIFIED" if was_visible else "ADDED", event.obj)
    if was_visible:
        gone = copy.deepcopy(event.previous)
        gone["metadata"]["resourceVersion"] = event.obj["metadata"]["resourceVersion"]
        return ("DELETED", gone)
    return None


def _document(make: Callable[[], dict[str, Any]]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(make())

    return handler


def _default_pod(pod: Obj) -> None:
    """The defaults the API server fills in, so clients read back what a real cluster returns."""
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("securityContext", {})
    for container in spec.get("containers", []):
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("imagePullPolicy", "IfNotPresent")
    pod["status"] = {"phase": "Pending", "qosClass": _qos_class(spec)}


def _qos_class(spec: dict[str, Any]) -> str:
    containers = spec.get("containers", [])
    resources = [c.get("resources") or {} for c in containers]

    def guaranteed(r: dict[str, Any]) -> bool:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        return all(  # a request left out defaults to its limit; "1" and "1000m" are the same quantity
            kind in limits
            and (kind not in requests or parse_quantity(requests[kind]) == parse_quantity(limits[kind]))
            for kind in ("cpu", "memory")
        )

    if all(guaranteed(r) for r in resources):
        return "Guaranteed"
    if any(r.get("requests") or r.get("limits") for r in resources):
        return "Burstable"
    return "BestEffort"
