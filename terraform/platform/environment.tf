# What the platform layer takes from outside itself: terraform/envs/<env>'s outputs (its state in the
# account's state bucket), the database credentials and the DAG deploy key from Secrets Manager, and a token
# for the cluster. Only the aws provider and Terraform's own data sources, decoded into locals here: after the
# environment layer's apply against moto, tests/terraform/test_environment_apply.py applies this file as it is,
# with variables.tf and <env>.tfvars, and checks every local.* and data.* path main.tf reads from it.

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.aws_account_id]
}

data "terraform_remote_state" "environment" {
  backend = "s3"
  config = {
    bucket = var.state_bucket
    key    = "envs/${var.environment}/terraform.tfstate"
    region = var.region
  }
}

data "aws_eks_cluster_auth" "this" {
  name = local.env.cluster_name
}

# The role Airflow and PgBouncer log in as (terraform/modules/rds): its password changes only on purpose.
data "aws_secretsmanager_secret_version" "db_airflow" {
  secret_id = local.db.airflow_secret_arn
}

# The RDS-managed master user's password, rotated by RDS: read at each apply, used only by the job that
# makes the role.
data "aws_secretsmanager_secret_version" "db_master" {
  secret_id = local.db.master_secret_arn
}

data "aws_secretsmanager_secret_version" "git_ssh" {
  secret_id = var.git_ssh_key_secret_name
}

locals {
  env = data.terraform_remote_state.environment.outputs.environment
  db  = local.env.database

  db_airflow  = jsondecode(data.aws_secretsmanager_secret_version.db_airflow.secret_string)
  db_master   = jsondecode(data.aws_secretsmanager_secret_version.db_master.secret_string)
  git_ssh_key = data.aws_secretsmanager_secret_version.git_ssh.secret_string
}
