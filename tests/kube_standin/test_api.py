"""The API-server half of tools/kube_standin, the stand-in for EKS's Kubernetes API server and kubelet.

Production runs on EKS; no control plane can run on this machine, so `make dev-k8s` and the
Kubernetes-mode tests talk to this stand-in. These tests prove, through the real Kubernetes Python client
only, that the part of the API the platform uses answers as a real 1.33 API server does: discovery and
the executor's PartialObjectMetadataList, create/get/patch/delete, label and field selectors, watches
(resourceVersion, timeout, selector transitions, 410 Gone), admission (strict schema, Pod Security
"restricted"), and that every request is recorded with the route that served it. The pods here use
`restartPolicy: Always`, which the stand-in's kubelet does not run: this module starts no container.
"""

from __future__ import annotations

import time

import kubernetes
import pytest
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from kube_standin import server
from standin_support import NAMESPACE, UNKNOWN_MARK, restricted_pod, wait_for

WATCH_HISTORY = 50  # changes this module's stand-in keeps: small, so a resourceVersion can get too old
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"


def idle_pod(name: str, labels: dict[str, str] | None = None) -> dict:
    return restricted_pod(name, ["true"], labels=labels, restart_policy="Always")


def names(pods: list) -> set[str]:
    return {pod.metadata.name for pod in pods}


@pytest.fixture(scope="module")
def selector_pods(core: kubernetes.client.CoreV1Api) -> None:
    """Three pods to select from: app=a/b/c, tier on a and b only, all labelled suite=selectors."""
    for name, labels in (
        ("sel-a", {"app": "a", "tier": "web"}),
        ("sel-b", {"app": "b", "tier": "db"}),
        ("sel-c", {"app": "c"}),
    ):
        core.create_namespaced_pod(NAMESPACE, idle_pod(name, {"suite": "selectors", **labels}))


# --- discovery ---------------------------------------------------------------------------------


def test_version(api_client: kubernetes.client.ApiClient) -> None:
    version = kubernetes.client.VersionApi(api_client).get_code()
    assert (version.major, version.minor) == ("1", "33")
    assert version.git_version.startswith("v1.33.")


def test_core_api_versions(api_client: kubernetes.client.ApiClient) -> None:
    assert kubernetes.client.CoreApi(api_client).get_api_versions().versions == ["v1"]


def test_api_groups_are_empty(api_client: kubernetes.client.ApiClient) -> None:
    assert kubernetes.client.ApisApi(api_client).get_api_versions().groups == []


def test_core_v1_resources(core: kubernetes.client.CoreV1Api) -> None:
    resources = {r.name: r for r in core.get_api_resources().resources}
    assert set(resources) == {"pods", "pods/log", "events", "secrets", "configmaps"}
    assert {"create", "get", "list", "watch", "patch", "delete"} <= set(resources["pods"].verbs)
    assert resources["pods"].namespaced


def test_dynamic_client_partial_object_metadata_list(
    standin: server.StandIn, api_client: kubernetes.client.ApiClient, core: kubernetes.client.CoreV1Api
) -> None:
    """Exactly how KubernetesExecutor._list_pods lists the pods it adopts."""
    core.create_namespaced_pod(
        NAMESPACE,
        {
            **idle_pod("partial", {"airflow-worker": "7"}),
            "metadata": {
                "name": "partial",
                "labels": {"airflow-worker": "7"},
                "annotations": {"dag_id": "d", "task_id": "t", "run_id": "r"},
            },
        },
    )
    dynamic = DynamicClient(api_client)
    pod_resource = dynamic.resources.get(api_version="v1", kind="Pod")
    listed = dynamic.get(
        resource=pod_resource,
        namespace=NAMESPACE,
        label_selector="airflow-worker=7",
        header_params={"Accept": PARTIAL_LIST},
    )
    assert listed.kind == "PartialObjectMetadataList"
    [pod] = listed.items
    assert pod.kind == "PartialObjectMetadata"
    assert pod.metadata.annotations.get("dag_id") == "d"
    assert pod.get("spec") is None  # metadata only
    assert {"method": "GET", "as": "PartialObjectMetadataList"}.items() <= standin.requests()[-1].items()


# --- create, get, patch, delete ----------------------------------------------------------------


def test_create_and_get(core: kubernetes.client.CoreV1Api) -> None:
    created = core.create_namespaced_pod(NAMESPACE, idle_pod("crud"))
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    read = core.read_namespaced_pod("crud", NAMESPACE)
    assert read.metadata.uid == created.metadata.uid
    assert read.spec.containers[0].termination_message_path == "/dev/termination-log"  # a server default
    assert read.status.phase == "Pending"


def test_create_duplicate_name_is_409(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_pod(NAMESPACE, idle_pod("twice"))
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(NAMESPACE, idle_pod("twice"))
    assert refused.value.status == 409
    assert '"reason":"AlreadyExists"' in refused.value.body.replace(" ", "")


def test_get_missing_is_404(core: kubernetes.client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("never-created", NAMESPACE)
    assert missing.value.status == 404


def test_strategic_merge_patch_of_labels_and_annotations(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_pod(NAMESPACE, idle_pod("merge", {"keep": "1", "drop": "1"}))
    before = core.read_namespaced_pod("merge", NAMESPACE).metadata.resource_version
    patched = core.patch_namespaced_pod(
        "merge",
        NAMESPACE,
        {"metadata": {"labels": {"added": "2", "drop": None}, "annotations": {"note": "x"}}},
    )
    assert patched.metadata.labels == {"keep": "1", "added": "2"}
    assert patched.metadata.annotations == {"note": "x"}
    assert int(patched.metadata.resource_version) > int(before)
    assert core.read_namespaced_pod("merge", NAMESPACE).metadata.labels == {"keep": "1", "added": "2"}


def test_json_patch(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_pod(NAMESPACE, idle_pod("jsonpatch", {"a": "1", "b": "1"}))
    patched = core.patch_namespaced_pod(
        "jsonpatch",
        NAMESPACE,
        [
            {"op": "add", "path": "/metadata/labels/c", "value": "3"},
            {"op": "replace", "path": "/metadata/labels/a", "value": "2"},
            {"op": "remove", "path": "/metadata/labels/b"},
        ],
    )
    assert patched.metadata.labels == {"a": "2", "c": "3"}


def test_no_op_patch_writes_nothing(core: kubernetes.client.CoreV1Api) -> None:
    created = core.create_namespaced_pod(NAMESPACE, idle_pod("noop", {"a": "1"}))
    patched = core.patch_namespaced_pod("noop", NAMESPACE, {"metadata": {"labels": {"a": "1"}}})
    assert patched.metadata.resource_version == created.metadata.resource_version


def test_patch_of_the_spec_is_refused(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_pod(NAMESPACE, idle_pod("specpatch"))
    with pytest.raises(ApiException) as refused:
        core.patch_namespaced_pod("specpatch", NAMESPACE, {"spec": {"restartPolicy": "Never"}})
    assert refused.value.status == 422


def test_secret_string_data_is_stored_as_data(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_secret(NAMESPACE, {"metadata": {"name": "plain"}, "stringData": {"user": "alice"}})
    stored = core.read_namespaced_secret("plain", NAMESPACE)
    assert (stored.data, stored.string_data) == ({"user": "YWxpY2U="}, None)


def test_delete(core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_pod(NAMESPACE, idle_pod("deleted"))
    core.delete_namespaced_pod("deleted", NAMESPACE)

    def gone() -> bool:
        try:
            core.read_namespaced_pod("deleted", NAMESPACE)
        except ApiException as err:
            return err.status == 404
        return False

    wait_for(gone, timeout=10, what="the pod's removal")


# --- selectors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=a", {"sel-a"}),
        ("app==a", {"sel-a"}),
        ("app!=a", {"sel-b", "sel-c"}),
        ("app in (a, b)", {"sel-a", "sel-b"}),
        ("app in(a)", {"sel-a"}),
        ("app notin (a,b)", {"sel-c"}),
        ("!tier", {"sel-c"}),
        ("tier", {"sel-a", "sel-b"}),
        ("tier,app!=b", {"sel-a"}),
    ],
)
def test_label_selector(
    core: kubernetes.client.CoreV1Api, selector_pods: None, selector: str, expected: set[str]
) -> None:
    listed = core.list_namespaced_pod(NAMESPACE, label_selector=f"suite=selectors,{selector}")
    assert names(listed.items) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("metadata.name=sel-b", {"sel-b"}),
        ("metadata.name!=sel-b", {"sel-a", "sel-c"}),
        ("status.phase=Pending", {"sel-a", "sel-b", "sel-c"}),
        ("status.phase=Running", set()),
        ("status.phase!=Pending", set()),
        ("metadata.name=sel-a,status.phase=Pending", {"sel-a"}),
    ],
)
def test_field_selector(
    core: kubernetes.client.CoreV1Api, selector_pods: None, selector: str, expected: set[str]
) -> None:
    listed = core.list_namespaced_pod(NAMESPACE, label_selector="suite=selectors", field_selector=selector)
    assert names(listed.items) == expected


def test_invalid_label_selector_is_400(core: kubernetes.client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_pod(NAMESPACE, label_selector="app=a b")
    assert refused.value.status == 400


def test_unsupported_field_selector_is_400(core: kubernetes.client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_pod(NAMESPACE, field_selector="spec.containers=x")
    assert refused.value.status == 400
    assert "field label not supported: spec.containers" in refused.value.body


# --- watches -----------------------------------------------------------------------------------


def watch_events(core: kubernetes.client.CoreV1Api, **options) -> list[tuple[str, str, dict]]:
    """(type, name, labels) of every event a watch of pods streams before it times out."""
    stream = kubernetes.watch.Watch().stream(core.list_namespaced_pod, NAMESPACE, **options)
    return [(e["type"], e["object"].metadata.name, e["object"].metadata.labels) for e in stream]


def test_watch_from_resource_version_replays_later_changes(core: kubernetes.client.CoreV1Api) -> None:
    created = core.create_namespaced_pod(NAMESPACE, idle_pod("replayed"))
    first = core.patch_namespaced_pod("replayed", NAMESPACE, {"metadata": {"labels": {"step": "1"}}})
    core.patch_namespaced_pod("replayed", NAMESPACE, {"metadata": {"labels": {"step": "2"}}})

    def replayed_after(pod: kubernetes.client.V1Pod) -> list[tuple[str, str]]:
        events = watch_events(
            core,
            field_selector="metadata.name=replayed",
            resource_version=pod.metadata.resource_version,
            timeout_seconds=1,
        )
        return [(kind, labels.get("step")) for kind, _, labels in events]

    assert replayed_after(created) == [("MODIFIED", "1"), ("MODIFIED", "2")]
    assert replayed_after(first) == [("MODIFIED", "2")]


def test_watch_ends_after_timeout_seconds(core: kubernetes.client.CoreV1Api) -> None:
    started = time.monotonic()
    events = watch_events(core, field_selector="metadata.name=nothing-here", timeout_seconds=1)
    assert events == []
    assert 0.9 <= time.monotonic() - started < 5


def test_watch_without_resource_version_lists_existing_pods_as_added_first(
    core: kubernetes.client.CoreV1Api,
) -> None:
    for name in ("existing-1", "existing-2"):
        core.create_namespaced_pod(NAMESPACE, idle_pod(name, {"suite": "existing"}))
    events = watch_events(core, label_selector="suite=existing", timeout_seconds=1)
    assert sorted((kind, name) for kind, name, _ in events) == [
        ("ADDED", "existing-1"),
        ("ADDED", "existing-2"),
    ]


def test_watch_sees_a_pod_enter_and_leave_its_label_selector(core: kubernetes.client.CoreV1Api) -> None:
    created = core.create_namespaced_pod(NAMESPACE, idle_pod("mover", {"queue": "a"}))
    for queue in ("b", "a", "c"):
        core.patch_namespaced_pod("mover", NAMESPACE, {"metadata": {"labels": {"queue": queue}}})
    events = watch_events(
        core,
        label_selector="queue=b",
        resource_version=created.metadata.resource_version,
        timeout_seconds=1,
    )
    # Enters on a->b (ADDED, as it is now), leaves on b->a (DELETED, as it was), not seen on a->c.
    assert [(kind, labels["queue"]) for kind, _, labels in events] == [("ADDED", "b"), ("DELETED", "b")]


def test_watch_from_a_too_old_resource_version_is_410(
    core: kubernetes.client.CoreV1Api, standin: server.StandIn
) -> None:
    created = core.create_namespaced_pod(NAMESPACE, idle_pod("aged"))
    for step in range(WATCH_HISTORY + 5):  # more changes than the stand-in's history keeps
        core.patch_namespaced_pod("aged", NAMESPACE, {"metadata": {"labels": {"step": str(step)}}})
    with pytest.raises(ApiException) as gone:
        watch_events(core, resource_version=created.metadata.resource_version, timeout_seconds=1)
    assert gone.value.status == 410


# --- admission ---------------------------------------------------------------------------------


def test_unknown_field_is_422_invalid(core: kubernetes.client.CoreV1Api) -> None:
    pod = idle_pod("unknown-field")
    pod["spec"]["containers"][0]["memoryLimit"] = "1Gi"
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(NAMESPACE, pod)
    assert refused.value.status == 422
    assert '"reason":"Invalid"' in refused.value.body.replace(" ", "")
    assert "memoryLimit" in refused.value.body


def test_pod_violating_restricted_is_403_naming_every_violation(core: kubernetes.client.CoreV1Api) -> None:
    pod = {
        "metadata": {"name": "unrestricted"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "base", "image": "x"}]},
    }
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(NAMESPACE, pod)
    assert refused.value.status == 403
    body = refused.value.body
    assert '"reason":"Forbidden"' in body.replace(" ", "")
    assert 'violates PodSecurity \\"restricted:latest\\"' in body
    for violation in (
        "allowPrivilegeEscalation != false",
        "unrestricted capabilities",
        "runAsNonRoot != true",
        "seccompProfile",
    ):
        assert violation in body


def test_pod_level_unconfined_seccomp_is_403(core: kubernetes.client.CoreV1Api) -> None:
    pod = idle_pod("unconfined")
    pod["spec"]["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    pod["spec"]["containers"][0]["securityContext"]["seccompProfile"] = {"type": "RuntimeDefault"}
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(NAMESPACE, pod)
    assert refused.value.status == 403
    assert 'pod must not set securityContext.seccompProfile.type to \\"Unconfined\\"' in refused.value.body


def test_a_host_port_is_403(core: kubernetes.client.CoreV1Api) -> None:
    """Baseline (and so restricted) forbids host ports; the chart tests rely on this check too."""
    pod = idle_pod("host-port")
    pod["spec"]["containers"][0]["ports"] = [{"containerPort": 8080, "hostPort": 8080}]
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(NAMESPACE, pod)
    assert refused.value.status == 403
    assert 'hostPort (container \\"base\\" uses hostPort 8080)' in refused.value.body


def test_restricted_pod_is_201(core: kubernetes.client.CoreV1Api) -> None:
    _, code, _ = core.create_namespaced_pod_with_http_info(NAMESPACE, idle_pod("compliant"))
    assert code == 201


# --- the record ---------------------------------------------------------------------------------


def test_unknown_route_is_recorded_and_answered_404(
    api_client: kubernetes.client.ApiClient, standin: server.StandIn
) -> None:
    for path in (f"/api/v1/namespaces/{NAMESPACE}/{UNKNOWN_MARK}", f"/apis/batch/v1/{UNKNOWN_MARK}"):
        with pytest.raises(ApiException) as missing:
            api_client.call_api(path, "GET", auth_settings=["BearerToken"], _preload_content=False)
        assert missing.value.status == 404
        assert '"kind":"Status"' in missing.value.body.replace(" ", "")
    records = standin.requests()
    unknown = [r for r in records if UNKNOWN_MARK in r["path"]]
    assert [(r["route"], r["status"]) for r in unknown] == [(None, 404), (None, 404)]
    served = [r for r in records if UNKNOWN_MARK not in r["path"]]
    assert served and all(r["route"] for r in served)
