"""The bin-packing second scheduler (helm/binpack-scheduler), rendered by a real helm the way
terraform/platform installs it (release namespace kube-system, the kube-scheduler tag of the cluster's
version), and checked as the cluster would get it: valid Kubernetes 1.33 in strict mode, the "restricted" Pod
Security Standard, checkov's Kubernetes checks with every exception reviewed in
tests/helm/binpack_scheduler_checkov_skips.yaml, and the promises the platform relies on: one MostAllocated
profile named as the worker pods name it, RBAC for the account the Deployment runs as, a Lease it may hold.

Every promise has a breakage beside it (a value or a template edit) that must make its check fail.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from airkube_dev.chart import helm_template as chart_helm_template
from checkov_cli import checkov_report, kubernetes_object, reviewed_skips
from helm_values import BASE_VALUES, REPO, get, load_yaml
from kube_standin import admission
from rendered import find, key, kubernetes_errors

CHART = REPO / "helm" / "binpack-scheduler"
CHECKOV_SKIPS = Path(__file__).with_name("binpack_scheduler_checkov_skips.yaml")
# As terraform/platform/main.tf installs it (helm_release.binpack_scheduler).
RELEASE = "airkube-binpack-scheduler"
NAMESPACE = "kube-system"
TAG = "v1.33.0"
REQUIRED_TAG_MESSAGE = "image.tag is required"
# Kubernetes' built-in roles a second kube-scheduler is bound to ("Configure Multiple Schedulers").
SCHEDULER_ROLES = {
    ("ClusterRoleBinding", "", "ClusterRole", "system:kube-scheduler"),
    ("ClusterRoleBinding", "", "ClusterRole", "system:volume-scheduler"),
    ("RoleBinding", "kube-system", "Role", "extension-apiserver-authentication-reader"),
}

# The fields of kubescheduler.config.k8s.io/v1 the chart may write (k8s.io/kube-scheduler/config/v1 types.go,
# and the LeaderElectionConfiguration of k8s.io/component-base): kube-scheduler decodes its file strictly and
# exits on a field it does not know, which would leave every task pod Pending.
CONFIG_FIELDS = {
    "": {
        "apiVersion",
        "kind",
        "parallelism",
        "leaderElection",
        "clientConnection",
        "enableProfiling",
        "enableContentionProfiling",
        "percentageOfNodesToScore",
        "podInitialBackoffSeconds",
        "podMaxBackoffSeconds",
        "profiles",
        "extenders",
        "delayCacheUntilActive",
    },
    "leaderElection": {
        "leaderElect",
        "leaseDuration",
        "renewDeadline",
        "retryPeriod",
        "resourceLock",
        "resourceName",
        "resourceNamespace",
    },
    "profile": {"schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig"},
    "pluginConfig": {"name", "args"},
    "NodeResourcesFitArgs": {
        "apiVersion",
        "kind",
        "ignoredResources",
        "ignoredResourceGroups",
        "scoringStrategy",
    },
    "scoringStrategy": {"type", "resources", "requestedToCapacityRatio"},
    "resource": {"name", "weight"},
}
SCORING_TYPES = {"LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"}


# --- rendering --------------------------------------------------------------------------------------------


def helm_template(chart: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return chart_helm_template(chart, RELEASE, *args, namespace=NAMESPACE)


def render(chart: Path = CHART, values: Path | None = None) -> list[dict[str, Any]]:
    """The chart's objects with the tag Terraform would set (and `values` after it, for breakages)."""
    args = ["--set", f"image.tag={TAG}"] + (["--values", str(values)] if values else [])
    proc = helm_template(chart, *args)
    assert proc.returncode == 0, f"helm template failed:\n{proc.stderr}"
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc is not None]


@dataclass(frozen=True)
class Breakage:
    """A way to break the chart: values rendered after its own, and/or one template edit (file, old, new)."""

    values: dict[str, Any] = field(default_factory=dict)
    edit: tuple[str, str, str] | None = None

    def render(self, directory: Path) -> list[dict[str, Any]]:
        chart = directory / "chart"
        shutil.copytree(CHART, chart)
        if self.edit:
            name, old, new = self.edit
            template = chart / "templates" / name
            text = template.read_text()
            assert old in text, f"the breakage no longer matches templates/{name}: {old!r}"
            template.write_text(text.replace(old, new))
        values = directory / "breakage.yaml"
        values.write_text(yaml.safe_dump(self.values))
        return render(chart, values)


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render()


def pod_spec(objects: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return find(objects, "Deployment")["spec"]["template"]["spec"]


def scheduler_config(objects: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The KubeSchedulerConfiguration the Deployment's container reads: its --config file, found in the
    ConfigMap mounted at that file's folder."""
    spec = pod_spec(objects)
    container = spec["containers"][0]
    flags = [arg for arg in container["command"] if arg.startswith("--config=")]
    assert container["command"][0] == "kube-scheduler" and len(flags) == 1, container["command"]
    path = Path(flags[0].removeprefix("--config="))
    mounts = [m for m in container.get("volumeMounts") or [] if Path(m["mountPath"]) == path.parent]
    assert len(mounts) == 1, f"nothing mounted at {path.parent}"
    volume = next(v for v in spec["volumes"] if v["name"] == mounts[0]["name"])
    config_map = find(objects, "ConfigMap", volume["configMap"]["name"])
    assert path.name in config_map["data"], f"ConfigMap {config_map['metadata']['name']} has no {path.name}"
    config = yaml.safe_load(config_map["data"][path.name])
    assert isinstance(config, dict), "the scheduler configuration is not a YAML mapping"
    return config


def worker_scheduler_name() -> str:
    """The scheduler the KubernetesExecutor worker pods name (helm/values.yaml); the test skips until the
    key exists."""
    name = get(load_yaml(BASE_VALUES), "workers.kubernetes.schedulerName")
    if name is None:
        pytest.skip(
            "helm/values.yaml sets no workers.kubernetes.schedulerName yet: nothing names this scheduler"
        )
    return name


# --- Kubernetes 1.33, strict ------------------------------------------------------------------------------


def test_every_object_validates_against_kubernetes_strict(objects):
    kinds = {m["kind"] for m in objects}
    assert {
        "ServiceAccount",
        "ConfigMap",
        "Deployment",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
    } <= kinds
    assert kubernetes_errors(objects) == []


def test_strict_validation_catches_a_field_kubernetes_does_not_know(tmp_path):
    broken = Breakage(values={"securityContexts": {"container": {"readOnlyRootFilesytem": True}}})
    errors = kubernetes_errors(broken.render(tmp_path))
    assert errors and all("readOnlyRootFilesytem" in error for error in errors), errors


def test_rendering_without_an_image_tag_fails_with_the_charts_message():
    proc = helm_template(CHART)
    assert proc.returncode != 0
    assert REQUIRED_TAG_MESSAGE in proc.stderr, proc.stderr
    assert helm_template(CHART, "--set", f"image.tag={TAG}").returncode == 0, "the control: a tag renders"


# --- checkov ----------------------------------------------------------------------------------------------

# The negative control, scanned in the same run: the chart rendered root, with privilege escalation.
INSECURE = Breakage(
    values={
        "securityContexts": {
            "pod": {"runAsNonRoot": False, "runAsUser": 0},
            "container": {"allowPrivilegeEscalation": True},
        }
    }
)


@pytest.fixture(scope="module")
def checkov_failed(objects, tmp_path_factory) -> dict[str, set[tuple[str, str]]]:
    """One checkov run: the chart, and the insecure control, each in a folder of its own."""
    root = tmp_path_factory.mktemp("checkov")
    (root / "chart").mkdir()
    (root / "chart" / "chart.yaml").write_text(yaml.safe_dump_all(objects))
    (root / "control").mkdir()
    control = INSECURE.render(tmp_path_factory.mktemp("control"))
    (root / "control" / "chart.yaml").write_text(yaml.safe_dump_all(control))
    report = checkov_report(root, "kubernetes")
    assert report["summary"]["parsing_errors"] == 0
    failed: dict[str, set[tuple[str, str]]] = {"chart": set(), "control": set()}
    for check in report["results"]["failed_checks"]:
        folder = check["file_path"].strip("/").split("/")[0]
        failed[folder].add((check["check_id"], kubernetes_object(check["resource"])))
    assert report["summary"]["passed"] > 50, "checkov checked far fewer things than the chart holds"
    return failed


def test_checkov_fails_only_the_reviewed_checks(checkov_failed):
    failed, skips = checkov_failed["chart"], reviewed_skips(CHECKOV_SKIPS)
    assert {
        "failed and not reviewed": sorted(" ".join(pair) for pair in failed - set(skips)),
        "reviewed but passes now (stale)": sorted(" ".join(pair) for pair in set(skips) - failed),
    } == {"failed and not reviewed": [], "reviewed but passes now (stale)": []}


def test_the_checkov_scan_catches_the_chart_made_insecure(checkov_failed):
    new = {check for check, _ in checkov_failed["control"] - checkov_failed["chart"]}
    assert {"CKV_K8S_20", "CKV_K8S_23"} <= new, sorted(new)


def test_every_skip_names_a_check_and_objects_and_says_why():
    assert reviewed_skips(CHECKOV_SKIPS)  # reviewed_skips checks each entry's form as it reads it


# --- the promises, on the rendered objects ----------------------------------------------------------------


def pod_is_restricted(objects):
    """The Kubernetes "restricted" Pod Security Standard (the stand-in API server's admission check), plus
    what the chart promises beyond it: exactly ALL dropped, a read-only root filesystem, uid 65532."""
    deployment = find(objects, "Deployment")
    pod = {"metadata": {"name": deployment["metadata"]["name"]}, "spec": pod_spec(objects)}
    assert admission.restricted_violations(pod) == []
    assert pod["spec"]["securityContext"]["runAsUser"] == 65532
    for container in pod["spec"]["containers"]:
        context = container["securityContext"]
        assert context["capabilities"]["drop"] == ["ALL"], container["name"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]


def config_is_one_binpacking_profile(objects):
    """The configuration kube-scheduler reads has only fields v1 knows, and exactly one profile: named as the
    worker pods name their scheduler, NodeResourcesFit scoring MostAllocated over CPU and memory alike."""
    config = scheduler_config(objects)
    assert (config["apiVersion"], config["kind"]) == (
        "kubescheduler.config.k8s.io/v1",
        "KubeSchedulerConfiguration",
    )
    unknown = set(config) - CONFIG_FIELDS[""]
    unknown |= set(config.get("leaderElection") or {}) - CONFIG_FIELDS["leaderElection"]
    profiles = config.get("profiles") or []
    for profile in profiles:
        unknown |= set(profile) - CONFIG_FIELDS["profile"]
        for plugin in profile.get("pluginConfig") or []:
            unknown |= set(plugin) - CONFIG_FIELDS["pluginConfig"]
    assert unknown == set(), f"fields kubescheduler.config.k8s.io/v1 does not have: {sorted(unknown)}"
    assert len(profiles) == 1, f"exactly one profile, not {len(profiles)}"
    name = worker_scheduler_name()
    assert profiles[0]["schedulerName"] == name, f"the worker pods name {name} (helm/values.yaml)"
    fit = [p for p in profiles[0].get("pluginConfig") or [] if p["name"] == "NodeResourcesFit"]
    assert len(fit) == 1, "NodeResourcesFit is not configured"
    args = fit[0]["args"]
    assert set(args) <= CONFIG_FIELDS["NodeResourcesFitArgs"], sorted(args)
    strategy = args["scoringStrategy"]
    assert set(strategy) <= CONFIG_FIELDS["scoringStrategy"], sorted(strategy)
    assert strategy["type"] in SCORING_TYPES and strategy["type"] == "MostAllocated", strategy["type"]
    for resource in strategy["resources"]:
        assert set(resource) <= CONFIG_FIELDS["resource"] and 1 <= resource["weight"] <= 100, resource
    weights = {r["name"]: r["weight"] for r in strategy["resources"]}
    assert weights == {"cpu": 1, "memory": 1}


def rbac_is_for_the_deployments_account(objects):
    """Every binding of the chart names exactly the ServiceAccount the Deployment runs as (which the chart
    creates), and together they bind it to Kubernetes' roles for a scheduler."""
    spec = pod_spec(objects)
    account = find(objects, "ServiceAccount", spec["serviceAccountName"])
    assert account["metadata"]["namespace"] == NAMESPACE
    assert spec.get("automountServiceAccountToken", account.get("automountServiceAccountToken", True))
    subject = [{"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": NAMESPACE}]
    bindings = [m for m in objects if m["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    assert {key(b): b["subjects"] for b in bindings} == {key(b): subject for b in bindings}
    bound = {
        (b["kind"], b["metadata"].get("namespace", ""), b["roleRef"]["kind"], b["roleRef"]["name"])
        for b in bindings
    }
    assert bound >= SCHEDULER_ROLES, f"missing: {sorted(SCHEDULER_ROLES - bound)}"


def lease_is_one_the_role_grants(objects):
    """The leader-election Lease the configuration names is the scheduler's own (not the default scheduler's
    kube-scheduler), and a Role of the Lease's namespace, bound to the Deployment's account, lets it create
    Leases and get and update that one."""
    election = scheduler_config(objects)["leaderElection"]
    assert election["leaderElect"] is True and election.get("resourceLock", "leases") == "leases"
    name, namespace = election["resourceName"], election["resourceNamespace"]
    assert name != "kube-scheduler" and namespace == NAMESPACE
    account = pod_spec(objects)["serviceAccountName"]
    granted = set()
    for binding in (
        m for m in objects if m["kind"] == "RoleBinding" and m["metadata"]["namespace"] == namespace
    ):
        if {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE} not in binding["subjects"]:
            continue
        if binding["roleRef"]["kind"] != "Role":
            continue
        role = [m for m in objects if key(m) == f"Role/{binding['roleRef']['name']}"]
        for rule in role[0]["rules"] if role else []:
            if "coordination.k8s.io" in rule["apiGroups"] and "leases" in rule["resources"]:
                names = rule.get("resourceNames") or [name]
                granted |= {(verb, lease) for verb in rule["verbs"] for lease in names}
    assert {("get", name), ("update", name)} <= granted, f"the Role does not let it hold Lease {name}"
    assert any(verb == "create" for verb, _ in granted), "the Role does not let it create its Lease"


def deployment_is_redundant_and_placed(objects):
    """Two leader-elected replicas of the official image, at most one disrupted at a time, system-critical,
    on the system node group (the label helm/values.yaml places Airflow's components with), placed by the
    default scheduler, probed on kube-scheduler's HTTPS port, with the requests and limit the values say."""
    deployment = find(objects, "Deployment")
    spec = pod_spec(objects)
    assert deployment["spec"]["replicas"] == 2
    labels = deployment["spec"]["selector"]["matchLabels"]
    assert labels.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    budget = find(objects, "PodDisruptionBudget")
    assert budget["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": labels}}
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert spec["nodeSelector"] == {"airkube/pool": "system"} == get(load_yaml(BASE_VALUES), "nodeSelector")
    assert spec.get("schedulerName", "default-scheduler") == "default-scheduler", "it cannot place itself"
    (container,) = spec["containers"]
    assert container["image"] == f"registry.k8s.io/kube-scheduler:{TAG}"
    probes = {
        probe: (
            container[probe]["httpGet"]["scheme"],
            container[probe]["httpGet"]["port"],
            container[probe]["httpGet"]["path"],
        )
        for probe in ("livenessProbe", "readinessProbe")
    }
    assert probes == {
        "livenessProbe": ("HTTPS", 10259, "/healthz"),
        "readinessProbe": ("HTTPS", 10259, "/readyz"),
    }
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "256Mi"},
    }


@dataclass(frozen=True)
class Promise:
    check: Callable[[list[dict[str, Any]]], None]
    breaks: tuple[Breakage, ...]  # each must make the check fail

    def __str__(self) -> str:
        return self.check.__name__


PROMISES = [
    Promise(pod_is_restricted, (Breakage(values={"securityContexts": {"pod": {"runAsNonRoot": False}}}),)),
    Promise(
        config_is_one_binpacking_profile,
        (
            Breakage(values={"scoringStrategy": {"type": "LeastAllocated"}}),
            Breakage(values={"scoringStrategy": {"resources": [{"name": "cpu", "weight": 1}]}}),
            Breakage(values={"schedulerName": "airkube-spread"}),
            Breakage(
                edit=("configmap.yaml", "leaderElect: true", "leaderElect: true\n      leaseDurationn: 15s")
            ),
        ),
    ),
    Promise(
        rbac_is_for_the_deployments_account,
        (Breakage(edit=("rbac.yaml", "    name: {{ $name }}\n", "    name: default\n")),),
    ),
    Promise(
        lease_is_one_the_role_grants,
        (Breakage(edit=("rbac.yaml", "resourceNames: [{{ $name }}]", "resourceNames: [kube-scheduler]")),),
    ),
    Promise(
        deployment_is_redundant_and_placed,
        (
            Breakage(values={"replicas": 1}),
            Breakage(values={"nodeSelector": {"airkube/pool": "worker"}}),
            Breakage(values={"podDisruptionBudget": {"maxUnavailable": 2}}),
        ),
    ),
]
BITES = [pytest.param(p, b, id=f"{p}-{i}") for p in PROMISES for i, b in enumerate(p.breaks)]


@pytest.mark.parametrize("promise", PROMISES, ids=str)
def test_promise_holds_on_the_rendered_chart(objects, promise):
    promise.check(objects)


@pytest.mark.parametrize(("promise", "breakage"), BITES)
def test_promise_check_bites(promise, breakage, tmp_path):
    broken = breakage.render(tmp_path)
    with pytest.raises(AssertionError):
        promise.check(broken)


# --- the values file --------------------------------------------------------------------------------------


def test_every_value_says_why():
    """Each leaf of the chart's values.yaml has a comment on its line or the line above, or on an enclosing
    key's line (`resources:  # why` covers requests and limits)."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    missing = []

    def walk(node: yaml.Node, commented: bool, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value in node.value:
                line = key_node.start_mark.line
                here = (
                    commented
                    or " #" in lines[line]
                    or (line > 0 and lines[line - 1].lstrip().startswith("#"))
                )
                walk(value, here, f"{path}.{key_node.value}".lstrip("."))
        elif not commented:
            missing.append(path)

    walk(yaml.compose((CHART / "values.yaml").read_text()), False, "")
    assert missing == []
