# What the platform layer (terraform/platform, via terraform_remote_state) and helm/values-<env>.yaml need.

output "environment" {
  description = "The environment's name."
  value       = var.environment
}

output "cluster_name" {
  description = "The EKS cluster (`aws eks update-kubeconfig --name <it> --alias airkube-<env>`)."
  value       = module.eks.cluster_name
}

output "kubernetes_version" {
  description = "The cluster's Kubernetes minor version (the platform layer picks the Cluster Autoscaler's from it)."
  value       = module.eks.kubernetes_version
}

output "cluster_endpoint" {
  description = "The Kubernetes API server's URL."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority" {
  description = "The cluster CA certificate, base64-encoded."
  value       = module.eks.cluster_certificate_authority
}

output "efs_volume_handle" {
  description = "The airflow-logs PersistentVolume's EFS CSI volume handle."
  value       = module.efs.volume_handle
}

output "database" {
  description = <<-EOT
    The metadata database: address, port and database name; the role Airflow and PgBouncer log in as and
    the Secrets Manager secret with its credentials; the master user and RDS's secret with its (rotated)
    credentials, which only the platform layer's role job uses.
  EOT
  value = {
    address            = module.rds.address
    port               = module.rds.port
    db_name            = module.rds.db_name
    airflow_role       = module.rds.airflow_role
    airflow_secret_arn = module.rds.airflow_secret_arn
    master_username    = module.rds.username
    master_secret_arn  = module.rds.master_user_secret_arn
  }
}

output "data_bucket" {
  description = "The data bucket (AIRKUBE_DATA_URL is s3://<it>/airkube)."
  value       = module.s3.data_bucket
}

output "logs_bucket" {
  description = "The remote task logs bucket."
  value       = module.s3.logs_bucket
}

output "image_registry" {
  description = "IMAGE_REGISTRY for `make push` and AIRKUBE_IMAGE_REGISTRY in helm/values-<env>.yaml."
  value       = module.ecr.registry
}

output "airflow_worker_role_arn" {
  description = "workers.serviceAccount.annotations eks.amazonaws.com/role-arn in helm/values-<env>.yaml."
  value       = module.iam.airflow_worker_role_arn
}

output "platform_role_arn" {
  description = "scheduler, triggerer, dagProcessor and apiServer .serviceAccount.annotations eks.amazonaws.com/role-arn in helm/values-<env>.yaml."
  value       = module.iam.platform_role_arn
}

output "task_role_arn" {
  description = "The airkube-task service account's IRSA role."
  value       = module.iam.task_role_arn
}

output "cluster_autoscaler_role_arn" {
  description = "The Cluster Autoscaler's IRSA role."
  value       = module.iam.cluster_autoscaler_role_arn
}
