# Mocked data sources return random strings; IAM policy ARNs must carry a real partition.
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  name                         = "airkube-test"
  environment                  = "staging"
  vpc_id                       = "vpc-0123456789abcdef0"
  subnet_ids                   = ["subnet-a", "subnet-b", "subnet-c"]
  allowed_security_group_ids   = ["sg-cluster"]
  pgbouncer_server_connections = 80
  deletion_protection          = false
  kms_key_arn                  = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "staging_private_encrypted_postgres16" {
  command = plan

  assert {
    condition     = aws_db_instance.this.engine == "postgres" && startswith(aws_db_instance.this.engine_version, "16")
    error_message = "the metadata database must be PostgreSQL 16"
  }
  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == var.kms_key_arn
    error_message = "the database storage must be encrypted with the environment's customer-managed key"
  }
  assert {
    condition     = aws_db_instance.this.performance_insights_enabled && aws_db_instance.this.performance_insights_kms_key_id == var.kms_key_arn
    error_message = "Performance Insights must be on, encrypted with the environment's key"
  }
  assert {
    condition     = aws_db_instance.this.monitoring_interval == 60 && aws_iam_role_policy_attachment.monitoring.policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    error_message = "enhanced monitoring must report every minute through a role with the AWS monitoring policy"
  }
  assert {
    condition     = !aws_db_instance.this.publicly_accessible
    error_message = "the database must not be publicly accessible"
  }
  assert {
    condition     = aws_db_instance.this.manage_master_user_password
    error_message = "RDS must manage the master password in Secrets Manager"
  }
  assert {
    condition     = aws_db_instance.this.backup_retention_period >= 7
    error_message = "backups must be kept at least 7 days"
  }
  assert {
    condition     = aws_db_parameter_group.this.family == "postgres16"
    error_message = "the parameter group must be for PostgreSQL 16"
  }
  assert {
    condition     = one([for p in aws_db_parameter_group.this.parameter : p.value if p.name == "max_connections"]) == "200"
    error_message = "max_connections must be set for PgBouncer's pools"
  }
  assert {
    condition     = one([for p in aws_db_parameter_group.this.parameter : p.value if p.name == "rds.force_ssl"]) == "1"
    error_message = "the database must require TLS"
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.postgres[0].from_port == 5432 && aws_vpc_security_group_ingress_rule.postgres[0].cidr_ipv4 == null
    error_message = "only the cluster's security group may connect, on 5432"
  }
}

run "prod_multi_az_and_protected" {
  command = plan
  variables {
    environment         = "prod"
    multi_az            = true
    deletion_protection = true
  }
  assert {
    condition     = aws_db_instance.this.multi_az && aws_db_instance.this.deletion_protection
    error_message = "prod must be Multi-AZ and deletion-protected"
  }
  assert {
    condition     = !aws_db_instance.this.skip_final_snapshot
    error_message = "a protected database takes a final snapshot"
  }
}

run "rejects_prod_single_az" {
  command = plan
  variables {
    environment         = "prod"
    multi_az            = false
    deletion_protection = true
  }
  expect_failures = [var.multi_az]
}

run "rejects_prod_without_deletion_protection" {
  command = plan
  variables {
    environment         = "prod"
    multi_az            = true
    deletion_protection = false
  }
  expect_failures = [var.deletion_protection]
}

run "rejects_unknown_instance_class" {
  command = plan
  variables {
    instance_class = "db.t2.micro"
  }
  expect_failures = [var.instance_class]
}

run "rejects_short_backups" {
  command = plan
  variables {
    backup_retention_days = 3
  }
  expect_failures = [var.backup_retention_days]
}

run "rejects_max_connections_below_pools" {
  command = plan
  variables {
    max_connections = 90
  }
  expect_failures = [var.max_connections]
}

run "rejects_other_major_version" {
  command = plan
  variables {
    engine_version = "15.7"
  }
  expect_failures = [var.engine_version]
}

run "rejects_unknown_environment" {
  command = plan
  variables {
    environment = "dev"
  }
  expect_failures = [var.environment]
}

run "rejects_a_key_alias_for_a_key_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/airkube-test"
  }
  expect_failures = [var.kms_key_arn]
}

run "airflow_logs_in_as_its_own_role_with_a_kept_password" {
  command = plan

  assert {
    condition     = var.airflow_role != aws_db_instance.this.username
    error_message = "Airflow and PgBouncer must not log in as the master user, whose password RDS rotates"
  }
  assert {
    condition     = jsondecode(aws_secretsmanager_secret_version.airflow.secret_string).username == var.airflow_role
    error_message = "the role's secret names the role"
  }
  assert {
    condition     = data.aws_secretsmanager_random_password.airflow.password_length >= 32 && data.aws_secretsmanager_random_password.airflow.exclude_punctuation
    error_message = "the role's password is generated, at least 32 letters and digits (it goes into URLs and users.txt)"
  }
  assert {
    condition     = aws_secretsmanager_secret.airflow.kms_key_id == var.kms_key_arn
    error_message = "the role's secret is encrypted with the environment's key"
  }
}

run "rejects_a_role_name_that_needs_quoting" {
  command = plan
  variables {
    airflow_role = "Airflow-App"
  }
  expect_failures = [var.airflow_role]
}

run "rejects_the_master_user_as_airflow_role" {
  command = plan
  variables {
    airflow_role = "airflow"
  }
  expect_failures = [aws_secretsmanager_secret_version.airflow]
}
