# Airflow's metadata database: PostgreSQL 16 on RDS, encrypted with the environment's key, in the database
# subnets only, reachable only from the EKS cluster security group (PgBouncer), its master password kept by
# RDS in Secrets Manager, with Performance Insights and enhanced monitoring on; and the password of the
# least-privileged role Airflow and PgBouncer log in as (terraform/platform/sql/airflow_role.sql makes it).

data "aws_partition" "current" {}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-postgres"
  description = "PostgreSQL from the EKS cluster (PgBouncer) only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  # count, not for_each: the IDs are unknown until the cluster exists.
  count                        = length(var.allowed_security_group_ids)
  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = var.allowed_security_group_ids[count.index]
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "PostgreSQL from the cluster"
}

# Sized for PgBouncer: a fixed max_connections above the pools' sum (RDS's default scales with memory and
# would differ between instance classes), TLS required (PgBouncer connects with server_tls_sslmode=require).
resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-pg16-"
  family      = "postgres16"
  description = "${var.name}: Airflow metadata behind PgBouncer"
  tags        = var.tags

  parameter {
    name         = "max_connections"
    value        = tostring(var.max_connections)
    apply_method = "pending-reboot"
  }

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    # PgBouncer runs in transaction mode: a session idle in a transaction holds a server connection.
    # The local platform runs the same value (tools/airkube_dev/production_guards.py).
    name  = "idle_in_transaction_session_timeout"
    value = "300000"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Enhanced monitoring: OS metrics (CPU steal, memory, connections' processes) every minute.
resource "aws_iam_role" "monitoring" {
  name = "${var.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_161:Airflow reaches the database through PgBouncer, which cannot present 15-minute IAM tokens; it uses the password RDS keeps and rotates in Secrets Manager.
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  db_name        = "airflow"
  username       = "airflow"

  manage_master_user_password = true # RDS generates, stores and rotates it in Secrets Manager

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = var.multi_az

  backup_retention_period    = var.backup_retention_days
  backup_window              = "02:00-03:00"
  maintenance_window         = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = !var.deletion_protection
  final_snapshot_identifier  = var.deletion_protection ? "${var.name}-final" : null

  performance_insights_enabled    = true
  performance_insights_kms_key_id = var.kms_key_arn
  monitoring_interval             = 60
  monitoring_role_arn             = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports = ["postgresql"]

  tags = var.tags

  depends_on = [aws_iam_role_policy_attachment.monitoring]
}

# --- The role Airflow and PgBouncer log in as, instead of the master user ---

# RDS rotates the master password every 7 days, and PgBouncer's users.txt (written by the platform layer)
# cannot follow it. Airflow's role is not superuser, cannot create roles or databases, and owns only its
# own schema (terraform/platform/sql/airflow_role.sql, run by the platform layer as the master user before
# the chart's migration job). Its password changes only on purpose, so PgBouncer never holds a stale one:
#   terraform apply -replace='module.environment.module.rds.aws_secretsmanager_secret_version.airflow'
# then `make apply-platform`, which sets it in the database and in PgBouncer's users.txt (README.md).
data "aws_secretsmanager_random_password" "airflow" {
  password_length = 40
  # Letters and digits only: it goes into URLs and into PgBouncer's users.txt between double quotes.
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "airflow" {
  #checkov:skip=CKV2_AWS_57:Rotated on purpose (replace the version, then make apply-platform): PgBouncer's users.txt is written at apply time and could not follow an automatic rotation.
  name_prefix = "${var.name}-metadata-db-${var.airflow_role}-"
  description = "${var.name}: the metadata database role ${var.airflow_role} (Airflow and PgBouncer), JSON with username and password"
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "airflow" {
  secret_id = aws_secretsmanager_secret.airflow.id
  secret_string = jsonencode({
    username = var.airflow_role
    password = data.aws_secretsmanager_random_password.airflow.random_password
  })

  lifecycle {
    # The data source draws a new password at every plan; only a deliberate -replace takes one.
    ignore_changes = [secret_string]

    precondition {
      condition     = var.airflow_role != aws_db_instance.this.username
      error_message = "airflow_role must not be the master user (${aws_db_instance.this.username}): Airflow must not log in as it."
    }
  }
}
