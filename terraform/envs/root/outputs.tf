# Shared verbatim by terraform/envs/staging and terraform/envs/prod (tests/terraform check they are
# identical). terraform/platform reads these through terraform_remote_state.

output "environment" {
  description = "Everything the platform layer and helm/values-<env>.yaml need (see modules/environment/outputs.tf)."
  value = {
    name                          = module.environment.environment
    cluster_name                  = module.environment.cluster_name
    kubernetes_version            = module.environment.kubernetes_version
    cluster_endpoint              = module.environment.cluster_endpoint
    cluster_certificate_authority = module.environment.cluster_certificate_authority
    efs_volume_handle             = module.environment.efs_volume_handle
    database                      = module.environment.database
    data_bucket                   = module.environment.data_bucket
    logs_bucket                   = module.environment.logs_bucket
    image_registry                = module.environment.image_registry
    airflow_worker_role_arn       = module.environment.airflow_worker_role_arn
    task_role_arn                 = module.environment.task_role_arn
    cluster_autoscaler_role_arn   = module.environment.cluster_autoscaler_role_arn
    platform_role_arn             = module.environment.platform_role_arn
  }
}
