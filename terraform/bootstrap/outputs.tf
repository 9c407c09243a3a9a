output "state_bucket" {
  description = "The bucket to name in terraform/envs/<env>/backend.tf and terraform/platform/backend-<env>.hcl."
  value       = module.state_bucket.bucket
}
