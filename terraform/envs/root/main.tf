# Shared verbatim by terraform/envs/staging and terraform/envs/prod (tests/terraform check they are
# identical): the whole environment is terraform/modules/environment; this root adds the provider.

provider "aws" {
  region = var.region
  # A plan for one environment fails in the other's account instead of changing it.
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Project     = "airkube"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

module "environment" {
  source = "../../modules/environment"

  environment              = var.environment
  vpc_cidr                 = var.vpc_cidr
  availability_zones       = var.availability_zones
  single_nat_gateway       = var.single_nat_gateway
  public_access_cidrs      = var.public_access_cidrs
  kubernetes_version       = var.kubernetes_version
  system_instance_types    = var.system_instance_types
  worker_instance_types    = var.worker_instance_types
  worker_min_nodes         = var.worker_min_nodes
  worker_max_nodes         = var.worker_max_nodes
  db_instance_class        = var.db_instance_class
  db_multi_az              = var.db_multi_az
  db_deletion_protection   = var.db_deletion_protection
  db_backup_retention_days = var.db_backup_retention_days
  log_retention_days       = var.log_retention_days
  force_destroy            = var.force_destroy
}
