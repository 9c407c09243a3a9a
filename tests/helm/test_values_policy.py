"""The platform's decisions about the Airflow deployment, one check per decision.

Each check runs on the values the chart's templates see in every environment (chart defaults + values.yaml
+ the overlay). Each also comes with a breakage, applied to a copy of those values, that the check must
reject: a check that cannot fail would prove nothing. What the chart renders from them (the worker pod
template, validated against Kubernetes 1.33, airflow.cfg, every object) is checked in test_rendered_chart.py.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from helm_values import (
    BASE_VALUES,
    ENVIRONMENTS,
    HELM_MK,
    container_env,
    effective_values,
    env_value,
    get,
    load_yaml,
    locked_versions,
    put,
)

ECR_REPOSITORY = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/airkube$")
ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):role/[\w+=,.@-]+$")
# docs.github.com, "GitHub's SSH key fingerprints" (SHA256, base64 without padding).
GITHUB_HOST_KEY_FINGERPRINTS = {
    "ssh-rsa": "uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
    "ecdsa-sha2-nistp256": "p2QAMXNIC1TJYWeIOttrVc98/R1BUFWu3/LiyKgUfQM",
    "ssh-ed25519": "+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
}
AIRFLOW_UID = 50000
DATADOG_STATSD_PORT = 8125
TASK_SERVICE_ACCOUNT = "airkube-task"
# The components besides the workers that send alerts and so write records to the data bucket (the
# api-server also reads them for the platform page): IRSA role airflow-platform (terraform/modules/iam).
PLATFORM_COMPONENTS = ("scheduler", "triggerer", "dagProcessor", "apiServer")
PLATFORM_ROLE = "airflow-platform"


def helm_namespace() -> str:
    match = re.search(r"^HELM_NAMESPACE\s*\?=\s*(\S+)\s*$", HELM_MK.read_text(), re.MULTILINE)
    assert match, "helm/helm.mk sets no HELM_NAMESPACE"
    return match.group(1)


def quantity(value: str | int) -> float:
    """A Kubernetes quantity as a number (cpu in cores, memory in bytes)."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([a-zA-Z]*)", str(value))
    assert match and match.group(2) in {"", *units}, f"{value!r} is not a quantity"
    return float(match.group(1)) * units.get(match.group(2), 1)


def assert_restricted_container(context: dict[str, Any], what: str) -> None:
    assert context.get("allowPrivilegeEscalation") is False, f"{what}: allowPrivilegeEscalation"
    assert context.get("capabilities", {}).get("drop") == ["ALL"], f"{what}: capabilities.drop"
    assert not context.get("capabilities", {}).get("add"), f"{what}: capabilities.add"
    assert not context.get("privileged"), f"{what}: privileged"
    assert context.get("runAsUser") != 0, f"{what}: runs as root"


# --- the checks ------------------------------------------------------------------------------------------


def executor_is_kubernetes(values, env):
    assert values["executor"] == "KubernetesExecutor"


def worker_pods_have_resources(values, env):
    resources = values["workers"]["kubernetes"]["resources"]
    for kind in ("cpu", "memory"):
        request, limit = resources["requests"][kind], resources["limits"][kind]
        assert 0 < quantity(request) <= quantity(limit), f"{kind}: request {request}, limit {limit}"
    assert quantity(resources["requests"]["memory"]) == quantity(resources["limits"]["memory"]), (
        "memory request = limit: a worker pod is never OOM-killed for memory the node promised it"
    )


def worker_pods_are_restricted(values, env):
    contexts = values["workers"]["kubernetes"]["securityContexts"]
    pod = contexts["pod"]
    assert pod.get("runAsNonRoot") is True and pod.get("runAsUser") not in (None, 0)
    assert pod.get("seccompProfile", {}).get("type") in ("RuntimeDefault", "Localhost")
    assert_restricted_container(contexts["container"], "worker container")
    assert_restricted_container(values["dags"]["gitSync"]["securityContexts"]["container"], "git-sync")


def worker_pods_are_not_safe_to_evict(values, env):
    assert values["workers"]["kubernetes"]["safeToEvict"] is False


def worker_service_account_has_an_iam_role(values, env):
    account = values["workers"]["serviceAccount"]
    assert account["create"] is True and account["name"] == "airflow-worker"
    arn = ROLE_ARN.match(account["annotations"].get("eks.amazonaws.com/role-arn", ""))
    assert arn, "workers.serviceAccount needs an eks.amazonaws.com/role-arn annotation"
    registry = ECR_REPOSITORY.match(env_value(values, "AIRKUBE_IMAGE_REGISTRY") or "")
    assert registry and arn.group("account") == registry.group("account"), "role and ECR in one account"
    assert env in arn.group(0), f"the role of {env} names {env}"
    # Chart 1.21.0 binds the pod-launcher Role only to the legacy worker account (apache/airflow#66730);
    # a dedicated workers.kubernetes account would leave the task's KubernetesPodOperator forbidden.
    assert values["workers"]["kubernetes"]["serviceAccount"]["create"] is not True


def platform_components_have_the_records_role(values, env):
    """The scheduler, triggerer, dag-processor and api-server write alert records to the data bucket."""
    registry = ECR_REPOSITORY.match(env_value(values, "AIRKUBE_IMAGE_REGISTRY") or "")
    assert registry
    for component in PLATFORM_COMPONENTS:
        account = values[component]["serviceAccount"]
        assert account["create"] is True, f"{component}: its own service account, which the role trusts"
        annotations = account.get("annotations") or {}
        arn = ROLE_ARN.match(annotations.get("eks.amazonaws.com/role-arn", ""))
        assert arn, f"{component}.serviceAccount needs an eks.amazonaws.com/role-arn annotation"
        assert arn.group("account") == registry.group("account"), f"{component}: role and ECR in one account"
        assert arn.group(0).endswith(f":role/airkube-{env}-{PLATFORM_ROLE}"), (
            f"{component} holds {arn.group(0)}, not {env}'s {PLATFORM_ROLE} role"
        )


def pgbouncer_is_sized_and_set_up_for_a_secret(values, env):
    pgbouncer = values["pgbouncer"]
    assert pgbouncer["enabled"] is True
    base = load_yaml(BASE_VALUES)["pgbouncer"]
    assert {"maxClientConn", "metadataPoolSize"} <= set(base), "sized in helm/values.yaml, not left default"
    assert pgbouncer["metadataPoolSize"] * pgbouncer["replicas"] < pgbouncer["maxClientConn"]
    # The production guide: with the metadata connection in a Secret, pgbouncer.ini + users.txt and the
    # exporter's connection must come from Secrets too.
    assert pgbouncer["configSecretName"] and pgbouncer["metricsExporterSidecar"]["statsSecretName"]


def metadata_database_is_rds_through_pgbouncer(values, env):
    assert values["postgresql"]["enabled"] is False
    assert values["data"]["metadataSecretName"]
    assert values["data"]["metadataConnection"]["host"] is None, "no credentials in values"
    assert values["enableBuiltInSecretEnvVars"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] is True


def static_keys_come_from_secrets(values, env):
    for name_key, inline_key, variable in (
        ("fernetKeySecretName", "fernetKey", "AIRFLOW__CORE__FERNET_KEY"),
        ("apiSecretKeySecretName", "apiSecretKey", "AIRFLOW__API__SECRET_KEY"),
        ("jwtSecretName", "jwtSecret", "AIRFLOW__API_AUTH__JWT_SECRET"),
    ):
        assert values[name_key], f"{name_key} unset: the chart would generate a new key on upgrade"
        assert values[inline_key] is None, f"{inline_key}: keys live in Secrets, never in values"
        assert values["enableBuiltInSecretEnvVars"][variable] is True


def dags_come_from_git_over_ssh(values, env):
    git_sync = values["dags"]["gitSync"]
    assert git_sync["enabled"] is True and values["dags"]["persistence"]["enabled"] is False
    assert git_sync["subPath"] == "dags"
    assert git_sync["ref"] == git_sync["branch"]
    host = re.fullmatch(r"git@([\w.-]+):[\w./-]+\.git", git_sync["repo"])
    assert host, "an SSH clone URL (git@host:org/repo.git)"
    assert git_sync["sshKeySecret"] and not git_sync.get("sshKey")
    lines = (git_sync.get("knownHosts") or "").strip().splitlines()
    assert lines, "knownHosts must pin the git host's keys"
    for line in lines:
        hosts, key_type, key = line.split()
        assert host.group(1) in hosts.split(","), line
        if host.group(1) == "github.com":
            digest = base64.b64encode(hashlib.sha256(base64.b64decode(key)).digest()).decode().rstrip("=")
            assert GITHUB_HOST_KEY_FINGERPRINTS.get(key_type) == digest, f"not GitHub's {key_type} key"


def task_logs_persist_on_the_shared_claim(values, env):
    persistence = values["logs"]["persistence"]
    assert persistence["enabled"] is True and persistence["existingClaim"]
    # Writable by the Airflow user and group 0: what the EFS access point is owned by.
    assert (values["uid"], values["gid"]) == (AIRFLOW_UID, 0)
    pod = values["workers"]["kubernetes"]["securityContexts"]["pod"]
    assert (pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (AIRFLOW_UID, 0, 0)


def log_groomer_is_kept(values, env):
    for component in ("scheduler", "triggerer", "dagProcessor"):
        groomer = values[component]["logGroomerSidecar"]
        assert groomer["enabled"] is True and groomer["retentionDays"] > 0, component


def image_is_the_platform_image(values, env):
    registry = env_value(values, "AIRKUBE_IMAGE_REGISTRY") or ""
    assert ECR_REPOSITORY.match(registry), f"AIRKUBE_IMAGE_REGISTRY {registry!r} is not an ECR registry"
    assert values["defaultAirflowRepository"] == f"{registry}/airflow"
    tag = values["defaultAirflowTag"]
    assert isinstance(tag, str) and tag != "latest" and re.fullmatch(r"[\w][\w.-]{0,127}", tag)
    assert env_value(values, "AIRKUBE_IMAGE_TAG") == tag, "task images and Airflow ship as one release"
    # Every Airflow container, the worker pods and the migration job fall back to the default image.
    for image in ("airflow", "pod_template"):
        assert values["images"][image]["repository"] is None and values["images"][image]["tag"] is None
    assert values["images"]["useDefaultImageForMigration"] is False
    assert values["airflowVersion"] == locked_versions()["apache-airflow"]


def metrics_go_to_the_node_datadog_agent(values, env):
    assert values["statsd"]["enabled"] is False
    metrics = values["config"]["metrics"]
    assert str(metrics["statsd_on"]) == "True" and str(metrics["statsd_datadog_enabled"]) == "True"
    assert int(metrics["statsd_port"]) == DATADOG_STATSD_PORT
    assert f"env:{env}" in metrics["statsd_datadog_tags"].split(",")
    host_ip = {"fieldRef": {"fieldPath": "status.hostIP"}}
    sources = {item["name"]: item.get("valueFrom") for item in container_env(values)}
    assert sources.get("AIRFLOW__METRICS__STATSD_HOST") == host_ip
    assert sources.get("DD_AGENT_HOST") == host_ip


def scheduler_and_api_server_are_redundant(values, env):
    for component in ("scheduler", "apiServer"):
        assert values[component]["replicas"] == 2, component
        budget = values[component]["podDisruptionBudget"]
        assert budget["enabled"] is True, component
        assert budget["config"] in ({"maxUnavailable": 1}, {"minAvailable": 1}), component


def triggerer_and_dag_processor_run(values, env):
    assert values["triggerer"]["enabled"] is True
    assert values["dagProcessor"]["enabled"] is True


def clean_up_jobs_run(values, env):
    assert values["cleanup"]["enabled"] is True
    assert values["databaseCleanup"]["enabled"] is True and values["databaseCleanup"]["retentionDays"] > 0


def no_default_admin_user(values, env):
    assert values["createUserJob"]["enabled"] is False


def platform_settings_are_set(values, env):
    names = [item["name"] for item in container_env(values)]
    airkube = sorted(name for name in names if name.startswith("AIRKUBE_"))
    assert len(names) == len(set(names)), "an env var set twice"
    assert airkube == sorted(
        [
            "AIRKUBE_DATA_URL",
            "AIRKUBE_ENV",
            "AIRKUBE_IMAGE_REGISTRY",
            "AIRKUBE_IMAGE_TAG",
            "AIRKUBE_NAMESPACE",
            "AIRKUBE_RUNNER",
            "AIRKUBE_TASK_SERVICE_ACCOUNT",
        ]
    )
    assert env_value(values, "AIRKUBE_ENV") == env
    assert env_value(values, "AIRKUBE_RUNNER") == "kubernetes"
    assert env_value(values, "AIRKUBE_NAMESPACE") == helm_namespace()
    assert env_value(values, "AIRKUBE_TASK_SERVICE_ACCOUNT") == TASK_SERVICE_ACCOUNT
    assert re.fullmatch(rf"s3://[a-z0-9.-]*{env}[a-z0-9.-]*/airkube", env_value(values, "AIRKUBE_DATA_URL"))


# --- checks and their breakages --------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    check: Callable[[dict[str, Any], str], None]
    breaks: Callable[[dict[str, Any]], None]

    def __str__(self) -> str:
        return self.check.__name__


def _setting(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda values: put(values, path, value)


def _drop_env(name: str) -> Callable[[dict[str, Any]], None]:
    def breaks(values: dict[str, Any]) -> None:
        values["env"] = [item for item in values["env"] if item["name"] != name]
        values["extraEnv"] = yaml.safe_dump(
            [i for i in yaml.safe_load(values["extraEnv"]) if i["name"] != name]
        )

    return breaks


POLICIES = [
    Policy(executor_is_kubernetes, _setting("executor", "CeleryExecutor")),
    Policy(worker_pods_have_resources, _setting("workers.kubernetes.resources.limits.memory", "256Mi")),
    Policy(
        worker_pods_are_restricted,
        _setting("workers.kubernetes.securityContexts.container.allowPrivilegeEscalation", True),
    ),
    Policy(worker_pods_are_not_safe_to_evict, _setting("workers.kubernetes.safeToEvict", None)),
    Policy(worker_service_account_has_an_iam_role, _setting("workers.serviceAccount.annotations", {})),
    Policy(platform_components_have_the_records_role, _setting("triggerer.serviceAccount.annotations", {})),
    Policy(pgbouncer_is_sized_and_set_up_for_a_secret, _setting("pgbouncer.configSecretName", None)),
    Policy(metadata_database_is_rds_through_pgbouncer, _setting("postgresql.enabled", True)),
    Policy(static_keys_come_from_secrets, _setting("jwtSecretName", None)),
    Policy(dags_come_from_git_over_ssh, _setting("dags.gitSync.knownHosts", None)),
    Policy(task_logs_persist_on_the_shared_claim, _setting("logs.persistence.existingClaim", None)),
    Policy(log_groomer_is_kept, _setting("scheduler.logGroomerSidecar.enabled", False)),
    Policy(image_is_the_platform_image, _setting("defaultAirflowTag", "latest")),
    Policy(metrics_go_to_the_node_datadog_agent, _drop_env("AIRFLOW__METRICS__STATSD_HOST")),
    Policy(scheduler_and_api_server_are_redundant, _setting("apiServer.podDisruptionBudget.enabled", False)),
    Policy(triggerer_and_dag_processor_run, _setting("dagProcessor.enabled", None)),
    Policy(clean_up_jobs_run, _setting("databaseCleanup.enabled", False)),
    Policy(no_default_admin_user, _setting("createUserJob.enabled", True)),
    Policy(platform_settings_are_set, _drop_env("AIRKUBE_RUNNER")),
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("policy", POLICIES, ids=str)
def test_policy_holds(policy, env):
    policy.check(effective_values(env), env)


@pytest.mark.parametrize("policy", POLICIES, ids=str)
def test_policy_check_bites(policy):
    values = effective_values("staging")
    policy.check(copy.deepcopy(values), "staging")
    policy.breaks(values)
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        policy.check(values, "staging")


def test_each_environment_check_bites_on_the_other_environment():
    """Values of one environment deployed as the other fail: env names are checked, not assumed."""
    with pytest.raises(AssertionError):
        platform_settings_are_set(effective_values("prod"), "staging")
    with pytest.raises(AssertionError):
        metrics_go_to_the_node_datadog_agent(effective_values("staging"), "prod")


def test_role_arns_are_per_environment_only():
    base = load_yaml(BASE_VALUES)
    assert "eks.amazonaws.com/role-arn" not in (get(base, "workers.serviceAccount.annotations") or {})
    arns = {
        get(effective_values(env), "workers.serviceAccount.annotations")["eks.amazonaws.com/role-arn"]
        for env in ENVIRONMENTS
    }
    assert len(arns) == len(ENVIRONMENTS), "each environment has its own IAM role"
    for component in PLATFORM_COMPONENTS:
        path = f"{component}.serviceAccount.annotations"
        assert "eks.amazonaws.com/role-arn" not in (get(base, path) or {}), f"{path}: per environment only"
    platform = {
        get(effective_values(env), f"{component}.serviceAccount.annotations")["eks.amazonaws.com/role-arn"]
        for env in ENVIRONMENTS
        for component in PLATFORM_COMPONENTS
    }
    assert len(platform) == len(ENVIRONMENTS), "one platform role per environment, shared by its components"
