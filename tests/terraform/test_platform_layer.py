"""The platform layer (terraform/platform) needs the helm and kubernetes providers, which this offline
machine does not have, so it cannot be initialised or validated here. These tests read its HCL instead:
its blocks are cut out by brace matching and checked against helm/values.yaml and helm/helm.mk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from airkube_dev import production_guards
from paths import REPO

PLATFORM = REPO / "terraform" / "platform"
VALUES = yaml.safe_load((REPO / "helm" / "values.yaml").read_text())


def _blocks(text: str, kind: str) -> dict[str, str]:
    """Body of every `<kind> "type" "name" {` (or `<kind> "name" {`) block, by "type.name" / "name"."""
    found = {}
    for match in re.finditer(rf'(?m)^{kind}((?:\s+"[^"]+")+)\s*\{{', text):
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        found[".".join(re.findall(r'"([^"]+)"', match[1]))] = text[match.end() : i - 1]
    return found


def _attr(body: str, name: str) -> str:
    match = re.search(rf"(?m)^\s*{re.escape(name)}\s*=\s*(.+)$", body)
    assert match, f"no {name} = ..."
    return match[1].strip()


MAIN = (PLATFORM / "main.tf").read_text()
RESOURCES = _blocks(MAIN, "resource")
LOCALS = "".join(re.findall(r"(?ms)^locals \{(.*?)^\}", MAIN))


def _local(expr: str) -> str:
    """The expression of local.<name>, e.g. `local.helm_values.fernetKeySecretName`."""
    name = expr.removeprefix("local.")
    return _attr(LOCALS, name)


def _values_path(expr: str):
    """Resolve `local.helm_values.a.b` (or `local.pgbouncer.x`) against helm/values.yaml."""
    expr = expr.replace("local.pgbouncer.", "local.helm_values.pgbouncer.")
    assert expr.startswith("local.helm_values."), f"{expr} is not read from helm/values.yaml"
    node = VALUES
    for key in expr.removeprefix("local.helm_values.").split("."):
        node = node[key]
    return node


def test_values_read_from_helm_folder() -> None:
    assert _local("helm_values") == 'yamldecode(file("${local.helm_dir}/values.yaml"))'
    assert _local("helm_dir") == '"${path.module}/../../helm"'
    assert (PLATFORM / "../../helm/values.yaml").resolve().is_file()


def test_airflow_release_uses_pinned_chart_and_values_files() -> None:
    body = RESOURCES["helm_release.airflow"]
    assert _attr(body, "chart") == '"airflow"'
    assert _attr(body, "repository") == '"https://airflow.apache.org"'
    assert _attr(body, "version") == "local.chart_version"
    # The same regex Terraform applies to helm/helm.mk, so the pin is read, not retyped.
    pattern = re.search(
        r'regex\("(.+?)", file\("\$\{local\.helm_dir\}/helm\.mk"\)\)\[0\]', _local("chart_version")
    )
    assert pattern, _local("chart_version")
    chart_version = re.search(pattern[1].replace("\\\\", "\\"), (REPO / "helm" / "helm.mk").read_text())
    assert chart_version and chart_version[1] == "1.21.0"
    values = re.search(r"(?s)values\s*=\s*\[(.*?)\]", body)
    assert values
    files = re.findall(r'file\("([^"]+)"\)', values[1])
    assert files == ["${local.helm_dir}/values.yaml", "${local.helm_dir}/values-${var.environment}.yaml"]
    assert not re.search(r"1\.21\.0", MAIN), "the chart version must come from helm/helm.mk"


# Secrets the platform layer makes for itself, not for the chart: the master user's login for the job that
# makes Airflow's database role (sql/airflow_role.sql).
PLATFORM_OWN_SECRETS = {"kubernetes_secret_v1.db_role"}


def test_secrets_match_helm_values() -> None:
    """Every Secret the chart expects is made, named through local.secret_names from helm/values.yaml."""
    expected = {
        VALUES["data"]["metadataSecretName"],
        VALUES["pgbouncer"]["configSecretName"],
        VALUES["pgbouncer"]["metricsExporterSidecar"]["statsSecretName"],
        VALUES["fernetKeySecretName"],
        VALUES["apiSecretKeySecretName"],
        VALUES["jwtSecretName"],
        VALUES["dags"]["gitSync"]["sshKeySecret"],
    }
    body = re.search(r"(?s)secret_names = \{(.*?)\n  \}", LOCALS)
    assert body
    mapping = dict(re.findall(r"(?m)^\s+(\w+)\s*=\s*(local\.[\w.]+)$", body[1]))
    made = {}
    for key, body in RESOURCES.items():
        if key.startswith("kubernetes_secret_v1.") and key not in PLATFORM_OWN_SECRETS:
            name = _attr(body, "name")
            assert name.startswith("local.secret_names."), f"{key}: Secret name retyped ({name})"
            made[key] = _values_path(mapping[name.removeprefix("local.secret_names.")])
    assert set(made.values()) == expected
    assert len(made) == len(expected)


def test_secret_keys_match_readme_contract() -> None:
    keys = {
        "metadata": {"connection", "direct-connection"},
        "pgbouncer_config": {"pgbouncer.ini", "users.txt"},
        "pgbouncer_stats": {"connection"},
        "fernet_key": {"fernet-key"},
        "api_secret_key": {"api-secret-key"},
        "jwt_secret": {"jwt-secret"},
        "git_ssh": {"gitSshKey"},
    }
    for name, wanted in keys.items():
        data = re.search(r"(?s)data = \{(.*?)\}\n", RESOURCES[f"kubernetes_secret_v1.{name}"])
        assert data, name
        found = set(re.findall(r'(?m)^\s+"?([\w.-]+)"?\s*=', data[1]))
        assert found == wanted, f"{name}: {found}"


def test_pgbouncer_sizing_from_values() -> None:
    ini = _local("pgbouncer_ini")
    assert ini.startswith("join(")
    block = re.search(r"(?s)pgbouncer_ini = join\(.*?\]\)", LOCALS)
    assert block
    for needed in (
        "pool_size=${local.pgbouncer.metadataPoolSize}",
        "max_client_conn = ${local.pgbouncer.maxClientConn}",
        "listen_port = 6543",
        "pool_mode = transaction",
        "auth_type = scram-sha-256",
        "server_tls_sslmode = require",
        "idle_transaction_timeout = ${local.pgbouncer_idle_transaction_timeout}",
    ):
        assert needed in block[0], needed


def test_pgbouncer_closes_an_idle_transaction_before_rds_ends_its_session() -> None:
    """The two guards against a dead process's open transaction, as production and the local platform
    read them: PgBouncer's must fire first, or RDS ends the session under a PgBouncer that still holds
    the client (and then hands it an error), and both must be on (0 turns either off)."""
    pgbouncer_s = production_guards.pgbouncer_idle_transaction_timeout()
    postgres_ms = production_guards.postgres_idle_in_transaction_session_timeout()
    assert 0 < pgbouncer_s * 1000 < postgres_ms


def test_logs_claim_task_account_and_namespace() -> None:
    claim = RESOURCES["kubernetes_persistent_volume_claim_v1.airflow_logs"]
    assert _values_path(_attr(claim, "name")) == "airflow-logs"
    assert '"ReadWriteMany"' in _attr(claim, "access_modes")
    assert _attr(RESOURCES["kubernetes_storage_class_v1.efs"], "storage_provisioner") == '"efs.csi.aws.com"'
    pv = RESOURCES["kubernetes_persistent_volume_v1.airflow_logs"]
    assert _attr(pv, "volume_handle").startswith("local.env.efs_volume_handle")
    account = RESOURCES["kubernetes_service_account_v1.task"]
    assert _attr(account, "name").startswith('"airkube-task"')
    extra_env = {item["name"]: item.get("value") for item in yaml.safe_load(VALUES["extraEnv"])}
    assert extra_env["AIRKUBE_TASK_SERVICE_ACCOUNT"] == "airkube-task"
    assert re.search(r'"eks\.amazonaws\.com/role-arn"\s*=\s*local\.env\.task_role_arn', account)
    assert _attr(RESOURCES["kubernetes_namespace_v1.airflow"], "name") == "local.namespace"
    assert _local("namespace") == f'"{extra_env["AIRKUBE_NAMESPACE"]}"'


def test_cluster_autoscaler_release() -> None:
    body = RESOURCES["helm_release.cluster_autoscaler"]
    assert _attr(body, "chart") == '"cluster-autoscaler"'
    assert "autoDiscovery = { clusterName = local.env.cluster_name }" in body
    assert "local.env.cluster_autoscaler_role_arn" in body
    # The autoscaler's minor version follows the cluster's, whatever the chart defaults to.
    assert 'image = { tag = "v${local.env.kubernetes_version}.0" }' in body


def test_binpack_scheduler_release() -> None:
    """The bin-packing second scheduler (helm/binpack-scheduler): the local chart, in kube-system, of the
    cluster's version, named as helm/values.yaml names it for the worker pods, installed before Airflow."""
    body = RESOURCES["helm_release.binpack_scheduler"]
    assert _attr(body, "namespace") == '"kube-system"'
    chart = re.fullmatch(r'"\$\{local\.helm_dir\}/([^"]+)"', _attr(body, "chart").split(" #")[0].strip())
    assert chart, f"not a chart folder under local.helm_dir: {_attr(body, 'chart')}"
    assert chart[1] == "binpack-scheduler"
    metadata = PLATFORM / "../../helm" / chart[1] / "Chart.yaml"  # local.helm_dir, from this folder
    assert metadata.is_file(), f"{metadata} is missing"
    assert yaml.safe_load(metadata.read_text())["name"] == "airkube-binpack-scheduler"
    assert not re.search(r"(?m)^\s*(repository|version)\s*=", body), (
        "a local chart: no repository, no version"
    )
    # kube-scheduler's minor version follows the cluster's, as the autoscaler's does.
    assert 'image = { tag = "v${local.env.kubernetes_version}.0" }' in body
    assert _values_path(_attr(body, "schedulerName")) == VALUES["workers"]["kubernetes"]["schedulerName"]
    depends_on = re.search(r"(?s)depends_on = \[(.*?)\]", RESOURCES["helm_release.airflow"])
    assert depends_on, "helm_release.airflow has no depends_on"
    assert "helm_release.binpack_scheduler" in {item.strip() for item in depends_on[1].split(",")}


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_platform_env_files(env: str) -> None:
    backend = (PLATFORM / f"backend-{env}.hcl").read_text()
    assert f'key          = "platform/{env}/terraform.tfstate"' in backend
    assert "use_lockfile = true" in backend
    tfvars = (PLATFORM / f"{env}.tfvars").read_text()
    assert f'environment    = "{env}"' in tfvars
    env_backend = (REPO / "terraform" / "envs" / env / "backend.tf").read_text()
    bucket = re.search(r'state_bucket\s*=\s*"([^"]+)"', tfvars)
    assert bucket and f'bucket       = "{bucket[1]}"' in env_backend, "platform must read envs/<env>'s state"


def test_platform_pins_providers() -> None:
    versions = (PLATFORM / "versions.tf").read_text()
    for provider in ("aws", "helm", "kubernetes", "random"):
        assert re.search(
            rf'(?s){provider} = \{{\s*source\s*=\s*"hashicorp/{provider}"\s*version\s*=\s*"~> ', versions
        )
    assert 'backend "s3" {}' in versions


def test_platform_parses_as_hcl(tmp_path: Path) -> None:
    """With python-hcl2 installed, a real parse (it is not in the project lock yet: skipped otherwise)."""
    hcl2 = pytest.importorskip("hcl2")
    for path in PLATFORM.glob("*.tf"):
        with path.open() as handle:
            parsed = hcl2.load(handle)
        assert parsed, path


def test_every_environment_value_read_is_an_output_of_the_environment_layer() -> None:
    """local.env.<name> is terraform_remote_state of envs/<env>: each name must be a key of its output."""
    outputs = (REPO / "terraform" / "envs" / "root" / "outputs.tf").read_text()
    environment = _blocks(outputs, "output")["environment"]
    exported = set(re.findall(r"(?m)^\s{4}(\w+)\s*=", environment))
    used = {
        name for path in PLATFORM.glob("*.tf") for name in re.findall(r"local\.env\.(\w+)", path.read_text())
    }
    assert used, "the platform layer reads nothing from the environment layer?"
    assert used <= exported, f"envs/root/outputs.tf does not export {sorted(used - exported)}"
