"""The pinned chart rendered for real (`helm template`, helm/values.yaml + each overlay), checked as the
cluster would get it: valid Kubernetes 1.33 in strict mode, checkov's Kubernetes checks with every exception
reviewed in tests/helm/checkov_skips.yaml, and the platform's promises read off the rendered objects.

The objects carry the release namespace where `helm template` leaves it unset, as `helm install -n` (how
`make deploy` applies the same output) creates them; airkube_dev.chart.render says so where it does it.
Each environment is rendered once per session (about half a second each), checkov runs once for all.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from airkube_dev import production_guards
from airkube_dev.chart import helm_mk_variable
from checkov_cli import checkov_report, kubernetes_object, reviewed_skips
from helm_values import ENVIRONMENTS, REPO, get, load_yaml, user_values
from kube_standin import admission
from rendered import (
    WORKER_POD,
    config,
    containers,
    env_of,
    find,
    key,
    kubernetes_errors,
    manifests,
    namespace,
    pod_specs,
    render_with,
    worker_pod,
)

CHECKOV_SKIPS = Path(__file__).with_name("checkov_skips.yaml")
# Where Terraform writes the metadata connection the chart hands Airflow (the data.metadataSecretName Secret).
TERRAFORM_PLATFORM = REPO / "terraform" / "platform" / "main.tf"
# The IRSA roles: the platform role trusts the service accounts its platform_service_accounts default names.
TERRAFORM_IAM_VARIABLES = REPO / "terraform" / "modules" / "iam" / "variables.tf"
WORKER_ROLE_OF_STAGING = "arn:aws:iam::123456789012:role/airkube-staging-airflow-worker"  # a breakage
# The workloads besides the worker pods that send alerts, whose records need the data bucket.
PLATFORM_WORKLOADS = (
    "Deployment/{}-scheduler",
    "StatefulSet/{}-triggerer",
    "Deployment/{}-dag-processor",
    "Deployment/{}-api-server",
)


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {env: manifests(env) for env in ENVIRONMENTS}


# --- Kubernetes 1.33, strict ------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_rendered_object_validates_against_kubernetes_strict(rendered, env):
    objects = [*rendered[env], worker_pod(rendered[env])]
    assert len(objects) > 30, "the chart rendered far fewer objects than it should"
    assert kubernetes_errors(objects) == []


def test_strict_validation_catches_a_field_kubernetes_does_not_know(tmp_path):
    """extraEnv is a string to the chart's schema: a misspelled env field passes helm, not Kubernetes."""
    broken = render_with("staging", {"extraEnv": "- name: AIRKUBE_RUNNER\n  valeu: kubernetes\n"}, tmp_path)
    errors = kubernetes_errors([*broken, worker_pod(broken)])
    assert errors and all("valeu" in error for error in errors), errors


# --- checkov ----------------------------------------------------------------------------------------------

# The negative control, scanned in the same run: privileged, root, host network, the default namespace.
INSECURE_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "insecure", "namespace": "default"},
    "spec": {
        "hostNetwork": True,
        "containers": [
            {
                "name": "root",
                "image": "busybox:latest",
                "securityContext": {"privileged": True, "allowPrivilegeEscalation": True, "runAsUser": 0},
            }
        ],
    },
}


@dataclass(frozen=True)
class Scan:
    """checkov's verdicts for one folder of manifests: (check id, `Kind/name`) pairs."""

    failed: set[tuple[str, str]]
    scanned: set[str]


@pytest.fixture(scope="session")
def checkov_scans(rendered, tmp_path_factory) -> dict[str, Scan]:
    """One checkov run over every environment's objects (and the worker pod template as a Pod of its own:
    it is a ConfigMap's string to checkov otherwise), plus the control, each in a folder of its own."""
    root = tmp_path_factory.mktemp("checkov")
    for env, objects in rendered.items():
        (root / env).mkdir()
        (root / env / "chart.yaml").write_text(yaml.safe_dump_all(objects))
        (root / env / "worker-pod.yaml").write_text(yaml.safe_dump(worker_pod(objects)))
    (root / "control").mkdir()
    (root / "control" / "pod.yaml").write_text(yaml.safe_dump(INSECURE_POD))
    report = checkov_report(root, "kubernetes")
    assert report["summary"]["parsing_errors"] == 0
    scans: dict[str, Scan] = {folder: Scan(set(), set()) for folder in [*rendered, "control"]}
    for outcome in ("passed_checks", "failed_checks"):
        for check in report["results"][outcome]:
            scan = scans[check["file_path"].strip("/").split("/")[0]]
            scan.scanned.add(kubernetes_object(check["resource"]))
            if outcome == "failed_checks":
                scan.failed.add((check["check_id"], kubernetes_object(check["resource"])))
    return scans


def unreviewed(failed: set[tuple[str, str]], skips: dict[tuple[str, str], str]) -> dict[str, list[str]]:
    """Failures nobody reviewed, and reviewed skips that no longer fail (stale: delete them)."""
    return {
        "failed and not in tests/helm/checkov_skips.yaml": sorted(
            " ".join(pair) for pair in failed - set(skips)
        ),
        "stale in tests/helm/checkov_skips.yaml (passes now)": sorted(
            " ".join(p) for p in set(skips) - failed
        ),
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_checkov_fails_only_the_reviewed_checks(checkov_scans, env):
    assert unreviewed(checkov_scans[env].failed, reviewed_skips(CHECKOV_SKIPS)) == {
        "failed and not in tests/helm/checkov_skips.yaml": [],
        "stale in tests/helm/checkov_skips.yaml (passes now)": [],
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_checkov_scanned_every_workload_and_the_worker_pod(rendered, checkov_scans, env):
    workloads = {name for name in pod_specs(rendered[env]) if name != WORKER_POD}
    assert workloads | {key(worker_pod(rendered[env]))} <= checkov_scans[env].scanned


def test_the_checkov_scan_catches_an_insecure_pod(checkov_scans):
    failed = {check for check, _ in checkov_scans["control"].failed}
    assert {"CKV_K8S_16", "CKV_K8S_20", "CKV_K8S_19", "CKV_K8S_23", "CKV_K8S_21"} <= failed, sorted(failed)


def test_the_skip_comparison_reports_both_unreviewed_failures_and_stale_skips():
    skips = {("CKV_K8S_11", "Deployment/a"): "why", ("CKV_K8S_15", "Deployment/a"): "why"}
    report = unreviewed({("CKV_K8S_11", "Deployment/a"), ("CKV_K8S_22", "Deployment/a")}, skips)
    assert list(report.values()) == [["CKV_K8S_22 Deployment/a"], ["CKV_K8S_15 Deployment/a"]]


def test_every_skip_names_a_check_and_objects_and_says_why():
    assert reviewed_skips(CHECKOV_SKIPS)  # reviewed_skips checks each entry's form as it reads it


# --- the platform's promises, on the rendered objects -----------------------------------------------------


def restricted_violations(name: str, spec: dict[str, Any]) -> list[str]:
    """Where a pod spec departs from the Kubernetes "restricted" Pod Security Standard: the stand-in API
    server's admission check (one list of the rules), plus ours, stricter than the standard: every
    container drops exactly ALL."""
    found = admission.restricted_violations({"metadata": {"name": name}, "spec": spec})
    found += [
        f"{container['name']}: drops {drop}, not exactly ALL"
        for container in containers(spec)
        if (drop := ((container.get("securityContext") or {}).get("capabilities") or {}).get("drop"))
        != ["ALL"]
    ]
    return found


def airflow_containers(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`Kind/name container` -> container, for every container that runs the platform's Airflow image."""
    image = pod_specs(objects)[WORKER_POD]["containers"][0]["image"]
    return {
        f"{name} {container['name']}": container
        for name, spec in pod_specs(objects).items()
        for container in containers(spec)
        if container["image"] == image
    }


def component_containers(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The main container of each long-running Airflow component, and the worker pod's."""
    release = helm_mk_variable("HELM_RELEASE")
    names = [
        f"Deployment/{release}-scheduler scheduler",
        f"Deployment/{release}-api-server api-server",
        f"Deployment/{release}-dag-processor dag-processor",
        f"StatefulSet/{release}-triggerer triggerer",
        f"{WORKER_POD} base",
    ]
    found = airflow_containers(objects)
    assert set(names) <= set(found), f"missing: {sorted(set(names) - set(found))}"
    return {name: found[name] for name in names}


def executor_is_kubernetes(objects, env):
    assert config(objects)["core"]["executor"] == "KubernetesExecutor"
    for name, container in airflow_containers(objects).items():
        variable = env_of(container).get("AIRFLOW__CORE__EXECUTOR")
        assert variable is None or variable["value"] == "KubernetesExecutor", name


def every_pod_is_restricted(objects, env):
    violations = {name: restricted_violations(name, spec) for name, spec in pod_specs(objects).items()}
    assert {name: found for name, found in violations.items() if found} == {}


def worker_pod_runs_as_the_values_say(objects, env):
    pod = worker_pod(objects)
    spec = pod["spec"]
    pod_context = spec["securityContext"]
    assert pod_context.get("runAsNonRoot") is True and pod_context.get("runAsUser") != 0
    assert restricted_violations(WORKER_POD, spec) == []
    assert pod["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
    contexts = get(user_values(env), "workers.kubernetes.securityContexts")
    base = next(c for c in spec["containers"] if c["name"] == "base")
    assert (pod_context, base["securityContext"]) == (contexts["pod"], contexts["container"])


def worker_resources_are_the_shared_values(objects, env):
    """helm/values.yaml sizes the worker pod; an overlay that re-sized it would show here."""
    base = next(c for c in worker_pod(objects)["spec"]["containers"] if c["name"] == "base")
    expected = get(load_yaml(REPO / "helm" / "values.yaml"), "workers.kubernetes.resources")
    assert base["resources"] == expected


def scheduler_is_redundant(objects, env):
    scheduler = find(objects, "Deployment", f"{helm_mk_variable('HELM_RELEASE')}-scheduler")
    assert scheduler["spec"]["replicas"] == 2
    labels = scheduler["spec"]["selector"]["matchLabels"]
    budgets = [
        m["spec"]
        for m in objects
        if m["kind"] == "PodDisruptionBudget" and m["spec"]["selector"]["matchLabels"] == labels
    ]
    assert budgets and budgets[0].get("maxUnavailable") == 1, "a drain must leave one scheduler running"


def terraform_metadata_endpoint() -> tuple[str, int]:
    """Host and port of the metadata connection Terraform writes into the chart's metadata Secret."""
    text = TERRAFORM_PLATFORM.read_text()
    match = re.search(r'connection\s*=\s*"postgresql://[^@"]+@([^:"/]+):(\d+)/', text)
    assert match, f"no postgresql:// metadata connection in {TERRAFORM_PLATFORM}"
    local_namespace = re.search(r'^\s*namespace\s*=\s*"([^"]+)"', text, re.MULTILINE)
    assert local_namespace, f"{TERRAFORM_PLATFORM} sets no local namespace"
    return match.group(1).replace("${local.namespace}", local_namespace.group(1)), int(match.group(2))


def metadata_goes_through_pgbouncer(objects, env):
    release = helm_mk_variable("HELM_RELEASE")
    pgbouncer = find(objects, "Deployment", f"{release}-pgbouncer")
    assert pgbouncer["spec"]["replicas"] == 2
    service = find(objects, "Service", f"{release}-pgbouncer")
    ports = {port["name"]: port["port"] for port in service["spec"]["ports"]}
    host, port = terraform_metadata_endpoint()
    assert (host, port) == (
        f"{service['metadata']['name']}.{service['metadata']['namespace']}",
        ports["pgbouncer"],
    )
    # Every Airflow container takes its connection from that Secret, and airflow.cfg names no other.
    secret = {"secretKeyRef": {"name": get(user_values(env), "data.metadataSecretName"), "key": "connection"}}
    assert not config(objects).has_option("database", "sql_alchemy_conn")
    for name, container in airflow_containers(objects).items():
        variable = env_of(container).get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        assert variable is None or variable.get("valueFrom") == secret, name
    for name, container in component_containers(objects).items():
        assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in env_of(container), name


def migrations_connect_straight_to_the_database(objects, env):
    """`airflow db migrate` holds session-level advisory locks, which PgBouncer's transaction pooling cannot
    keep: the migration job runs on the metadata Secret's `direct-connection` key (terraform/platform writes
    it). Its command is run with a stand-in `airflow` that prints the connection it was given."""
    job = find(objects, "Job", f"{helm_mk_variable('HELM_RELEASE')}-run-airflow-migrations")
    container = job["spec"]["template"]["spec"]["containers"][0]
    secret = get(user_values(env), "data.metadataSecretName")
    direct = [
        name
        for name, item in env_of(container).items()
        if item.get("valueFrom", {}).get("secretKeyRef") == {"name": secret, "key": "direct-connection"}
    ]
    assert len(direct) == 1, f"the migration job takes no variable from {secret}'s direct-connection"
    stub = Path(tempfile.mkdtemp()) / "airflow"
    stub.write_text('#!/bin/sh\necho "$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN $*"\n')
    stub.chmod(0o755)
    environ = {"PATH": f"{stub.parent}:/usr/bin:/bin", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "pgbouncer"}
    command = [*(container.get("command") or []), *container["args"]]
    ran = subprocess.run(command, env={**environ, direct[0]: "direct"}, capture_output=True, text=True)
    assert ran.stdout.strip() == "direct db migrate", ran.stdout + ran.stderr


def dags_come_from_git_sync(objects, env):
    git_sync = get(user_values(env), "dags.gitSync")
    assert config(objects)["core"]["dags_folder"] == f"/opt/airflow/dags/repo/{git_sync['subPath']}"
    specs = pod_specs(objects)
    release = helm_mk_variable("HELM_RELEASE")
    init = next(c for c in specs[WORKER_POD]["initContainers"] if c["name"] == "git-sync-init")
    variables = {name: item.get("value") for name, item in env_of(init).items()}
    assert variables["GITSYNC_REPO"] == git_sync["repo"] and variables["GITSYNC_REF"] == git_sync["ref"]
    assert variables["GITSYNC_SSH"] == "true" and variables["GITSYNC_SSH_KNOWN_HOSTS"] == "true"
    assert variables["GITSYNC_ONE_TIME"] == "true", "a worker pod clones once, before its task"
    for workload in (f"Deployment/{release}-dag-processor", f"StatefulSet/{release}-triggerer"):
        assert "git-sync" in {c["name"] for c in specs[workload]["containers"]}, workload


def worker_pods_may_launch_task_pods(objects, env):
    """The task's KubernetesPodOperator starts the task pod from the worker pod, with its account, which
    also holds the IAM role (chart 1.21.0 binds the pod-launcher Role to workers.serviceAccount only)."""
    account = worker_pod(objects)["spec"]["serviceAccountName"]
    allowed = set()
    for binding in (m for m in objects if m["kind"] == "RoleBinding"):
        subjects = {(s["kind"], s["name"], s.get("namespace")) for s in binding.get("subjects") or []}
        if ("ServiceAccount", account, namespace()) in subjects:
            role = find(objects, binding["roleRef"]["kind"], binding["roleRef"]["name"])
            allowed |= {
                (resource, verb)
                for rule in role.get("rules") or []
                for resource in rule["resources"]
                for verb in rule["verbs"]
            }
    needed = {("pods", verb) for verb in ("create", "get", "list", "watch", "delete", "patch")}
    assert needed | {("pods/log", "get")} <= allowed, f"{account} may not run task pods"
    annotations = find(objects, "ServiceAccount", account)["metadata"].get("annotations") or {}
    assert f"-{env}-" in annotations.get("eks.amazonaws.com/role-arn", ""), (
        f"{account} has no IAM role of {env}"
    )
    assert account == get(user_values(env), "workers.serviceAccount.name")


def iam_trusted_platform_accounts() -> set[str]:
    """platform_service_accounts' default in terraform/modules/iam/variables.tf."""
    text = TERRAFORM_IAM_VARIABLES.read_text()
    block = re.search(r'(?ms)^variable "platform_service_accounts" \{.*?^\}', text)
    assert block, f"{TERRAFORM_IAM_VARIABLES} declares no platform_service_accounts"
    default = re.search(r"(?m)^\s*default\s*=\s*\[([^\]]*)\]", block.group(0))
    assert default, "platform_service_accounts has no list default"
    return set(re.findall(r'"([^"]+)"', default.group(1)))


def platform_components_hold_the_records_role(objects, env):
    """The scheduler, triggerer, dag-processor and api-server send alerts and write their records to the
    data bucket (the api-server's platform page reads them): each pod's account carries the environment's
    airflow-platform role, in the account of the worker role, and is one the role trusts; no other does."""
    release = helm_mk_variable("HELM_RELEASE")
    specs = pod_specs(objects)
    role_key = "eks.amazonaws.com/role-arn"
    worker = find(objects, "ServiceAccount", get(user_values(env), "workers.serviceAccount.name"))
    account_id = worker["metadata"]["annotations"][role_key].split(":")[4]
    platform_role = f"arn:aws:iam::{account_id}:role/airkube-{env}-airflow-platform"
    accounts = set()
    for workload in (w.format(release) for w in PLATFORM_WORKLOADS):
        account = find(objects, "ServiceAccount", specs[workload]["serviceAccountName"])
        annotations = account["metadata"].get("annotations") or {}
        assert annotations.get(role_key) == platform_role, f"{workload}: not {platform_role}"
        accounts.add(account["metadata"]["name"])
    trusted = iam_trusted_platform_accounts()
    assert accounts == trusted, (
        f"the platform role trusts {sorted(trusted)}, the pods run as {sorted(accounts)}"
    )
    holders = {
        m["metadata"]["name"]
        for m in objects
        if m["kind"] == "ServiceAccount"
        and (m["metadata"].get("annotations") or {}).get(role_key) == platform_role
    }
    assert holders == accounts, (
        f"only the alerting components hold the platform role, not {holders - accounts}"
    )


def workers_run_in_the_release_namespace(objects, env):
    executor = config(objects)["kubernetes_executor"]
    assert executor["namespace"] == namespace() and executor["multi_namespace_mode"] == "False"
    values = user_values(env)
    assert (executor["worker_container_repository"], executor["worker_container_tag"]) == (
        values["defaultAirflowRepository"],
        values["defaultAirflowTag"],
    )
    variables = env_of(worker_pod(objects)["spec"]["containers"][0])
    assert variables["AIRKUBE_NAMESPACE"]["value"] == namespace(), "task pods go where the worker pods are"
    assert variables["AIRKUBE_ENV"]["value"] == env
    outside = [key(m) for m in objects if m["metadata"].get("namespace", namespace()) != namespace()]
    assert outside == [], "every object belongs in the release's namespace"


def api_tokens_only_where_rbac_grants_something(objects, env):
    """A pod mounts a Kubernetes API token only if its account is bound to a Role that allows something."""
    granted = set()
    for binding in (m for m in objects if m["kind"] == "RoleBinding"):
        if find(objects, binding["roleRef"]["kind"], binding["roleRef"]["name"]).get("rules"):
            granted |= {s["name"] for s in binding.get("subjects") or [] if s["kind"] == "ServiceAccount"}
    for name, spec in pod_specs(objects).items():
        account = find(objects, "ServiceAccount", spec["serviceAccountName"])
        mounts = spec.get("automountServiceAccountToken", account.get("automountServiceAccountToken", True))
        if account["metadata"]["name"] in granted:
            assert mounts is not False, f"{name}: no API token, yet its account's Role grants it something"
        else:
            assert mounts is False, f"{name}: an API token it has no use for"


def metrics_go_to_the_node_datadog_agent(objects, env):
    metrics = config(objects)["metrics"]
    assert (metrics["statsd_on"], metrics["statsd_datadog_enabled"], metrics["statsd_port"]) == (
        "True",
        "True",
        "8125",
    )
    assert f"env:{env}" in metrics["statsd_datadog_tags"].split(",")
    host_ip = {"fieldRef": {"fieldPath": "status.hostIP"}}
    for name, container in component_containers(objects).items():
        variable = env_of(container).get("AIRFLOW__METRICS__STATSD_HOST")
        assert variable and variable.get("valueFrom") == host_ip, f"{name}: StatsD is not the node's agent"


def tasks_ride_out_a_database_failover(objects, env):
    """Every component reads the retries the local platform runs and the fault suite proved."""
    retries = config(objects)["workers"]["execution_api_retries"]
    assert retries == str(production_guards.execution_api_retries())
    assert int(retries) >= 10, "Airflow's default 5 gives up within a PostgreSQL restart"


@dataclass(frozen=True)
class Promise:
    check: Callable[[list[dict[str, Any]], str], None]
    # Values that must make the check fail, rendered after helm/values.yaml and values-staging.yaml.
    breaks: dict[str, Any]

    def __str__(self) -> str:
        return self.check.__name__


PROMISES = [
    Promise(executor_is_kubernetes, {"executor": "CeleryExecutor"}),
    Promise(
        every_pod_is_restricted,
        {"pgbouncer": {"securityContexts": {"pod": {"seccompProfile": {"type": "Unconfined"}}}}},
    ),
    Promise(
        worker_pod_runs_as_the_values_say,
        {"workers": {"kubernetes": {"securityContexts": {"pod": {"runAsNonRoot": False}}}}},
    ),
    Promise(
        worker_resources_are_the_shared_values,
        {"workers": {"kubernetes": {"resources": {"limits": {"cpu": "2"}}}}},
    ),
    Promise(scheduler_is_redundant, {"scheduler": {"replicas": 1}}),
    Promise(metadata_goes_through_pgbouncer, {"pgbouncer": {"enabled": False}}),
    Promise(
        migrations_connect_straight_to_the_database,
        {"migrateDatabaseJob": {"args": ["bash", "-c", "exec airflow db migrate"]}},
    ),
    Promise(dags_come_from_git_sync, {"dags": {"gitSync": {"enabled": False}}}),
    Promise(
        worker_pods_may_launch_task_pods,
        {
            "workers": {
                "kubernetes": {"serviceAccount": {"create": True, "name": "airflow-kubernetes-worker"}}
            }
        },
    ),
    Promise(
        platform_components_hold_the_records_role,
        {
            "triggerer": {
                "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": WORKER_ROLE_OF_STAGING}}
            }
        },
    ),
    Promise(
        workers_run_in_the_release_namespace, {"config": {"kubernetes_executor": {"namespace": "default"}}}
    ),
    Promise(
        api_tokens_only_where_rbac_grants_something,
        {"dagProcessor": {"serviceAccount": {"automountServiceAccountToken": True}}},
    ),
    Promise(metrics_go_to_the_node_datadog_agent, {"config": {"metrics": {"statsd_port": 9125}}}),
    Promise(tasks_ride_out_a_database_failover, {"config": {"workers": {"execution_api_retries": 5}}}),
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("promise", PROMISES, ids=str)
def test_promise_holds_on_the_rendered_chart(rendered, promise, env):
    promise.check(rendered[env], env)


@pytest.mark.parametrize("promise", PROMISES, ids=str)
def test_promise_check_bites(promise, tmp_path):
    broken = render_with("staging", promise.breaks, tmp_path)
    with pytest.raises(AssertionError):
        promise.check(broken, "staging")
