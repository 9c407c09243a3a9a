# What must exist in the cluster before `helm install airflow` (helm/README.md, "Prerequisites"), and the
# Airflow release itself. Names the chart reads come from helm/values.yaml, never retyped here. What this
# layer reads from the environment layer and from Secrets Manager is in environment.tf.

locals {
  helm_dir    = "${path.module}/../../helm"
  helm_values = yamldecode(file("${local.helm_dir}/values.yaml"))
  overlay     = yamldecode(file("${local.helm_dir}/values-${var.environment}.yaml"))
  # The one pin of the chart's version is helm/helm.mk (HELM_CHART_VERSION := x.y.z).
  chart_version = regex("(?m)^HELM_CHART_VERSION := ([0-9.]+)$", file("${local.helm_dir}/helm.mk"))[0]

  namespace = "airflow"
  pgbouncer = local.helm_values.pgbouncer

  secret_names = {
    metadata  = local.helm_values.data.metadataSecretName
    pgbouncer = local.pgbouncer.configSecretName
    stats     = local.pgbouncer.metricsExporterSidecar.statsSecretName
    fernet    = local.helm_values.fernetKeySecretName
    api       = local.helm_values.apiSecretKeySecretName
    jwt       = local.helm_values.jwtSecretName
    git_ssh   = local.helm_values.dags.gitSync.sshKeySecret
  }
}

provider "kubernetes" {
  host                   = local.env.cluster_endpoint
  cluster_ca_certificate = base64decode(local.env.cluster_certificate_authority)
  token                  = data.aws_eks_cluster_auth.this.token
}

provider "helm" {
  kubernetes {
    host                   = local.env.cluster_endpoint
    cluster_ca_certificate = base64decode(local.env.cluster_certificate_authority)
    token                  = data.aws_eks_cluster_auth.this.token
  }
}

# --- Cluster Autoscaler: discovers the worker node group by its k8s.io/cluster-autoscaler tags ---

resource "helm_release" "cluster_autoscaler" {
  name       = "cluster-autoscaler"
  namespace  = "kube-system"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = var.cluster_autoscaler_chart_version

  values = [yamlencode({
    awsRegion     = var.region
    autoDiscovery = { clusterName = local.env.cluster_name }
    # The autoscaler's minor must match the cluster's (its README's compatibility table); the chart's own
    # default follows the chart release instead, so the tag is set from the cluster's version.
    image = { tag = "v${local.env.kubernetes_version}.0" }
    rbac = {
      serviceAccount = {
        name        = "cluster-autoscaler" # the name the IAM role trusts (modules/iam)
        annotations = { "eks.amazonaws.com/role-arn" = local.env.cluster_autoscaler_role_arn }
      }
    }
    extraArgs = {
      balance-similar-node-groups   = true
      skip-nodes-with-local-storage = false
      expander                      = "least-waste"
      scan-interval                 = var.autoscaler_scan_interval
      scale-down-unneeded-time      = var.autoscaler_scale_down_unneeded_time
      scale-down-delay-after-add    = var.autoscaler_scale_down_delay_after_add
    }
    nodeSelector = { "airkube/pool" = "system" }
  })]
}

# --- airkube-binpack: a second kube-scheduler that bin-packs; task and worker pods name it ---

# The default scheduler spreads pods: while a run tails off every worker node keeps one bare task or worker pod,
# which the autoscaler may not evict, so no node is removed; EKS does not let us change the default's profile.
# This one scores MostAllocated (helm/binpack-scheduler). Pods naming it stay Pending while it is not running,
# so the Airflow release depends on it.
resource "helm_release" "binpack_scheduler" {
  name      = "airkube-binpack-scheduler"
  namespace = "kube-system"
  chart     = "${local.helm_dir}/binpack-scheduler" # the local chart in this repository

  values = [yamlencode({
    # The name the worker pods set as spec.schedulerName, read from helm/values.yaml, never retyped.
    schedulerName = local.helm_values.workers.kubernetes.schedulerName
    # kube-scheduler may not be newer than the API server nor more than one minor older (the version skew
    # policy); the chart has no default tag, so it is set from the cluster's version.
    image = { tag = "v${local.env.kubernetes_version}.0" }
  })]
}

# --- Task logs: EFS StorageClass, the access point as a PersistentVolume, the airflow-logs claim ---

resource "kubernetes_storage_class_v1" "efs" {
  metadata {
    name = "efs"
  }
  storage_provisioner = "efs.csi.aws.com"
  reclaim_policy      = "Retain"
}

resource "kubernetes_namespace_v1" "airflow" {
  metadata {
    name = local.namespace
  }
}

resource "kubernetes_persistent_volume_v1" "airflow_logs" {
  metadata {
    name = "airflow-logs-${var.environment}"
  }
  spec {
    capacity                         = { storage = "100Gi" } # EFS is elastic; required by the API only
    access_modes                     = ["ReadWriteMany"]
    persistent_volume_reclaim_policy = "Retain"
    storage_class_name               = kubernetes_storage_class_v1.efs.metadata[0].name
    persistent_volume_source {
      csi {
        driver        = "efs.csi.aws.com"
        volume_handle = local.env.efs_volume_handle # <file system>::<access point uid 50000 gid 0>
      }
    }
  }
}

resource "kubernetes_persistent_volume_claim_v1" "airflow_logs" {
  metadata {
    name      = local.helm_values.logs.persistence.existingClaim
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  spec {
    access_modes       = ["ReadWriteMany"]
    storage_class_name = kubernetes_storage_class_v1.efs.metadata[0].name
    volume_name        = kubernetes_persistent_volume_v1.airflow_logs.metadata[0].name
    resources {
      requests = { storage = "100Gi" }
    }
  }
}

# --- The task pods' service account (IRSA to the data bucket) ---

resource "kubernetes_service_account_v1" "task" {
  metadata {
    name      = "airkube-task" # AIRKUBE_TASK_SERVICE_ACCOUNT in helm/values.yaml extraEnv
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
    annotations = {
      "eks.amazonaws.com/role-arn" = local.env.task_role_arn
    }
  }
}

# --- The Secrets the chart expects (helm/README.md, "The Secrets it expects") ---

resource "random_bytes" "fernet" {
  length = 32
}

resource "random_password" "api_secret_key" {
  length  = 64
  special = false
}

resource "random_password" "jwt_secret" {
  length  = 86
  special = false
}

locals {
  # Airflow's own role (terraform/platform/sql/airflow_role.sql), never the RDS master user.
  db_user     = local.db_airflow.username
  db_password = local.db_airflow.password
  # The metadata database name PgBouncer exposes (the [databases] alias).
  pgbouncer_db = "airflow-metadata"
  # Seconds a client may sit idle inside a transaction: one that does is dead or stuck (an orphan of a
  # killed process holding its parent's connection). PgBouncer closes it, rolling back and freeing its
  # server connection and row locks. Airflow's own transactions through PgBouncer last well under a
  # second; migrations connect directly. RDS's idle_in_transaction_session_timeout (modules/rds) is the
  # backstop behind it. The local platform runs the same value (tools/airkube_dev/production_guards.py).
  pgbouncer_idle_transaction_timeout = 120
  pgbouncer_ini = join("\n", [
    "[databases]",
    "${local.pgbouncer_db} = host=${local.db.address} dbname=${local.db.db_name} port=${local.db.port} pool_size=${local.pgbouncer.metadataPoolSize}",
    "",
    "[pgbouncer]",
    "pool_mode = transaction",
    "listen_port = 6543",
    "listen_addr = *",
    "auth_type = scram-sha-256",
    "auth_file = /etc/pgbouncer/users.txt",
    "stats_users = ${local.db_user}",
    "ignore_startup_parameters = extra_float_digits",
    "max_client_conn = ${local.pgbouncer.maxClientConn}",
    "idle_transaction_timeout = ${local.pgbouncer_idle_transaction_timeout}",
    "verbose = 0",
    "log_disconnections = 0",
    "log_connections = 0",
    "server_tls_sslmode = require",
    "server_tls_ciphers = normal",
    "",
  ])
  pgbouncer_users = "\"${local.db_user}\" \"${local.db_password}\"\n"
}

resource "kubernetes_secret_v1" "metadata" {
  metadata {
    name      = local.secret_names.metadata
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  data = {
    connection = "postgresql://${urlencode(local.db_user)}:${urlencode(local.db_password)}@airflow-pgbouncer.${local.namespace}:6543/${local.pgbouncer_db}"
    # The migration job's (helm/values.yaml migrateDatabaseJob): straight to RDS, as the same role.
    "direct-connection" = "postgresql://${urlencode(local.db_user)}:${urlencode(local.db_password)}@${local.db.address}:${local.db.port}/${local.db.db_name}?sslmode=require"
  }
}

resource "kubernetes_secret_v1" "pgbouncer_config" {
  metadata {
    name      = local.secret_names.pgbouncer
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  data = {
    "pgbouncer.ini" = local.pgbouncer_ini
    "users.txt"     = local.pgbouncer_users
  }
}

resource "kubernetes_secret_v1" "pgbouncer_stats" {
  metadata {
    name      = local.secret_names.stats
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  data = {
    connection = "postgresql://${urlencode(local.db_user)}:${urlencode(local.db_password)}@127.0.0.1:6543/pgbouncer?sslmode=disable"
  }
}

resource "kubernetes_secret_v1" "fernet_key" {
  metadata {
    name      = local.secret_names.fernet
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  data = {
    # A Fernet key is 32 bytes in URL-safe base64.
    fernet-key = replace(replace(random_bytes.fernet.base64, "+", "-"), "/", "_")
  }
}

resource "kubernetes_secret_v1" "api_secret_key" {
  metadata {
    name      = local.secret_names.api
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  data = {
    api-secret-key = random_password.api_secret_key.result
  }
}

resource "kubernetes_secret_v1" "jwt_secret" {
  metadata {
    name      = local.secret_names.jwt
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  data = {
    jwt-secret = random_password.jwt_secret.result
  }
}

resource "kubernetes_secret_v1" "git_ssh" {
  metadata {
    name      = local.secret_names.git_ssh
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  data = {
    gitSshKey = local.git_ssh_key
  }
}

# --- The database role Airflow and PgBouncer log in as, made before the chart's migration job ---

# sql/airflow_role.sql, run with psql as the RDS master user (whose password RDS rotates; read at each apply):
# the role, not superuser, unable to create roles or databases, owning only its own schema, with the
# password of its Secrets Manager secret. The job is named by what it sets, so a changed script or password
# (a deliberate rotation, terraform/modules/rds) runs it again; `terraform apply -replace` runs it anyway.
locals {
  db_role_sql = file("${path.module}/sql/airflow_role.sql")
  db_role_job = "airkube-db-role-${substr(sha256("${local.db_role_sql}${local.db_user}${local.db_password}"), 0, 10)}"
}

resource "kubernetes_secret_v1" "db_role" {
  metadata {
    name      = "airkube-db-role"
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  data = {
    PGHOST                   = local.db.address
    PGPORT                   = tostring(local.db.port)
    PGDATABASE               = local.db.db_name
    PGUSER                   = local.db.master_username
    PGPASSWORD               = local.db_master.password
    PGSSLMODE                = "require" # rds.force_ssl
    AIRKUBE_DB_ROLE          = local.db_user
    AIRKUBE_DB_ROLE_PASSWORD = local.db_password
  }
}

resource "kubernetes_config_map_v1" "db_role_sql" {
  metadata {
    name      = "airkube-db-role-sql"
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  data = {
    "airflow_role.sql" = local.db_role_sql
  }
}

resource "kubernetes_job_v1" "db_role" {
  metadata {
    name      = local.db_role_job
    namespace = kubernetes_namespace_v1.airflow.metadata[0].name
  }
  spec {
    backoff_limit = 3
    template {
      metadata {}
      spec {
        restart_policy                  = "Never"
        automount_service_account_token = false
        node_selector                   = { "airkube/pool" = "system" }
        security_context {
          run_as_non_root = true
          run_as_user     = local.helm_values.uid
          run_as_group    = local.helm_values.gid
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name = "psql"
          # The platform's Airflow image (the official image's psql), the tag helm/values-<env>.yaml deploys.
          image   = "${local.overlay.defaultAirflowRepository}:${local.overlay.defaultAirflowTag}"
          command = ["psql", "--no-psqlrc", "--file=/sql/airflow_role.sql"]
          env_from {
            secret_ref {
              name = kubernetes_secret_v1.db_role.metadata[0].name
            }
          }
          volume_mount {
            name       = "sql"
            mount_path = "/sql"
            read_only  = true
          }
          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }
          resources {
            requests = { cpu = "50m", memory = "64Mi" }
            limits   = { memory = "128Mi" }
          }
        }
        volume {
          name = "sql"
          config_map {
            name = kubernetes_config_map_v1.db_role_sql.metadata[0].name
          }
        }
      }
    }
  }
  wait_for_completion = true
  timeouts {
    create = "10m"
  }
}

# --- Airflow: the official chart, the same values `make deploy` passes ---

resource "helm_release" "airflow" {
  name       = "airflow"
  namespace  = kubernetes_namespace_v1.airflow.metadata[0].name
  repository = "https://airflow.apache.org"
  chart      = "airflow"
  version    = local.chart_version

  values = [
    file("${local.helm_dir}/values.yaml"),
    file("${local.helm_dir}/values-${var.environment}.yaml"),
  ]

  # As make deploy: no --wait (the migration hook gates the components), a long timeout for the hook.
  wait    = false
  timeout = 1200

  # A new password of Airflow's role (a deliberate rotation) restarts PgBouncer, which reads users.txt when it
  # starts, and every Airflow pod, which reads its connection when it starts.
  set {
    name  = "pgbouncer.podAnnotations.airkube\\.io/db-credentials"
    value = substr(sha256(local.pgbouncer_users), 0, 16)
  }
  set {
    name  = "airflowPodAnnotations.airkube\\.io/db-credentials"
    value = substr(sha256(local.pgbouncer_users), 0, 16)
  }

  depends_on = [
    kubernetes_persistent_volume_claim_v1.airflow_logs,
    kubernetes_service_account_v1.task,
    kubernetes_secret_v1.metadata,
    kubernetes_secret_v1.pgbouncer_config,
    kubernetes_secret_v1.pgbouncer_stats,
    kubernetes_secret_v1.fernet_key,
    kubernetes_secret_v1.api_secret_key,
    kubernetes_secret_v1.jwt_secret,
    kubernetes_secret_v1.git_ssh,
    kubernetes_job_v1.db_role, # the role the migration job logs in as
    helm_release.cluster_autoscaler,
    helm_release.binpack_scheduler,
  ]
}
