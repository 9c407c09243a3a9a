# One airkube environment on AWS: every module wired together. terraform/envs/<env> call this with their
# own tfvars and backend, so staging and prod differ only in values.

locals {
  name = "airkube-${var.environment}"

  # PgBouncer's sizing has one home, helm/values.yaml: the database must take all pods' pools at once.
  helm_values = yamldecode(file("${path.module}/../../../helm/values.yaml"))
  pgbouncer_server_connections = (
    local.helm_values.pgbouncer.replicas * local.helm_values.pgbouncer.metadataPoolSize
  )
}

module "kms" {
  source = "../kms"
  name   = local.name
  tags   = var.tags
}

module "network" {
  source                = "../network"
  name                  = local.name
  vpc_cidr              = var.vpc_cidr
  availability_zones    = var.availability_zones
  single_nat_gateway    = var.single_nat_gateway
  flow_logs_destination = module.s3.flow_logs_destination
  tags                  = var.tags
}

module "eks" {
  source                = "../eks"
  cluster_name          = local.name
  kubernetes_version    = var.kubernetes_version
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  public_access_cidrs   = var.public_access_cidrs
  system_instance_types = var.system_instance_types
  worker_instance_types = var.worker_instance_types
  worker_min_nodes      = var.worker_min_nodes
  worker_max_nodes      = var.worker_max_nodes
  efs_csi_role_arn      = module.iam.efs_csi_role_arn
  tags                  = var.tags
}

module "rds" {
  source                       = "../rds"
  name                         = local.name
  environment                  = var.environment
  vpc_id                       = module.network.vpc_id
  subnet_ids                   = module.network.database_subnet_ids
  allowed_security_group_ids   = [module.eks.cluster_security_group_id]
  instance_class               = var.db_instance_class
  multi_az                     = var.db_multi_az
  deletion_protection          = var.db_deletion_protection
  backup_retention_days        = var.db_backup_retention_days
  pgbouncer_server_connections = local.pgbouncer_server_connections
  kms_key_arn                  = module.kms.key_arn
  tags                         = var.tags
}

module "efs" {
  source                     = "../efs"
  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.eks.cluster_security_group_id]
  posix_uid                  = local.helm_values.uid
  posix_gid                  = local.helm_values.gid
  kms_key_arn                = module.kms.key_arn
  tags                       = var.tags
}

module "s3" {
  source             = "../s3"
  name_prefix        = local.name
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
  # records.py's alerts, under AIRKUBE_DATA_URL's prefix (which the iam module knows: data_key_prefix)
  alert_records_prefix = "${module.iam.records_prefix}alerts/"
  force_destroy        = var.force_destroy
  tags                 = var.tags
}

module "ecr" {
  source       = "../ecr"
  force_delete = var.force_destroy
  tags         = var.tags
}

module "iam" {
  source                 = "../iam"
  name_prefix            = local.name
  cluster_name           = local.name
  oidc_provider_arn      = module.eks.oidc_provider_arn
  oidc_issuer            = module.eks.oidc_issuer
  worker_service_account = local.helm_values.workers.serviceAccount.name
  data_bucket_arn        = module.s3.data_bucket_arn
  logs_bucket_arn        = module.s3.logs_bucket_arn
  data_kms_key_arn       = module.kms.key_arn
  tags                   = var.tags
}
